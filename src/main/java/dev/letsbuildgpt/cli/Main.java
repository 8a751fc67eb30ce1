package dev.letsbuildgpt.cli;

import dev.letsbuildgpt.GptException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * {@code java -jar target/gpt.jar train | sample | eval | info | compare | bench | blas | export | import | data}.
 */
@Command(name = "gpt", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Let's build GPT, in Java: a character-level GPT on Tiny Shakespeare (ND4J + SameDiff).",
        subcommands = {TrainCommand.class, SampleCommand.class, EvalCommand.class, InfoCommand.class, CompareCommand.class,
                BenchCommand.class, BlasCommand.class, ExportCommand.class, ImportCommand.class, DataCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code (0 ok, 1 failed, 2 bad usage). */
    public static int run(String... args) {
        System.setProperty("java.awt.headless", "true");
        CommandLine cli = new CommandLine(new Main());
        cli.setParameterExceptionHandler((ex, a) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("error: " + ex.getMessage() + " (see '" + ex.getCommandLine().getCommandSpec().qualifiedName()
                    + " --help')");
            return 2;
        });
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            Throwable root = ex;
            while (root.getCause() != null && !(root instanceof GptException)) {
                root = root.getCause();
            }
            if (root instanceof GptException) {
                err.println("error: " + root.getMessage());
                return 1;
            }
            if (System.getenv("GPT_DEBUG") != null) {
                ex.printStackTrace(err);
            }
            err.println("error: unexpected " + ex.getClass().getSimpleName() + ": " + ex.getMessage()
                    + " (set GPT_DEBUG=1 for the stack trace)");
            return 1;
        });
        return cli.execute(args);
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[]{"gpt " + (v == null ? "(development build)" : v)
                    + ", ND4J/SameDiff 1.0.0-M2.1, Java " + System.getProperty("java.version")};
        }
    }
}
