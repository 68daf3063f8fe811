package dev.syncline.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Builds a {@link ServerConfig} from defaults, a JSON file and {@code SYNCLINE_*} environment variables. */
public final class ConfigLoader {
  private ConfigLoader() {}

  /** Defaults, overridden by the file (when given), then by the environment. */
  public static ServerConfig load(Path file, Map<String, String> env) throws IOException {
    ObjectNode merged = Json.MAPPER.valueToTree(new ServerConfig());
    if (file != null) {
      JsonNode fromFile = Json.MAPPER.readTree(Files.readAllBytes(file));
      if (!(fromFile instanceof ObjectNode o)) throw new IOException(file + ": a config file is one JSON object");
      merged.setAll(o);
    }
    for (Field f : ServerConfig.class.getFields()) {
      if (Modifier.isStatic(f.getModifiers())) continue;
      String value = env.get(envName(f.getName()));
      if (value == null) continue;
      if (f.getType() == String.class) merged.put(f.getName(), value);
      else if (f.getType() == java.util.List.class && !value.trim().startsWith("[")) {
        var arr = merged.putArray(f.getName());
        for (String part : value.split(",")) if (!part.isBlank()) arr.add(part.trim());
      } else merged.set(f.getName(), Json.MAPPER.readTree(value));
    }
    ServerConfig config;
    try {
      config = Json.MAPPER.readerFor(ServerConfig.class)
          .with(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .readValue(merged);
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new IOException("bad setting: " + e.getOriginalMessage(), e);
    }
    return config;
  }

  /** {@code maxMessageBytes} → {@code SYNCLINE_MAX_MESSAGE_BYTES}. */
  public static String envName(String key) {
    return "SYNCLINE_" + key.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toUpperCase();
  }
}
