package dev.letsbuildgpt;

/**
 * A problem a person can fix: bad data, a bad setting, a missing checkpoint. Its message is one sentence meant to
 * be printed as it is; the CLI shows it on one line of stderr and exits non-zero, without a stack trace.
 */
public class GptException extends RuntimeException {
    public GptException(String message) {
        super(message);
    }

    public GptException(String message, Throwable cause) {
        super(message, cause);
    }
}
