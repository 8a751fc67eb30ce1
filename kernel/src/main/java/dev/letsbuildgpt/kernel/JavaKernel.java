package dev.letsbuildgpt.kernel;

import io.github.spencerpark.jupyter.kernel.BaseKernel;
import io.github.spencerpark.jupyter.kernel.KernelConnectionProperties;
import io.github.spencerpark.jupyter.kernel.LanguageInfo;
import io.github.spencerpark.jupyter.kernel.ReplacementOptions;
import io.github.spencerpark.jupyter.kernel.display.DisplayData;
import io.github.spencerpark.jupyter.kernel.display.common.Image;
import jdk.jshell.Diag;
import jdk.jshell.EvalException;
import jdk.jshell.JShell;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import jdk.jshell.UnresolvedReferenceException;
import jdk.jshell.VarSnippet;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A Jupyter kernel for Java, compatible with IJava: kernel name {@code java}, JShell semantics, IJava's default
 * imports, its {@code %jars} and {@code %classpath} line magics, and {@code display(...)}.
 *
 * <p>Snippets run in this JVM ({@link InProcessExecution}). A cell is split into JShell snippets and run in order;
 * the first one that does not compile, or throws, fails the cell with its message, so a headless run
 * ({@code jupyter nbconvert --execute}) stops at the first broken cell. The value of a cell's last expression is
 * shown (an image as a PNG) unless the cell ends with {@code ;}, as in IPython.
 */
public class JavaKernel extends BaseKernel {
    /**
     * Exactly IJava's default imports (JJava's are the same plus {@code java.time.*}): not JShell's own, which add
     * {@code java.util.stream.*}, {@code java.util.function.*} and {@code java.nio.file.*}. A notebook that ran here
     * relying on one of those would fail on IJava and JJava; with IJava's list it fails here first, in CI.
     */
    static final List<String> DEFAULT_IMPORTS = List.of("java.util.*", "java.io.*", "java.math.*", "java.net.*",
            "java.util.concurrent.*", "java.util.prefs.*", "java.util.regex.*");


    private final InProcessExecution execution;
    /**
     * JShell with the default imports, started on a thread of its own while the kernel binds its ports. Starting it
     * (javac's classes, the first compile) is most of a kernel's start-up work; done first, it kept the kernel from
     * binding its ports and answering Jupyter's kernel_info request until it was done: 2.3 s after launch alone on
     * two cores, 16-21 s for ten kernels launched at once; now 1.1-1.3 s and 6-10 s (measured with jupyter_client).
     * The first cell waits for JShell.
     */
    private final CompletableFuture<JShell> shell;
    private final Magics magics;

    JavaKernel() {
        InProcessExecution.Provider provider = new InProcessExecution.Provider();
        execution = provider.execution();
        magics = new Magics(path -> shell().addToClasspath(path));
        Image.registerAll(getRenderer());
        Display.use(this);
        shell = new CompletableFuture<>();
        Thread start = new Thread(() -> {
            try {
                shell.complete(startShell(provider));
            } catch (Throwable t) {
                shell.completeExceptionally(t);
            }
        }, "jshell-start");
        start.setDaemon(true);
        start.start();
    }

    private static JShell startShell(InProcessExecution.Provider provider) {
        JShell jshell = JShell.builder().executionEngine(provider, Map.of()).build();
        // The kernel's own classes (Display) must be visible to the compiler, not only to the class loader.
        jshell.addToClasspath(Path.of(location()).toString());
        List<String> imports = new ArrayList<>();
        for (String i : DEFAULT_IMPORTS) {
            imports.add("import " + i + ";");
        }
        imports.add("import static " + Display.class.getName() + ".*;");
        for (String i : imports) {
            for (SnippetEvent event : jshell.eval(i)) {
                if (event.status() != Snippet.Status.VALID) {
                    throw new IllegalStateException("the default import failed: " + i);
                }
            }
        }
        return jshell;
    }

    /** JShell, once started (waits for it). */
    private JShell shell() {
        try {
            return shell.join();
        } catch (CompletionException e) {
            throw new IllegalStateException("the kernel's JShell did not start: " + e.getCause().getMessage(),
                    e.getCause());
        }
    }

