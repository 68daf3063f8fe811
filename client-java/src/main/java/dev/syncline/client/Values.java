package dev.syncline.client;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import dev.syncline.protocol.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Attribute values: from what an app passes to the JSON the protocol carries, checked the way the
 * server checks them (PROTOCOL.md §2, §6), and back to plain Java for reading.
 */
final class Values {
  private Values() {}

  /**
   * The protocol mapper, plus Vert.x's JsonObject and JsonArray written as the object and array
   * they hold, at any depth (Jackson alone writes them as beans: {@code {"map":{…},"empty":false}}).
   * Only for app values: the protocol's own encoding stays {@link Json#MAPPER}'s.
   */
  private static final ObjectMapper MAPPER = Json.MAPPER.copy().registerModule(new SimpleModule("syncline-vertx-values")
      .addSerializer(io.vertx.core.json.JsonObject.class, new StdSerializer<>(io.vertx.core.json.JsonObject.class) {
        @Override
        public void serialize(io.vertx.core.json.JsonObject o, JsonGenerator gen, SerializerProvider p) throws IOException {
          p.defaultSerializeValue(o.getMap(), gen);
        }
      })
      .addSerializer(io.vertx.core.json.JsonArray.class, new StdSerializer<>(io.vertx.core.json.JsonArray.class) {
        @Override
        public void serialize(io.vertx.core.json.JsonArray a, JsonGenerator gen, SerializerProvider p) throws IOException {
          p.defaultSerializeValue(a.getList(), gen);
        }
      }));

  /** Deepest a value may nest: a push, its deltas array and a delta take 3 of the 64 levels. */
  static final int MAX_DEPTH = 61;

  /**
   * The JSON of an app's value, in the form the server will hold it (numbers with their exact
   * text). Accepts null, String, Boolean, Number, Map, List, a Jackson node, and Vert.x's
   * JsonObject and JsonArray, each nested in any of the others. Throws {@code bad_request} for what the server would refuse.
   */
  static JsonNode toJson(Object value, String attr) {
    JsonNode tree;
    try {
      tree = value instanceof JsonNode n ? n : MAPPER.valueToTree(value);
    } catch (IllegalArgumentException e) {
      throw new SynclineException("bad_request", "value of " + attr + ": not a JSON value (" + e.getMessage() + ")");
    }
    String problem = problem(tree, 0);
    if (problem != null) throw new SynclineException("bad_request", "value of " + attr + ": " + problem);
    try {
      // written and read back: the very form (BigDecimal for fractions) the server holds and sends back
      return Json.MAPPER.readTree(Json.valueBytes(tree));
    } catch (IOException e) {
      throw new SynclineException("bad_request", "value of " + attr + ": " + e.getMessage());
    }
  }

  /** {@code depth}: containers around {@code n}; one more if {@code n} is one itself, as the server counts. */
  private static String problem(JsonNode n, int depth) {
    if (n.isContainerNode() && depth + 1 > MAX_DEPTH) return "nests deeper than " + MAX_DEPTH;
    if (n.isTextual()) return wellFormed(n.textValue()) ? null : "a string holds an unpaired surrogate";
    if (n.isNumber()) return Double.isFinite(n.doubleValue()) ? null : "a number that is not finite";
    if (n.isArray()) {
      for (JsonNode item : n) {
        String p = problem(item, depth + 1);
        if (p != null) return p;
      }
    } else if (n.isObject()) {
      for (var e : n.properties()) {
        if (!wellFormed(e.getKey())) return "a key holds an unpaired surrogate";
        String p = problem(e.getValue(), depth + 1);
        if (p != null) return p;
      }
    } else if (!n.isNull() && !n.isBoolean()) {
      return "not a JSON value";
    }
    return null;
  }

  /** True when {@code s} holds no unpaired surrogate. */
  static boolean wellFormed(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) return false;
        i++;
      } else if (Character.isLowSurrogate(c)) {
        return false;
      }
    }
    return true;
  }

  /** Characters as the protocol counts them: code points. */
  static int length(String s) {
    return s.codePointCount(0, s.length());
  }

  /** A JSON value as plain, unmodifiable Java. */
  static Object plain(JsonNode n) {
    if (n == null || n.isNull()) return null;
    if (n.isTextual()) return n.textValue();
    if (n.isBoolean()) return n.booleanValue();
    if (n.isNumber()) return n.numberValue();
    if (n.isArray()) {
      List<Object> out = new ArrayList<>(n.size());
      for (JsonNode item : n) out.add(plain(item));
      return Collections.unmodifiableList(out);
    }
    Map<String, Object> out = new LinkedHashMap<>();
    for (var e : n.properties()) out.put(e.getKey(), plain(e.getValue()));
    return Collections.unmodifiableMap(out);
  }
}
