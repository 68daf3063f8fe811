package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Acks of one group commit leave together, in one flush at the end of the event-loop task that
 * answers them; live changes leave at once. Both must reach the client, acks in push order.
 */
@DisplayName("Pipelined pushes: every ack arrives in order, and the same connection's subscription sees every change")
class PipelinedPushTest {
  static final int PUSHES = 400;

  @Test
  @DisplayName("400 pushes sent without waiting are acked in order while their changes stream live on the same socket")
  void pipelinedPushesAndLiveChangesOnOneSocket() {
    try (TestServer server = TestServer.start()) {
      assertEquals("result", server.admin(admin("db.create", args().put("db", "pipe"))).path("type").asText());
      try (WsClient c = WsClient.connect(server.port())) {
        c.hello("piper");
        JsonNode subscribed = c.request(sub("pipe", 0));
        assertEquals("subscribed", subscribed.path("type").asText(), subscribed.toString());
        c.next(m -> "synced".equals(m.path("type").asText()));
        List<Long> sent = new ArrayList<>();
        for (int i = 0; i < PUSHES; i++) sent.add(c.sendWithRid(push("pipe", delta("t", "d" + i, "n", i, now(i, "piper")))));

        c.until(() -> c.receivedOfType("ack").size() == PUSHES && changedIds(c).size() == PUSHES,
            PUSHES + " acks and " + PUSHES + " changed documents");
        List<Long> acked = new ArrayList<>();
        for (JsonNode ack : c.receivedOfType("ack")) {
          acked.add(ack.get("rid").asLong());
          assertEquals("applied", ack.get("results").get(0).asText(), ack.toString());
        }
        assertEquals(sent, acked, "acks in push order");
      }
    }
  }

  private static Set<String> changedIds(WsClient c) {
    Set<String> ids = new TreeSet<>();
    for (JsonNode m : c.receivedOfType("changes")) for (JsonNode d : m.get("deltas")) ids.add(d.get("id").asText());
    return ids;
  }
}
