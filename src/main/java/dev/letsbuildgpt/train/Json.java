package dev.letsbuildgpt.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.letsbuildgpt.GptException;

/**
 * JSON for configurations, metrics and checkpoints. Files use the lecture's snake_case names ({@code n_embd},
 * {@code learning_rate}); command-line overrides use the same names in kebab case ({@code --n-embd}).
 */
public final class Json {
    public static final ObjectMapper SNAKE = mapper(PropertyNamingStrategies.SNAKE_CASE);
    static final ObjectMapper KEBAB = mapper(PropertyNamingStrategies.KEBAB_CASE);

    private Json() {
    }

    private static ObjectMapper mapper(com.fasterxml.jackson.databind.PropertyNamingStrategy naming) {
        return new ObjectMapper()
                .setPropertyNamingStrategy(naming)
                .enable(SerializationFeature.INDENT_OUTPUT)
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES);
    }

    public static String write(Object value) {
        try {
            return SNAKE.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** One line of JSON, for metrics.jsonl. */
    public static String line(Object value) {
        try {
            return SNAKE.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static <T> T read(String json, Class<T> type, String what) {
        try {
            return read(SNAKE, SNAKE.readTree(json), type, what);
        } catch (JsonProcessingException e) {
            throw new GptException(what + " is not valid JSON");
        }
    }

    /** Converts a tree to a record, passing on the record's own validation message as it is. */
    static <T> T read(ObjectMapper mapper, JsonNode tree, Class<T> type, String what) {
        try {
            return mapper.treeToValue(tree, type);
        } catch (JsonProcessingException | IllegalArgumentException e) {
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof GptException g) {
                    throw g;
                }
            }
            String msg = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            throw new GptException(what + " is not valid: " + msg);
        }
    }
}
