package dev.letsbuildgpt;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Files that are either complete or absent: written beside the target under a temporary name, flushed to the disk,
 * then renamed over the target. A crash at any moment leaves the old file or the new one, never half of one.
 */
public final class AtomicFiles {
    private AtomicFiles() {
    }

    /** Writes {@code bytes} to {@code target} atomically; a failure is a {@link GptException} naming the file. */
    public static void write(Path target, byte[] bytes) {
        Path tmp = tempFor(target);
        try {
            Files.createDirectories(target.toAbsolutePath().getParent());
            Files.write(tmp, bytes);
            commit(tmp, target);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new GptException("cannot write " + target + " (" + describe(e) + ")");
        }
    }

    /**
     * The temporary name this process uses for {@code target}: {@code NAME.PID.tmp}, so that two processes writing
     * the same file (a trainer and a notebook, say) never write into each other's temporary file.
     */
    public static Path tempFor(Path target) {
        return target.resolveSibling(target.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
    }

    /**
     * Deletes the temporary files in {@code dir} that processes which no longer run left behind (killed in the
     * middle of a write); those of running processes are theirs.
     */
    public static void deleteStaleTemps(Path dir) {
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                java.util.regex.Matcher m = TEMP.matcher(f.getFileName().toString());
                if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty()) {
                    deleteQuietly(f);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // nothing to tidy, or a directory that cannot be listed: the write that follows reports it
        }
    }

    private static final java.util.regex.Pattern TEMP = java.util.regex.Pattern.compile(".*\\.(\\d{1,18})\\.tmp");

    /** Flushes {@code tmp} to the disk and renames it over {@code target}. */
    public static void commit(Path tmp, Path target) throws IOException {
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    public static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // the error being reported is the one that matters
        }
    }

    public static String describe(IOException e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
