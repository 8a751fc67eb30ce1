package dev.letsbuildgpt.train;

import dev.letsbuildgpt.GptException;

import java.io.IOException;
import java.lang.ref.Cleaner;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * A run directory has one trainer at a time: a lock on {@code train.lock} in it, held while a trainer writes there.
 * The operating system releases the lock when the process ends, however it ends (a SIGKILL leaves no stale lock);
 * the file stays, holding who took the lock last, so that a refused trainer can say who has it. Readers ({@code
 * sample}, {@code eval}, {@code info}) take no lock: every file is replaced whole (see AtomicFiles), so they read
 * the last complete checkpoint.
 */
public final class RunLock implements AutoCloseable {
    public static final String FILE_NAME = "train.lock";
    private static final Cleaner CLEANER = Cleaner.create();

    private final State state;
    private final Cleaner.Cleanable cleanable;

    /** What is released, by close or when the lock's owner is garbage collected without closing it. */
    private record State(FileChannel channel, FileLock lock) implements Runnable {
        @Override
        public void run() {
            try {
                if (lock != null) {
                    lock.release();
                }
                channel.close();
            } catch (IOException ignored) {
                // the process's own lock: the operating system drops it with the channel
            }
        }
    }

    private RunLock(State state) {
        this.state = state;
        this.cleanable = CLEANER.register(this, state);
    }

    /**
     * Takes the lock of {@code runDir} (creating the directory), or refuses with one line naming the process that
     * holds it. A lock that is garbage collected unclosed is released.
     */
    public static RunLock acquire(Path runDir) {
        Path file = runDir.resolve(FILE_NAME);
        FileChannel ch;
        try {
            Files.createDirectories(runDir);
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new GptException("cannot write " + file + " (" + dev.letsbuildgpt.AtomicFiles.describe(e) + ")");
        }
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            close(ch);
            throw new GptException(runDir + " is being trained by another trainer in this process (a notebook cell"
                    + " still running?); a run directory has one trainer at a time");
        } catch (IOException e) {
            // A file system without locks: go on, as before there were locks.
            System.err.println("warning: cannot lock " + file + " (" + e.getMessage() + "); make sure no other"
                    + " trainer uses this run directory");
            return new RunLock(new State(ch, null));
        }
        if (lock == null) {
            String holder = holder(ch);
            close(ch);
            throw new GptException(runDir + " is being trained by " + holder + "; wait for it to finish or stop it"
                    + " (a run directory has one trainer at a time)");
        }
        try {
            String me = "process " + ProcessHandle.current().pid() + " on " + host() + " since "
                    + Instant.now().truncatedTo(ChronoUnit.SECONDS);
            ch.truncate(0);
            ch.write(ByteBuffer.wrap((me + "\n").getBytes(StandardCharsets.UTF_8)), 0);
            ch.force(false);
        } catch (IOException e) {
            // who holds the lock is only for the message of a refused trainer
        }
        return new RunLock(new State(ch, lock));
    }

    private static String holder(FileChannel ch) {
        try {
            ByteBuffer b = ByteBuffer.allocate(512);
            ch.read(b, 0);
            String s = new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).strip();
            return s.isEmpty() ? "another process" : s;
        } catch (IOException e) {
            return "another process";
        }
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "this machine";
        }
    }

    private static void close(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing was locked
        }
    }

    /** Releases the lock (the file stays: deleting it could let two trainers lock two different files). */
    @Override
    public void close() {
        cleanable.clean();
    }
}
