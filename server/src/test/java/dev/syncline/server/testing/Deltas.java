package dev.syncline.server.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.Json;

/** Builders for deltas and pushes in tests. */
public final class Deltas {
  private Deltas() {}

  public static String ts(long ms, int counter, String origin) {
    return new Hlc(ms, counter, origin).format();
  }

  /** A timestamp at the current time. */
  public static String now(int counter, String origin) {
    return ts(System.currentTimeMillis(), counter, origin);
  }

  public static ObjectNode delta(String col, String id, String attr, Object value, String ts) {
    ObjectNode d = Json.MAPPER.createObjectNode().put("col", col).put("id", id).put("attr", attr);
    d.set("value", Json.MAPPER.valueToTree(value));
    return d.put("ts", ts);
  }

  public static ObjectNode push(String db, JsonNode... deltas) {
    ObjectNode p = WsClient.obj("push").put("db", db);
    ArrayNode arr = p.putArray("deltas");
    for (JsonNode d : deltas) arr.add(d);
    return p;
  }

  public static ObjectNode sub(String db, long since) {
    ObjectNode s = WsClient.obj("sub").put("db", db);
    if (since > 0) s.put("since", since);
    return s;
  }

  public static ObjectNode admin(String op, ObjectNode args) {
    ObjectNode a = WsClient.obj("admin").put("op", op);
    a.set("args", args == null ? Json.MAPPER.createObjectNode() : args);
    return a;
  }

  public static ObjectNode args() {
    return Json.MAPPER.createObjectNode();
  }
}
