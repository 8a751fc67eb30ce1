package dev.letsbuildgpt;

import dev.letsbuildgpt.data.TinyShakespeare;

import java.nio.file.Path;

/** Tiny Shakespeare for tests: from $GPT_DATA_URL (CI points it at ../shared/data), else ../shared/data, else the web. */
public final class TestData {
    private static String text;

    private TestData() {
    }

    public static synchronized String shakespeare() {
        if (text == null) {
            text = TinyShakespeare.load(source(), Path.of("data"));
        }
        return text;
    }

    /** Where the real file is, for tests that hand a path to the CLI. */
    public static String source() {
        String env = System.getenv(TinyShakespeare.ENV_VAR);
        Path shared = Path.of("..", "shared", "data", TinyShakespeare.FILE_NAME).toAbsolutePath().normalize();
        return env != null && !env.isBlank() ? env : shared.toFile().isFile() ? shared.toString() : TinyShakespeare.URL;
    }
}
