package dev.letsbuildgpt.model;

import java.io.OutputStream;
import java.io.PrintStream;

/** Runs a piece of SameDiff set-up with System.out muted, for the chatter it prints there. */
final class Quiet {
    private Quiet() {
    }

    static synchronized void run(Runnable r) {
        PrintStream out = System.out;
        System.setOut(new PrintStream(OutputStream.nullOutputStream()));
        try {
            r.run();
        } finally {
            System.setOut(out);
        }
    }
}
