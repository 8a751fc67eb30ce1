package dev.letsbuildgpt;

import java.util.List;

/**
 * A table as aligned plain text: columns two spaces apart, the first few left-aligned (text), the rest right-aligned
 * (numbers).
 */
public final class TextTable {
    private TextTable() {
    }

    /** @param rows the header row first; every row has the same number of cells */
    public static String render(List<String[]> rows, int leftAligned) {
        int[] width = new int[rows.get(0).length];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                width[i] = Math.max(width[i], row[i].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                sb.append(String.format(i < leftAligned ? "%-" + width[i] + "s" : "%" + width[i] + "s", row[i]));
                sb.append(i + 1 < row.length ? "  " : "\n");
            }
        }
        return sb.toString();
    }
}
