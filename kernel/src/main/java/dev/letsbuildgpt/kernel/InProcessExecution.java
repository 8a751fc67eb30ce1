package dev.letsbuildgpt.kernel;

import jdk.jshell.execution.DirectExecutionControl;
import jdk.jshell.spi.ExecutionControl;
import jdk.jshell.spi.ExecutionControlProvider;
import jdk.jshell.spi.ExecutionEnv;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Runs JShell snippets in the kernel's own JVM, so a cell's result is a real object the kernel can render (a
 * {@code BufferedImage} becomes a PNG), and the libraries a notebook loads stay loaded between cells.
 *
 * <p>Every cell runs on one long-lived thread whose context class loader is the snippets' loader: libraries that
 * discover implementations through the context class loader (ND4J finds its backend this way) see the jars added
 * with {@code %jars}. Interrupting stops that thread; the next cell gets a fresh one.
 */
final class InProcessExecution extends DirectExecutionControl {
    private ExecutorService cells = newCellThread();
    private volatile Thread running;
    private volatile Object lastValue;

    private static ExecutorService newCellThread() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "notebook-cell");
            t.setDaemon(true);
            return t;
        });
    }

    /** The object the last snippet evaluated to (null for statements and declarations). */
    Object lastValue() {
        return lastValue;
    }

    @Override
    protected String invoke(Method doit) throws Exception {
        lastValue = null;
        ClassLoader loader = doit.getDeclaringClass().getClassLoader();
        Future<Object> result = cells.submit(() -> {
            running = Thread.currentThread();
            running.setContextClassLoader(loader);
            try {
                return doit.invoke(null);
            } finally {
                running = null;
            }
        });
        try {
            Object value = result.get();
            lastValue = value;
            return valueString(value);
        } catch (ExecutionException e) {
            // DirectExecutionControl turns an InvocationTargetException into the user's exception, with its trace.
            Throwable cause = e.getCause() instanceof InvocationTargetException ite ? ite.getCause() : e.getCause();
            throw new InvocationTargetException(cause);
        }
    }

    /** Stops the running cell: interrupts it, and if it does not end within a second, stops its thread. */
    @SuppressWarnings({"deprecation", "removal"})
    void interrupt() {
        Thread t = running;
        if (t == null) {
            return;
        }
        t.interrupt();
        try {
            t.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (t.isAlive()) {
            try {
                t.stop();   // Java 17 still allows it; a training loop that never checks interruption needs it
            } catch (UnsupportedOperationException e) {
                // Newer JVMs: the interrupt above is all there is.
            }
            cells.shutdownNow();
            cells = newCellThread();
        }
    }

    /** Lets JShell create this execution engine ({@code JShell.builder().executionEngine(provider, params)}). */
    static final class Provider implements ExecutionControlProvider {
        private final InProcessExecution execution = new InProcessExecution();

        InProcessExecution execution() {
            return execution;
        }

        @Override
        public String name() {
            return "in-process";
        }

        @Override
        public ExecutionControl generate(ExecutionEnv env, Map<String, String> parameters) {
            return execution;
        }
    }
}
