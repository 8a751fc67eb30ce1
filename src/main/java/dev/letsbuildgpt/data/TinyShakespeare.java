package dev.letsbuildgpt.data;

import dev.letsbuildgpt.AtomicFiles;
import dev.letsbuildgpt.GptException;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLConnection;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The Tiny Shakespeare data set: about 1.1 million characters of Shakespeare's plays, the lecture's corpus.
 *
 * <p>{@link #load} finds the text in this order: an explicit {@code --data PATH_OR_URL}, else the environment
 * variable {@code GPT_DATA_URL}, else Karpathy's char-rnn URL. A URL is downloaded once into {@code data/} (to a
 * temporary file, then renamed, so an interrupted download never leaves a half file behind) and reused while its
 * SHA-256 matches. A local path is read in place.
 */
public final class TinyShakespeare {
    public static final String URL =
            "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt";
    public static final String SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed";
    public static final String ENV_VAR = "GPT_DATA_URL";
    public static final String FILE_NAME = "tinyshakespeare.txt";

    private TinyShakespeare() {
    }

    /** Where the text comes from when nothing else is said: {@code GPT_DATA_URL} or the public URL. */
    public static String defaultSource() {
        String env = System.getenv(ENV_VAR);
        return env == null || env.isBlank() ? URL : env.trim();
    }

    /** Loads the text from {@link #defaultSource()}, caching downloads in {@code data/}. */
    public static String load() {
        return load(null, Path.of("data"));
    }

    /**
     * Loads the text.
     *
     * @param source   a path or a URL ({@code file:}, {@code http:}, {@code https:}); null for {@link #defaultSource()}
     * @param cacheDir where downloads are kept
     */
    public static String load(String source, Path cacheDir) {
        String src = source == null || source.isBlank() ? defaultSource() : source.trim();
        if (isRemote(src)) {
            if (!isCanonical(src)) {
                return decode(download(src), src);   // some other text: read as it is, not cached
            }
            Path cached = cacheDir.resolve(FILE_NAME);
            if (isGoodCopy(cached)) {
                return decode(readBytes(cached), cached.toString());
            }
            byte[] bytes = download(src);
            if (!sha256(bytes).equals(SHA256)) {
                throw new GptException("downloaded data from " + src + " has SHA-256 " + sha256(bytes)
                        + ", expected " + SHA256 + "; nothing was written");
            }
            String text = decode(bytes, src);
            AtomicFiles.write(cached, bytes);
            return text;
        }
        Path path = src.startsWith("file:") ? fileUriToPath(src) : Path.of(src);
        if (!Files.exists(path)) {
            throw new GptException("data file not found: " + path);
        }
        if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
            throw new GptException("data file is not a readable file: " + path);
        }
        byte[] bytes = readBytes(path);
        if (isCanonical(path.getFileName().toString())) {
            String sum = sha256(bytes);
            if (bytes.length > 0 && !sum.equals(SHA256)) {
                throw new GptException("data file " + path + " has SHA-256 " + sum + ", expected " + SHA256
                        + " (corrupted or a different file); delete it or point --data at a good copy");
            }
        }
        return decode(bytes, path.toString());
    }

    /**
     * Puts a checked copy of Tiny Shakespeare at {@code dir/tinyshakespeare.txt}, from {@code source} (as {@link #load}
     * takes it), unless a good copy is already there; for machines that read it from a folder of their own (a
     * classroom's shared, read-only data). Anything but Tiny Shakespeare itself is refused.
     *
     * @return the file
     */
    public static Path fetch(String source, Path dir) {
        Path target = dir.resolve(FILE_NAME);
        if (isGoodCopy(target)) {
            return target;
        }
        String text = load(source, dir);   // a URL is downloaded into dir; a path is read where it is
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        if (!sha256(bytes).equals(SHA256)) {
            throw new GptException("the text from " + (source == null ? defaultSource() : source)
                    + " is not Tiny Shakespeare (SHA-256 " + sha256(bytes) + ", expected " + SHA256 + ")");
        }
        if (!isGoodCopy(target)) {   // absent or damaged, and not just written by load's download
            AtomicFiles.write(target, bytes);
        }
        return target;
    }

    /** Whether the file is there and is Tiny Shakespeare, checksum and all. */
    private static boolean isGoodCopy(Path file) {
        return Files.isRegularFile(file) && sha256(readBytes(file)).equals(SHA256);
    }

    /**
     * A file named as Tiny Shakespeare ({@code input.txt}, as char-rnn names it, or {@code tinyshakespeare.txt})
     * must be it, checksum and all: a corrupted copy would otherwise train on garbage without a word.
     */
    private static boolean isCanonical(String pathOrUrl) {
        return pathOrUrl.endsWith("/input.txt") || pathOrUrl.endsWith("/" + FILE_NAME)
                || pathOrUrl.equals("input.txt") || pathOrUrl.equals(FILE_NAME);
    }

    private static boolean isRemote(String src) {
        return src.startsWith("http://") || src.startsWith("https://");
    }

    private static Path fileUriToPath(String src) {
        try {
            return Path.of(new URI(src));
        } catch (URISyntaxException | IllegalArgumentException e) {
            throw new GptException("not a valid file URL: " + src);
        }
    }

    private static byte[] download(String url) {
        try {
            URLConnection c = new URI(url).toURL().openConnection();
            c.setConnectTimeout(15_000);
            c.setReadTimeout(60_000);
            try (InputStream in = c.getInputStream()) {
                return in.readAllBytes();
            }
        } catch (URISyntaxException | IllegalArgumentException e) {
            throw new GptException("not a valid URL: " + url);
        } catch (IOException e) {
            String why = e instanceof java.net.UnknownHostException ? "unknown host " + e.getMessage()
                    : e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
            throw new GptException("cannot download " + url + " (" + why + "); check the network, or pass --data"
                    + " with a local copy");
        }
    }

    static String decode(byte[] bytes, String where) {
        if (bytes.length == 0) {
            throw new GptException("data is empty: " + where);
        }
        try {
            String text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
            if (text.indexOf('\0') >= 0) {
                throw new GptException("data is binary (contains NUL bytes), not text: " + where);
            }
            return text;
        } catch (CharacterCodingException e) {
            throw new GptException("data is not valid UTF-8 text: " + where);
        }
    }

    private static byte[] readBytes(Path path) {
        try {
            return Files.readAllBytes(path);
        } catch (IOException e) {
            throw new GptException("cannot read " + path + ": " + e.getMessage());
        }
    }

    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
