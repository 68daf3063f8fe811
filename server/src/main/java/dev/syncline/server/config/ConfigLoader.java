package dev.syncline.server.config;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Builds a {@link ServerConfig} from defaults, a JSON file and {@code SYNCLINE_*} environment
 * variables. Every mistake is a {@link ConfigException} whose one-line message says where it is
 * (the file, the key, the variable) and what was expected.
 */
public final class ConfigLoader {
  /** Groups of settings written as nested objects ({@code "tls": {"certFile": …}}). */
  private static final List<Class<?>> GROUPS = List.of(ServerConfig.Tls.class, ServerConfig.Metrics.class);

  private ConfigLoader() {}

  /** Defaults, overridden by the file (when given), then by the environment. */
  public static ServerConfig load(Path file, Map<String, String> env) {
    ObjectNode merged = Json.MAPPER.valueToTree(new ServerConfig());
    if (file != null) {
      JsonNode fromFile = readFile(file);
      if (!(fromFile instanceof ObjectNode o)) throw new ConfigException(file + ": a config file is one JSON object");
      o.fields().forEachRemaining(e -> {
        // a group given in the file keeps the defaults of the keys it leaves out
        if (e.getValue() instanceof ObjectNode given && merged.get(e.getKey()) instanceof ObjectNode defaults
            && isGroup(e.getKey())) {
          defaults.setAll(given);
        } else {
          merged.set(e.getKey(), e.getValue());
        }
      });
    }
    for (Field f : settings(ServerConfig.class)) {
      if (GROUPS.contains(f.getType())) {
        JsonNode given = merged.get(f.getName());
        // not replaced by its defaults: {"tls": "cert.pem"} would serve plain HTTP, {"metrics": false} metrics
        if (given != null && !given.isNull() && !given.isObject()) {
          throw new ConfigException("config key " + f.getName() + (file == null ? "" : " (" + file + ")") + ": expected an object, got " + given);
        }
        ObjectNode group = given instanceof ObjectNode g ? g : merged.putObject(f.getName());
        for (Field sub : settings(f.getType())) fromEnv(env, envName(f.getName() + "_" + sub.getName()), sub, group);
      } else {
        fromEnv(env, envName(f.getName()), f, merged);
      }
    }
    try {
      return Json.MAPPER.readerFor(ServerConfig.class)
          .with(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .readValue(merged);
    } catch (JacksonException e) {
      throw new ConfigException(describe(e, file));
    } catch (IOException e) {
      throw new ConfigException("config: " + e.getMessage());
    }
  }

  /** {@code maxMessageBytes} → {@code SYNCLINE_MAX_MESSAGE_BYTES}; {@code tls_certFile} → {@code SYNCLINE_TLS_CERT_FILE}. */
  public static String envName(String key) {
    return "SYNCLINE_" + key.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toUpperCase();
  }

  private static boolean isGroup(String key) {
    return settings(ServerConfig.class).stream().anyMatch(f -> f.getName().equals(key) && GROUPS.contains(f.getType()));
  }

  private static List<Field> settings(Class<?> type) {
    List<Field> out = new ArrayList<>();
    for (Field f : type.getFields()) if (!Modifier.isStatic(f.getModifiers())) out.add(f);
    return out;
  }

  private static JsonNode readFile(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new ConfigException("cannot read config file " + file + ": there is no such file");
    } catch (IOException e) {
      throw new ConfigException("cannot read config file " + file + ": " + e.getMessage());
    }
    try {
      return Json.MAPPER.readTree(bytes);
    } catch (JsonProcessingException e) {
      // where, not what: Jackson's message quotes the token, which may be a password
      throw new ConfigException("config file " + file + " is not valid JSON"
          + (e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr()));
    } catch (IOException e) {
      throw new ConfigException("cannot read config file " + file + ": " + e.getMessage());
    }
  }

  /** A setting from its environment variable: strings as they are, lists comma-separated, the rest as JSON. */
  private static void fromEnv(Map<String, String> env, String name, Field f, ObjectNode into) {
    String value = env.get(name);
    if (value == null) return;
    if (f.getType() == String.class) {
      into.put(f.getName(), value);
    } else if (f.getType() == List.class && !value.trim().startsWith("[")) {
      var arr = into.putArray(f.getName());
      for (String part : value.split(",")) if (!part.isBlank()) arr.add(part.trim());
    } else {
      try {
        into.set(f.getName(), Json.MAPPER.readTree(value));
      } catch (JsonProcessingException e) {
        // the value is not echoed: it may hold passwords (SYNCLINE_USERS) and end up in a log
        throw new ConfigException(name + ": expected " + expected(f.getType()) + " (as JSON), got something else of "
            + value.length() + " characters");
      }
    }
  }

  /** One line naming the key and what it needs. */
  private static String describe(JacksonException e, Path file) {
    String where = file == null ? "" : " (" + file + ")";
    if (e instanceof UnrecognizedPropertyException u) {
      String key = path(u);
      List<String> known = u.getKnownPropertyIds().stream().map(Object::toString).toList();
      String near = nearest(u.getPropertyName(), known);
      return "unknown config key " + key + where + (near == null ? "" : ": did you mean " + near + "?");
    }
    if (e instanceof InvalidFormatException f) {
      return "config key " + path(f) + where + ": expected " + expected(f.getTargetType()) + ", got " + f.getValue();
    }
    if (e instanceof MismatchedInputException m && m.getTargetType() != null) {
      return "config key " + path(m) + where + ": expected " + expected(m.getTargetType());
    }
    return "config" + where + ": " + e.getOriginalMessage();
  }

  private static String path(MismatchedInputException e) {
    return e.getPath().stream()
        .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
        .collect(Collectors.joining(".")).replace(".[", "[");
  }

  private static String expected(Class<?> type) {
    if (type == int.class || type == Integer.class || type == long.class || type == Long.class) return "a whole number";
    if (type == boolean.class || type == Boolean.class) return "true or false";
    if (type == String.class) return "a string";
    if (List.class.isAssignableFrom(type)) return "a list";
    return "an object";
  }

  /** The known key closest to a mistyped one, when it is close enough to be what was meant. */
  private static String nearest(String typed, List<String> known) {
    return known.stream()
        .filter(k -> distance(k.toLowerCase(), typed.toLowerCase()) <= Math.max(2, typed.length() / 4))
        .min(Comparator.comparingInt(k -> distance(k.toLowerCase(), typed.toLowerCase())))
        .orElse(null);
  }

  /** Levenshtein distance. */
  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) prev[j] = j;
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
