package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static dev.syncline.server.testing.Deltas.ts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.Register;
import dev.syncline.protocol.Visibility;
import dev.syncline.server.testing.Replica;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("$deleted: destroy, write after destroy, restore — as stored and sent by the server")
class DeletedDocumentTest {
  static TestServer server;
  static final long T = System.currentTimeMillis() - 10_000;

  @BeforeAll
  static void start() {
    // bob, whom owner.set gives documents to
    server = TestServer.start(c -> c.users.add(new dev.syncline.server.config.ServerConfig.UserSpec("bob", "password-of-bob", java.util.List.of())));
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  /** The document todos/a as a fresh subscriber reads it from the server. */
  private static Map<String, JsonNode> read(String db) {
    try (WsClient c = server.connect("reader")) {
      Replica replica = new Replica();
      c.listen(replica::apply);
      c.request(sub(db, 0));
      c.next("synced");
      Map<String, Register> regs = new HashMap<>();
      replica.registers().forEach((k, r) -> {
        if (k.startsWith("todos/a/")) regs.put(k.substring(8), new Register(r.value(), r.ts()));
      });
      return Visibility.visible(regs);
    }
  }

  private static void create(WsClient c, String db) {
    server.admin(dev.syncline.server.testing.Deltas.admin("db.create", dev.syncline.server.testing.Deltas.args().put("db", db)));
  }

  private static void write(WsClient c, String db, String attr, Object value, long ms) {
    JsonNode ack = c.request(push(db, delta("todos", "a", attr, value, ts(ms, 0, "w"))));
    assertEquals("applied", ack.get("results").get(0).asText(), ack.toString());
  }

  @Test
  @DisplayName("a destroyed document is gone; a later write brings back only the newer attributes")
  void destroyThenWrite() {
    try (WsClient c = server.connect("w")) {
      create(c, "del1");
      write(c, "del1", "title", "Buy milk", T);
      write(c, "del1", "done", false, T + 1);
      write(c, "del1", "$deleted", true, T + 2);
      assertNull(read("del1"), "destroyed");
      write(c, "del1", "done", true, T + 3);
      assertEquals(Map.of("done", Json.MAPPER.valueToTree(true)), read("del1"), "only what was written after the destroy");
    }
  }

  @Test
  @DisplayName("$deleted = false restores the whole document; a removed attribute stays removed")
  void restoreWhole() {
    try (WsClient c = server.connect("w")) {
      create(c, "del2");
      write(c, "del2", "title", "Buy milk", T);
      write(c, "del2", "note", "x", T + 1);
      write(c, "del2", "note", null, T + 2);
      write(c, "del2", "$deleted", true, T + 3);
      write(c, "del2", "$deleted", false, T + 4);
      assertEquals(Map.of("title", Json.MAPPER.valueToTree("Buy milk")), read("del2"));
    }
  }

  @Test
  @DisplayName("owner.set on a destroyed document is not_found, and does not bring it back as {$owner}; once written again, it may")
  void ownerOfADestroyedDocument() {
    try (WsClient c = server.connect("w")) {
      create(c, "del4");
      write(c, "del4", "title", "Buy milk", T);
      write(c, "del4", "$deleted", true, T + 1);
      JsonNode answer = giveToBob("del4");
      assertEquals("not_found", answer.path("code").asText(), answer.toString());
      assertNull(read("del4"), "still destroyed");
      write(c, "del4", "title", "again", T + 2); // written after the destroy: seen, so it may change hands
      answer = giveToBob("del4");
      assertEquals("result", answer.path("type").asText(), answer.toString());
    }
  }

  private static JsonNode giveToBob(String db) {
    return server.admin(dev.syncline.server.testing.Deltas.admin("owner.set",
        dev.syncline.server.testing.Deltas.args().put("db", db).put("col", "todos").put("id", "a").put("owner", "bob")));
  }

  @Test
  @DisplayName("a destroy that arrives late (older timestamp) does not hide newer attributes")
  void lateDestroy() {
    try (WsClient c = server.connect("w")) {
      create(c, "del3");
      write(c, "del3", "title", "new", T + 10);
      write(c, "del3", "$deleted", true, T + 5);
      assertEquals(Map.of("title", Json.MAPPER.valueToTree("new")), read("del3"));
    }
  }
}
