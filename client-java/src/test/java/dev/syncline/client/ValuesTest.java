package dev.syncline.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("App values as the JSON the protocol carries")
class ValuesTest {

  @Test
  @DisplayName("Vert.x JsonObject and JsonArray are the object and array they hold, nested at any depth in each other, a Map or a List")
  void vertxJsonNested() {
    assertEquals("{\"inner\":{\"x\":1,\"y\":[2,{\"z\":3}]}}", Values.toJson(
        new JsonObject().put("inner", new JsonObject().put("x", 1).put("y", new JsonArray().add(2).add(new JsonObject().put("z", 3)))),
        "a").toString());
    assertEquals("{\"inner\":{\"x\":1},\"tags\":[\"a\",\"b\"]}", Values.toJson(
        new java.util.TreeMap<>(Map.of("inner", new JsonObject().put("x", 1), "tags", new JsonArray().add("a").add("b"))), "a").toString());
    assertEquals("[{\"x\":1},[true]]", Values.toJson(new JsonArray().add(new JsonObject().put("x", 1)).add(new JsonArray().add(true)), "a")
        .toString());
    assertEquals("[[{\"deep\":{\"x\":null}}]]", Values.toJson(
        List.of(List.of(Map.of("deep", new JsonObject().putNull("x")))), "a").toString());
  }

  @Test
  @DisplayName("bytes are no JSON value: refused bad_request, not sent as some text another client cannot read")
  void bytesRefused() {
    for (Object bytes : List.of(new byte[] {(byte) 0xfb, (byte) 0xff}, io.vertx.core.buffer.Buffer.buffer("x"),
        Map.of("b", new byte[] {1}))) {
      SynclineException e = org.junit.jupiter.api.Assertions.assertThrows(SynclineException.class, () -> Values.toJson(bytes, "a"),
          () -> "taken as " + Values.toJson(bytes, "a"));
      assertEquals("bad_request", e.code());
    }
  }

  @Test
  @DisplayName("Doc.where matches a nested Vert.x JsonObject against the equal value the document holds")
  void whereWithNestedVertxJson() {
    SynclineClient c = SynclineClient.create(new ClientOptions().setUrl("ws://127.0.0.1:9/sync").setOffline(true));
    try {
      Await.result(c.ready());
      Collection col = c.db("app").col("c");
      Await.result(col.doc("a").set(Map.of("place", Map.of("at", Map.of("x", 1, "y", 2)), "tags", List.of("red"))));
      Await.result(col.doc("b").set(Map.of("place", Map.of("at", Map.of("x", 9, "y", 2)), "tags", List.of("blue"))));
      List<String> found = col.find(Doc.where(Map.of(
          "place", Map.of("at", new JsonObject().put("y", 2).put("x", 1)),
          "tags", new JsonArray().add("red")))).stream().map(Doc::id).toList();
      assertEquals(List.of("a"), found);
    } finally {
      Await.result(c.close());
    }
  }
}
