package dev.letsbuildgpt.kernel;

import io.github.spencerpark.jupyter.kernel.display.DisplayData;
import io.github.spencerpark.jupyter.kernel.display.common.Image;
import io.github.spencerpark.jupyter.kernel.display.mime.MIMEType;
import jdk.jshell.EvalException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The kernel without Jupyter: what a cell evaluates to, and how a broken cell fails. */
class JavaKernelTest {
    /** Captures what display() would send to Jupyter. */
    static final class Recording extends JavaKernel {
        final List<DisplayData> shown = new ArrayList<>();

        @Override
        public void display(DisplayData data) {
            shown.add(data);
        }
    }

    static Recording kernel;

    @BeforeAll
    static void start() {
        kernel = new Recording();
    }

    @AfterAll
    static void stop() {
        kernel.onShutdown(false);
    }

    static String text(DisplayData d) {
        return d == null ? null : String.valueOf(d.getData(MIMEType.TEXT_PLAIN));
    }

    @Test
    void aCellIsSeveralSnippetsAndShowsItsLastExpression() throws Exception {
        DisplayData d = kernel.eval("int a = 20;\nint b = 22;\nvoid twice() { a *= 2; }\ntwice();\na + b");
        assertEquals("62", text(d));
        assertEquals("62", text(kernel.eval("a + b")), "state persists between cells");
    }

    @Test
    void aTrailingSemicolonOrAStatementShowsNothing() throws Exception {
        assertNull(kernel.eval("1 + 1;"));
        assertNull(kernel.eval("int c = 3;"));
        assertNull(kernel.eval("// only a comment"));
        assertNull(kernel.eval("int d = 4;\nd = 5;\n// a comment after the last statement"));
        assertEquals("5", text(kernel.eval("d\n// a comment after the last expression")));
    }

    /** IJava's default imports, and not JShell's extra ones, so a notebook that passes here passes on IJava. */
    @Test
    void theDefaultImportsAreIJavasExactly() throws Exception {
        assertEquals("[1, 2, 3]", text(kernel.eval("new ArrayList<>(List.of(1, 2, 3))")));
        assertEquals("true", text(kernel.eval("Pattern.matches(\"a+\", \"aa\")")));
        for (String notImported : new String[]{"IntStream.rangeClosed(1, 3).sum()", "Path.of(\"x\")",
                "(Function<Integer, Integer>) x -> x"}) {
            assertThrows(JavaKernel.CompilationException.class, () -> kernel.eval(notImported), notImported);
        }
        assertEquals("6", text(kernel.eval("java.util.stream.IntStream.rangeClosed(1, 3).sum()")));
    }

    @Test
    void aCompileErrorFailsTheCellWithTheCompilersMessage() {
        JavaKernel.CompilationException e = assertThrows(JavaKernel.CompilationException.class,
                () -> kernel.eval("int ok = 1;\nString s = 42;"));
        assertTrue(e.getMessage().contains("incompatible types"), e.getMessage());
        List<String> lines = kernel.formatError(e);
        assertTrue(lines.get(0).contains("String s = 42"), lines.toString());
    }

    @Test
    void anExceptionFailsTheCellWithItsTypeAndMessage() {
        EvalException e = assertThrows(EvalException.class,
                () -> kernel.eval("int zero = 0;\nint boom = 1 / zero;\nint after = 1;"));
        assertEquals("java.lang.ArithmeticException", e.getExceptionClassName());
        assertTrue(kernel.formatError(e).get(0).contains("/ by zero"));
        assertThrows(Exception.class, () -> kernel.eval("after"), "snippets after the failing one do not run");
    }

    @Test
    void displayRendersAnImageAsPng() throws Exception {
        kernel.shown.clear();
        kernel.eval("var img = new java.awt.image.BufferedImage(4, 3, java.awt.image.BufferedImage.TYPE_INT_RGB);\n"
                + "display(img);");
        assertEquals(1, kernel.shown.size());
        assertTrue(kernel.shown.get(0).hasDataForType(Image.PNG));
        assertTrue(kernel.eval("img").hasDataForType(Image.PNG), "an image as the cell's value is a picture too");
    }

    @Test
    void classpathMagicLoadsClassesAndUsesThemAsContextLoader(@TempDir Path dir) throws Exception {
        Path pkg = Files.createDirectories(dir.resolve("src/demo"));
        Files.writeString(pkg.resolve("Hello.java"), "package demo; public class Hello { public static String hi() throws Exception {"
                + " return \"hi from \" + Thread.currentThread().getContextClassLoader().loadClass(\"demo.Hello\")"
                + ".getSimpleName(); } }");
        Path classes = Files.createDirectories(dir.resolve("classes"));
        int rc = javax.tools.ToolProvider.getSystemJavaCompiler().run(null, null, null, "-d", classes.toString(),
                pkg.resolve("Hello.java").toString());
        assertEquals(0, rc);
        assertEquals("hi from Hello", text(kernel.eval("%classpath " + classes + "\ndemo.Hello.hi()")));
    }

    @Test
    void magicsWithoutMatchesFailClearly() {
        Exception e = assertThrows(Exception.class, () -> kernel.eval("%jars /no/such/dir/*.jar\n1"));
        assertTrue(e.getMessage().contains("no file matches"), e.getMessage());
        e = assertThrows(Exception.class, () -> kernel.eval("%maven org.example:x:1\n1"));
        assertTrue(e.getMessage().contains("unknown magic %maven"), e.getMessage());
    }

    @Test
    void completenessAndCompletion() throws Exception {
        assertEquals("complete", kernel.isComplete("int x = 1;"));
        assertEquals("    ", kernel.isComplete("for (int i = 0; i < 3; i++) {"));
        var options = kernel.complete("String.valueO", 13);
        assertTrue(options.getReplacements().stream().anyMatch(s -> s.startsWith("valueOf")), options.getReplacements().toString());
    }
}
