package dev.letsbuildgpt.notebook;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The library's own source, as the jar carries it (src/main/java, under {@code source/}): so that a chapter can show
 * that the class a cell built by hand is the one the library holds.
 */
public final class Source {
    private Source() {
    }

    /** The whole source file of a class (of its outermost class, for a nested one), with line numbers. */
    public static String of(Class<?> c) {
        List<String> lines = lines(c);
        return format(c, lines, 0, lines.size());
    }

    /**
     * One member of a class: the first method, constructor or nested class declared with that name, with the
     * comment in front of it and its body, with line numbers.
     */
    public static String of(Class<?> c, String member) {
        List<String> lines = lines(c);
        String name = Pattern.quote(member);
        String modifiers = "(?:(?:public|protected|private|static|final|abstract|synchronized|default)\\s+)*";
        Pattern type = Pattern.compile("^\\s*+" + modifiers + "(?:class|record|interface|enum)\\s+" + name + "\\b");
        Pattern method = Pattern.compile("^\\s*+" + modifiers + "(?:<[^>]*>\\s+)?[\\w<>\\[\\]., ?]+\\s+" + name
                + "\\s*\\(");
        Pattern constructor = Pattern.compile("^\\s*+" + modifiers + name + "\\s*\\(");
        for (Pattern declaration : List.of(type, method, constructor)) {
            String found = find(c, lines, declaration);
            if (found != null) {
                return found;
            }
        }
        throw new IllegalArgumentException("no member named " + member + " in " + top(c).getSimpleName() + ".java");
    }

    private static String find(Class<?> c, List<String> lines, Pattern declaration) {
        for (int i = 0; i < lines.size(); i++) {
            String t = lines.get(i).strip();
            if (declaration.matcher(lines.get(i)).find() && !t.startsWith("*") && !t.startsWith("//")
                    && !t.startsWith("return ")) {
                int start = i;
                while (start > 0 && isCommentOrAnnotation(lines.get(start - 1))) {
                    start--;
                }
                int end = i;
                int depth = 0;
                boolean opened = false;
                for (; end < lines.size(); end++) {
                    for (char ch : code(lines.get(end)).toCharArray()) {
                        if (ch == '{') {
                            depth++;
                            opened = true;
                        } else if (ch == '}') {
                            depth--;
                        }
                    }
                    if ((opened && depth == 0) || (!opened && code(lines.get(end)).strip().endsWith(";"))) {
                        break;
                    }
                }
                return format(c, lines, start, Math.min(end + 1, lines.size()));
            }
        }
        return null;
    }

    private static boolean isCommentOrAnnotation(String line) {
        String t = line.strip();
        return t.startsWith("/**") || t.startsWith("*") || t.startsWith("//") || t.startsWith("@");
    }

    /** A line without its string literals and trailing comment, for counting braces. */
    private static String code(String line) {
        String s = line.replaceAll("\"(\\\\.|[^\"\\\\])*\"", "\"\"").replaceAll("'(\\\\.|[^'\\\\])'", "''");
        int comment = s.indexOf("//");
        return comment < 0 ? s : s.substring(0, comment);
    }

    private static Class<?> top(Class<?> c) {
        while (c.getEnclosingClass() != null) {
            c = c.getEnclosingClass();
        }
        return c;
    }

    private static String path(Class<?> c) {
        return top(c).getName().replace('.', '/') + ".java";
    }

    private static List<String> lines(Class<?> c) {
        try (InputStream in = Source.class.getResourceAsStream("/source/" + path(c))) {
            if (in == null) {
                throw new IllegalArgumentException("no source for " + c.getName() + " in the jar (not a library class?)");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String format(Class<?> c, List<String> lines, int from, int to) {
        StringBuilder sb = new StringBuilder("src/main/java/" + path(c) + ", lines " + (from + 1) + "-" + to + ":\n");
        int width = String.valueOf(to).length();
        for (int i = from; i < to; i++) {
            sb.append(String.format("%" + width + "d  %s%n", i + 1, lines.get(i)));
        }
        return sb.toString();
    }
}
