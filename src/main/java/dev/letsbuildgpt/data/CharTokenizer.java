package dev.letsbuildgpt.data;

import dev.letsbuildgpt.GptException;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The lecture's character-level tokenizer: the vocabulary is the sorted set of characters in the text, and a
 * token is a character's index in it ({@code stoi} / {@code itos}). Tiny Shakespeare has 65 of them.
 *
 * <p>Characters are Unicode code points, so a character outside the Basic Multilingual Plane is one token.
 */
public final class CharTokenizer {
    private final int[] itos;             // token -> code point
    private final Map<Integer, Integer> stoi;  // code point -> token

    private CharTokenizer(int[] codePoints) {
        this.itos = codePoints;
        this.stoi = new java.util.HashMap<>();
        for (int i = 0; i < codePoints.length; i++) {
            stoi.put(codePoints[i], i);
        }
    }

    /** The vocabulary of {@code text}: every distinct character, sorted. */
    public static CharTokenizer fromText(String text) {
        TreeSet<Integer> set = text.codePoints().boxed().collect(Collectors.toCollection(TreeSet::new));
        if (set.isEmpty()) {
            throw new GptException("cannot build a vocabulary from empty text");
        }
        return new CharTokenizer(set.stream().mapToInt(Integer::intValue).toArray());
    }

    /** A tokenizer from a saved vocabulary string (the characters in token order). */
    public static CharTokenizer fromVocabulary(String chars) {
        int[] cps = chars.codePoints().toArray();
        int[] sorted = cps.clone();
        Arrays.sort(sorted);
        if (cps.length == 0 || !Arrays.equals(cps, sorted) || Arrays.stream(cps).distinct().count() != cps.length) {
            throw new GptException("not a vocabulary (characters must be distinct and sorted)");
        }
        return new CharTokenizer(cps);
    }

    public int vocabSize() {
        return itos.length;
    }

    /** The vocabulary as a string, characters in token order. */
    public String vocabulary() {
        return new String(itos, 0, itos.length);
    }

    /** Text to tokens; a character outside the vocabulary is an error that names it. */
    public int[] encode(String text) {
        int[] cps = text.codePoints().toArray();
        int[] out = new int[cps.length];
        for (int i = 0; i < cps.length; i++) {
            Integer t = stoi.get(cps[i]);
            if (t == null) {
                throw new GptException("character " + describe(cps[i]) + " at position " + i
                        + " is not in the vocabulary of " + itos.length + " characters");
            }
            out[i] = t;
        }
        return out;
    }

    /** Tokens to text. */
    public String decode(int[] tokens) {
        StringBuilder sb = new StringBuilder(tokens.length);
        for (int t : tokens) {
            if (t < 0 || t >= itos.length) {
                throw new GptException("token " + t + " is outside the vocabulary [0, " + itos.length + ")");
            }
            sb.appendCodePoint(itos[t]);
        }
        return sb.toString();
    }

    public String decode(List<Integer> tokens) {
        return decode(tokens.stream().mapToInt(Integer::intValue).toArray());
    }

    private static String describe(int cp) {
        String shown = Character.isISOControl(cp) || Character.isWhitespace(cp) && cp != ' '
                ? "" : "'" + new String(Character.toChars(cp)) + "' ";
        return shown + String.format("(U+%04X)", cp);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CharTokenizer other && Arrays.equals(itos, other.itos);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(itos);
    }
}