    private static java.net.URI location() {
        try {
            return JavaKernel.class.getProtectionDomain().getCodeSource().getLocation().toURI();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code java -jar kernel.jar CONNECTION_FILE}: Jupyter starts it so (kernel.json). */
    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: java -jar kernel.jar CONNECTION_FILE (Jupyter starts the kernel; see kernel.json)");
            System.exit(2);
        }
        // The base library logs every message and socket at INFO; a notebook's log shows only warnings.
        java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
        root.setLevel(java.util.logging.Level.WARNING);
        for (java.util.logging.Handler h : root.getHandlers()) {
            h.setLevel(java.util.logging.Level.WARNING);
        }
        exitWithParent();
        KernelConnectionProperties props = KernelConnectionProperties.parse(Files.readString(Path.of(args[0])));
        KernelConnection connection = new KernelConnection(props);
        JavaKernel kernel = new JavaKernel();
        kernel.becomeHandlerForConnection(connection);
        try {
            connection.connect();
        } catch (RuntimeException e) {
            // Running on with some sockets bound would leave the notebook server waiting on the others
            // (KernelConnection); exiting lets Jupyter see the kernel die and start it again.
            System.err.println("kernel: cannot listen on the ports in " + args[0] + ": " + e.getMessage()
                    + "; exiting, so that Jupyter starts the kernel again");
            System.exit(1);
        }
        connection.waitUntilClose();
    }

    /**
     * A kernel outlives the notebook server that started it when that server is killed (SIGKILL, a crash): nothing
     * asks it to stop, and on a shared machine it would train on for nobody. Jupyter names the server in
     * JPY_PARENT_PID (ipykernel watches it for the same reason); else the process's parent is watched.
     */
    static void exitWithParent() {
        String named = System.getenv("JPY_PARENT_PID");
        java.util.Optional<ProcessHandle> parent = ProcessHandle.current().parent();
        try {
            if (named != null && !named.isBlank()) {
                parent = ProcessHandle.of(Long.parseLong(named.trim()));
            }
        } catch (NumberFormatException e) {
            // not a pid: the process's parent, then
        }
        parent.filter(p -> p.pid() > 1).ifPresent(p -> p.onExit().thenRun(() -> {
            System.err.println("kernel: the process that started it (pid " + p.pid() + ") is gone; stopping");
            Runtime.getRuntime().halt(0);
        }));
    }

    @Override
    public DisplayData eval(String code) throws Exception {
        String source = magics.apply(code);
        Snippet last = null;
        String rest = source;
        while (!rest.isBlank()) {
            SourceCodeAnalysis.CompletionInfo info = shell().sourceCodeAnalysis().analyzeCompletion(rest);
            if (info.completeness() == SourceCodeAnalysis.Completeness.EMPTY) {
                break;
            }
            // Incomplete input is evaluated as it is, so the compiler names what is missing.
            String snippet = info.completeness().isComplete() ? info.source() : rest;
            rest = info.completeness().isComplete() ? info.remaining() : "";
            last = run(snippet);
        }
        Object value = execution.lastValue();
        boolean isExpression = last != null && (last.kind() == Snippet.Kind.EXPRESSION
                || last.subKind() == Snippet.SubKind.TEMP_VAR_EXPRESSION_SUBKIND);
        // A trailing semicolon hides the value, as in IPython, whatever comments follow it.
        if (!isExpression || value == null || endsWithSemicolon(source)) {
            return null;
        }
        return getRenderer().render(value);
    }

    /** Whether the cell's last line of code (comments after it aside) ends with a semicolon. */
    static boolean endsWithSemicolon(String source) {
        String[] lines = source.split("\n");
        for (int i = lines.length - 1; i >= 0; i--) {
            String t = lines[i].strip();
            int comment = t.indexOf("//");
            if (comment >= 0 && t.lastIndexOf('"', comment) < 0) {   // a line comment (not inside a string)
                t = t.substring(0, comment).strip();
            }
            if (!t.isEmpty()) {
                return t.endsWith(";");
            }
        }
        return false;
    }

    /** Evaluates one snippet; a compile error or an exception fails the cell. */
    private Snippet run(String snippet) throws Exception {
        Snippet result = null;
        for (SnippetEvent event : shell().eval(snippet)) {
            if (event.causeSnippet() != null) {
                continue;   // a dependent snippet updated by this one
            }
            if (event.exception() != null) {
                throw event.exception();
            }
            switch (event.status()) {
                case REJECTED, RECOVERABLE_NOT_DEFINED, RECOVERABLE_DEFINED -> {
                    List<String> messages = diagnostics(event.snippet());
                    if (event.status() != Snippet.Status.REJECTED) {
                        messages.add("unresolved: " + String.join(", ", shell().unresolvedDependencies(
                                (jdk.jshell.DeclarationSnippet) event.snippet()).toList()));
                    }
                    throw new CompilationException(event.snippet().source(), messages);
                }
                default -> result = event.snippet();
            }
        }
        return result;
    }

    private List<String> diagnostics(Snippet snippet) {
        List<String> out = new ArrayList<>();
        shell().diagnostics(snippet).filter(Diag::isError).forEach(d -> {
            String src = snippet.source();
            int line = 1 + (int) src.substring(0, (int) Math.min(Math.max(d.getStartPosition(), 0), src.length()))
                    .chars().filter(c -> c == '\n').count();
            out.add("line " + line + ": " + d.getMessage(Locale.ROOT));
        });
        return out;
    }

    @Override
    public List<String> formatError(Exception e) {
        List<String> lines = new ArrayList<>();
        if (e instanceof CompilationException c) {
            lines.add("compile error in: " + c.firstLine());
            lines.addAll(c.messages());
        } else if (e instanceof EvalException ee) {
            lines.add(ee.getExceptionClassName() + (ee.getMessage() == null ? "" : ": " + ee.getMessage()));
            addTrace(lines, ee);
        } else if (e instanceof UnresolvedReferenceException ure) {
            lines.add("cannot run " + ure.getSnippet().source().strip() + ": it uses something not yet defined");
        } else {
            lines.add(e.toString());
            addTrace(lines, e);
        }
        return lines;
    }

    private static void addTrace(List<String> lines, Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c != t) {
                String name = c instanceof EvalException ee ? ee.getExceptionClassName() : c.getClass().getName();
                lines.add("caused by " + name + ": " + c.getMessage());
            }
            StackTraceElement[] trace = c.getStackTrace();
            for (int i = 0; i < Math.min(trace.length, 12); i++) {
                lines.add("    at " + trace[i]);
            }
        }
    }

    @Override
    public String isComplete(String code) {
        return switch (shell().sourceCodeAnalysis().analyzeCompletion(magics.strip(code)).completeness()) {
            case COMPLETE, COMPLETE_WITH_SEMI, EMPTY -> IS_COMPLETE_YES;
            case DEFINITELY_INCOMPLETE -> "    ";   // an indent: "incomplete, continue on the next line"
            case CONSIDERED_INCOMPLETE -> IS_COMPLETE_MAYBE;
            case UNKNOWN -> IS_COMPLETE_BAD;
        };
    }

    @Override
    public ReplacementOptions complete(String code, int at) {
        int[] anchor = new int[1];
        List<String> options = shell().sourceCodeAnalysis().completionSuggestions(code, at, anchor).stream()
                .map(SourceCodeAnalysis.Suggestion::continuation).distinct().toList();
        return options.isEmpty() ? null : new ReplacementOptions(options, anchor[0], at);
    }

    @Override
    public void interrupt() {
        execution.interrupt();
    }

    @Override
    public void onShutdown(boolean isRestarting) {
        shell.thenAccept(JShell::close);   // once started, if it is still starting
    }

    @Override
    public LanguageInfo getLanguageInfo() {
        return new LanguageInfo.Builder("java").version(Runtime.version().toString()).mimetype("text/x-java-source")
                .fileExtension(".jshell").pygments("java").codemirror("java").build();
    }

    @Override
    public String getBanner() {
        return "Java " + Runtime.version() + " (the Let's build GPT kernel: JShell, %jars, %classpath, display())";
    }

    /** A cell that does not compile: the compiler's messages, by line of the snippet. */
    static final class CompilationException extends Exception {
        private final String source;
        private final List<String> messages;

        CompilationException(String source, List<String> messages) {
            super(String.join("; ", messages));
            this.source = source;
            this.messages = messages;
        }

        String firstLine() {
            return source.strip().lines().findFirst().orElse("");
        }

        List<String> messages() {
            return messages;
        }
    }
}
