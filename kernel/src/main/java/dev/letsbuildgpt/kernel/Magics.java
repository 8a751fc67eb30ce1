package dev.letsbuildgpt.kernel;

import io.github.spencerpark.jupyter.kernel.util.GlobFinder;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * IJava's line magics for the class path, the only ones the notebooks use (no {@code %maven}: it needs the network
 * while the notebook runs). A magic is a line of its own that starts with {@code %}:
 * <ul>
 *   <li>{@code %jars GLOB...}: add the jars matching each glob ({@code ../target/lib/*.jar});</li>
 *   <li>{@code %classpath PATH...}: add folders or jars (separated by spaces or the path separator).</li>
 * </ul>
 * Relative paths are against the kernel's working directory: the notebook's folder.
 */
final class Magics {
    private final Consumer<String> addToClasspath;

    Magics(Consumer<String> addToClasspath) {
        this.addToClasspath = addToClasspath;
    }

    /** Runs the cell's magic lines and returns the rest: the Java source, magic lines blanked to keep line numbers. */
    String apply(String cell) throws IOException {
        return source(cell, true);
    }

    /** The cell's Java source without running its magics (for completeness checks). */
    String strip(String cell) {
        try {
            return source(cell, false);
        } catch (IOException e) {
            throw new IllegalStateException(e);   // nothing runs, so nothing can fail
        }
    }

    private String source(String cell, boolean runMagics) throws IOException {
        StringBuilder source = new StringBuilder();
        for (String line : cell.split("\n", -1)) {
            String t = line.strip();
            if (t.startsWith("%")) {
                if (runMagics) {
                    run(t);
                }
            } else {
                source.append(line);
            }
            source.append('\n');
        }
        return source.toString();
    }

    private void run(String line) throws IOException {
        String[] words = line.substring(1).strip().split("\\s+");
        String name = words[0];
        List<String> args = List.of(words).subList(1, words.length);
        switch (name) {
            case "jars" -> {
                for (String glob : args) {
                    List<Path> found = new ArrayList<>();
                    try {
                        new GlobFinder(glob).computeMatchingFiles().forEach(found::add);
                    } catch (java.nio.file.NoSuchFileException e) {
                        // the glob's folder does not exist: reported below as "no file matches"
                    }
                    if (found.isEmpty()) {
                        throw new IOException("%jars " + glob + ": no file matches (in " + Path.of("").toAbsolutePath()
                                + "); build the project first (make build)");
                    }
                    found.forEach(p -> addToClasspath.accept(p.toAbsolutePath().normalize().toString()));
                }
            }
            case "classpath" -> {
                for (String arg : args) {
                    for (String entry : arg.split(File.pathSeparator)) {
                        Path p = Path.of(entry);
                        if (!Files.exists(p)) {
                            throw new IOException("%classpath " + entry + ": no such file or folder (in "
                                    + Path.of("").toAbsolutePath() + ")");
                        }
                        addToClasspath.accept(p.toAbsolutePath().normalize().toString());
                    }
                }
            }
            default -> throw new IOException("unknown magic %" + name + "; this kernel knows %jars and %classpath"
                    + (name.startsWith("%") ? " (no cell magics)" : ""));
        }
    }
}
