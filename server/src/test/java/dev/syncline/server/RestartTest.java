package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.testing.Pipeline;
import dev.syncline.server.testing.Replica;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Restarts: stopping the server closes the store; reopening it finds everything acked")
class RestartTest {

  @Test
  @DisplayName("the clock starts past the newest stored timestamp: a destroy right after a restart covers a write stamped ahead of the wall clock")
  void clockStartsPastStoredTimes() {
    try (TestServer server = TestServer.start()) {
      server.admin(admin("db.create", args().put("db", "ahead")));
      // within maxClockSkewMs of the server's clock, so taken, and ahead of it
      String ahead = dev.syncline.server.testing.Deltas.ts(System.currentTimeMillis() + 30_000, 0, "w1");
      try (WsClient c = server.connect("w1")) {
        assertEquals("applied", c.request(push("ahead", delta("c", "d", "v", 1, ahead))).path("results").get(0).asText());
      }
      server.restart();
      assertEquals("result", server.admin(admin("db.destroy", args().put("db", "ahead"))).path("type").asText());
      // stamped before the write, the destroy would have left it (a write after a destroy survives it)
      JsonNode stats = server.admin(admin("db.stats", args().put("db", "ahead")));
      assertTrue("not_found".equals(stats.path("code").asText()) || stats.path("data").path("attributes").asLong() == 0,
          "the write stamped ahead survived the destroy: " + stats);
    }
  }

  @Test
  @DisplayName("acked data, heads, epochs and cursors survive closing and reopening the store")
  void dataSurvivesReopen() {
    try (TestServer server = TestServer.start()) {
      Map<String, Replica.Reg> expected = new HashMap<>();
      String epoch;
      long head;
      try (WsClient c = server.connect("w1")) {
        server.admin(admin("db.create", args().put("db", "keep")));
        Pipeline p = new Pipeline(c, 50);
        List<CompletableFuture<JsonNode>> acks = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
          String ts = now(i, c.clientId());
          acks.add(p.send(push("keep", delta("c", "d" + (i % 50), "v", i, ts))));
          expected.put(Replica.key("c", "d" + (i % 50), "v"), new Replica.Reg(WsClient.obj("x").numberNode(i), ts));
        }
        acks.forEach(a -> assertEquals("ack", a.join().get("type").asText()));
        JsonNode stats = server.admin(admin("db.stats", args().put("db", "keep"))).get("data");
        epoch = stats.get("epoch").asText();
        head = stats.get("head").asLong();
        assertEquals(500, head);
      }

      server.restart();

      try (WsClient c = server.connect("r1")) {
        JsonNode stats = server.admin(admin("db.stats", args().put("db", "keep"))).get("data");
        assertEquals(head, stats.get("head").asLong());
        assertEquals(epoch, stats.get("epoch").asText());
        assertEquals(50, stats.get("attributes").asLong());
        Replica replica = new Replica();
        c.listen(replica::apply);
        JsonNode subscribed = c.request(sub("keep", 0));
        assertEquals(head, subscribed.get("head").asLong());
        c.next("synced");
        assertEquals(expected, replica.registers());
        assertEquals(50, replica.deltaCount(), "the compacted log holds one entry per register");

        // a client resuming from its cursor after the restart gets only what came after it
        JsonNode pushed = c.request(push("keep", delta("c", "new", "v", 1, now(0, c.clientId()))));
        assertEquals("applied", pushed.path("results").path(0).asText(), pushed.toString());
        WsClient resumed = server.connect("r2");
        resumed.request(sub("keep", head).put("epoch", epoch));
        JsonNode changes = resumed.next("changes");
        assertEquals(1, changes.get("deltas").size());
        assertEquals(head + 1, changes.get("seq").asLong());
        assertTrue(resumed.receivedOfType("reset").isEmpty());
        resumed.close();
      }

      // seqs keep counting from the stored head after a restart
      server.restart();
      try (WsClient c = server.connect("w3")) {
        JsonNode ack = c.request(push("keep", delta("c", "later", "v", 2, now(0, c.clientId()))));
        assertEquals(head + 2, ack.get("seq").asLong());
      }
    }
  }
}
