package dev.letsbuildgpt.kernel;

import io.github.spencerpark.jupyter.kernel.display.DisplayData;

import java.util.UUID;

/**
 * What notebook code calls to show something, with IJava's names and signatures ({@code display(chart)}), so a
 * notebook runs unchanged on IJava, JJava and this kernel. Imported statically into every notebook.
 */
public final class Display {
    private static volatile JavaKernel kernel;

    private Display() {
    }

    static void use(JavaKernel k) {
        kernel = k;
    }

    /** Shows {@code o} below the cell (an image as a picture, anything else as text); returns its display id. */
    public static String display(Object o) {
        return show(render(o));
    }

    /** Shows {@code o} as the given MIME types (e.g. "text/html"). */
    public static String display(Object o, String... as) {
        return show(render(o, as));
    }

    private static String show(DisplayData data) {
        String id = data.hasDisplayId() ? data.getDisplayId() : UUID.randomUUID().toString();
        data.setDisplayId(id);
        requireKernel().display(data);
        return id;
    }

    public static DisplayData render(Object o) {
        return requireKernel().getRenderer().render(o);
    }

    public static DisplayData render(Object o, String... as) {
        return requireKernel().getRenderer().renderAs(o, as);
    }

    private static JavaKernel requireKernel() {
        JavaKernel k = kernel;
        if (k == null) {
            throw new IllegalStateException("display() works inside a notebook, where the Java kernel runs");
        }
        return k;
    }
}
