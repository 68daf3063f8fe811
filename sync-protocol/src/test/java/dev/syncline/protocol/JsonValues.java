package dev.syncline.protocol;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.Map;

/** JSON helpers for tests: value equality as the vectors define it, and a reader for vector files. */
final class JsonValues {
  private JsonValues() {}

  /**
   * Reads vector files. Like {@link Json#MAPPER} (exact numbers, duplicate keys refused) but with
   * room for nesting: a vector file wraps the messages it holds in a few more levels.
   */
  static final ObjectMapper VECTOR_READER = JsonMapper.builder(JsonFactory.builder()
          .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(1000).maxNumberLength(1000).build())
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .build())
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
      .disable(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
      .build();

  /**
   * Equality of JSON values as vectors compare them: numbers by numeric value ({@code 1.50}
   * equals {@code 1.5} and {@code 1e2} equals {@code 100}), objects regardless of key order,
   * arrays in order.
   */
  static boolean equal(JsonNode a, JsonNode b) {
    if (a == null || b == null) return a == b;
    if (a.isNumber() && b.isNumber()) return a.decimalValue().compareTo(b.decimalValue()) == 0;
    if (a.getNodeType() != b.getNodeType()) return false;
    if (a.isArray()) {
      if (a.size() != b.size()) return false;
      for (int i = 0; i < a.size(); i++) if (!equal(a.get(i), b.get(i))) return false;
      return true;
    }
    if (a.isObject()) {
      if (a.size() != b.size()) return false;
      for (Iterator<Map.Entry<String, JsonNode>> it = a.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!equal(e.getValue(), b.get(e.getKey()))) return false;
      }
      return true;
    }
    return a.equals(b);
  }

  static void assertJsonEquals(JsonNode expected, JsonNode actual, String what) {
    if (!equal(expected, actual)) fail(what + "\n  expected: " + expected + "\n  actual:   " + actual);
  }

  /** JSON null for Java null, so absent fields show up as null in a normal form. */
  static JsonNode orNull(JsonNode n) {
    return n == null ? NullNode.getInstance() : n;
  }

  /**
   * A decoded client message in the normal form of {@code codec.json}: every field present,
   * defaults filled in, {@code rid} null when absent.
   */
  static ObjectNode normalForm(ClientMessage m) {
    ObjectNode o = Json.MAPPER.createObjectNode();
    o.put("type", MessageCodec.typeOf(m));
    o.set("rid", orNull(m.rid()));
    if (m instanceof ClientMessage.Hello h) {
      o.put("protocol", h.protocol()).put("clientId", h.clientId()).put("token", h.token());
    } else if (m instanceof ClientMessage.Login l) {
      o.put("username", l.username()).put("password", l.password());
    } else if (m instanceof ClientMessage.Sub s) {
      o.put("db", s.db());
      if (s.cols() == null) o.putNull("cols");
      else s.cols().forEach(o.putArray("cols")::add);
      o.put("since", s.since());
      if (s.epoch() != null) o.put("epoch", s.epoch()); // optional: absent in the normal form when not given
    } else if (m instanceof ClientMessage.Unsub u) {
      o.put("sid", u.sid());
    } else if (m instanceof ClientMessage.Push p) {
      o.put("db", p.db());
      if (p.w() != 0) o.put("w", p.w()); // optional: absent in the normal form when not given
      var deltas = o.putArray("deltas");
      for (int i = 0; i < p.deltas().size(); i++) {
        Delta d = p.deltas().get(i);
        ProtocolException reject = p.rejects().get(i);
        if (reject != null) {
          deltas.addObject().put("error", reject.code().wire());
        } else {
          deltas.addObject().put("col", d.col()).put("id", d.id()).put("attr", d.attr())
              .put("ts", d.ts()).set("value", d.value());
        }
      }
    } else if (m instanceof ClientMessage.Admin a) {
      o.put("op", a.op()).set("args", a.args());
    }
    return o;
  }
}
