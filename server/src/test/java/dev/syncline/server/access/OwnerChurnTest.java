package dev.syncline.server.access;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import dev.syncline.server.testing.Cluster;
import dev.syncline.server.testing.RawWebSocket;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A reader under an {@code $owner} rule starts over whenever a document changes hands. While it does
 * not read, those restarts must not pile up on the server: each would queue a {@code reset} and a
 * wait for the socket to drain.
 */
@DisplayName("Owner changes while a reader does not read cost one reset, not one per change")
class OwnerChurnTest {
  static final String PASSWORD = "password-of-a-test-user";

  @Test
  @DisplayName("200 owner changes to a reader whose socket is full: once it reads, at most a few resets, then the state as it is")
  void ownerChurnWhileUnread() throws Exception {
    try (TestServer server = TestServer.start(c -> c.newDatabasePolicy = null)) {
      for (String user : new String[] {"u", "v"}) {
        ok(server.admin(admin("user.create", args().put("username", user).put("password", PASSWORD))));
      }
      ObjectNode policy = args();
      policy.putArray("read").add("$owner");
      policy.putArray("create").add("$user");
      policy.putArray("update").add("$owner");
      policy.putArray("destroy").add("$owner");
      ok(server.admin(admin("db.create", args().put("db", "owned").set("policy", policy))));

      try (WsClient writer = server.connectAs("writer", "u", PASSWORD);
          RawWebSocket reader = RawWebSocket.connect(server.port(), 64 * 1024)) {
        // ~15 MB of u's documents: far more than the kernel holds for a reader that does not read
        for (int p = 0; p < 15; p++) {
          ObjectNode batch = push("owned");
          for (int i = 0; i < 16; i++) batch.withArray("deltas").add(delta("c", "d" + (p * 16 + i), "v", "x".repeat(60_000), now(p * 16 + i, "writer")));
          assertEquals("ack", writer.request(batch).path("type").asText());
        }
        reader.sendText("{\"type\":\"hello\",\"protocol\":1,\"clientId\":\"slow-owner\"}");
        reader.sendText("{\"type\":\"login\",\"rid\":1,\"username\":\"u\",\"password\":\"" + PASSWORD + "\"}");
        readUntil(reader, "token");
        reader.sendText("{\"type\":\"sub\",\"rid\":2,\"db\":\"owned\"}");
        readUntil(reader, "subscribed");
        Cluster.await(() -> stats(server).path("lagging").asInt() == 1, Duration.ofSeconds(10), () -> "the reader to lag: " + stats(server));

        for (int i = 0; i < 200; i++) {
          ok(server.admin(admin("owner.set", args().put("db", "owned").put("col", "c").put("id", "d0").put("owner", i % 2 == 0 ? "v" : "u"))));
        }
        // d0 ends u's again; a last document marks the end
        assertEquals("ack", writer.request(push("owned", delta("c", "last", "v", 1, now(1000, "writer")))).path("type").asText());

        int resets = 0;
        Set<String> ids = new HashSet<>();
        boolean synced = false;
        while (!(synced && ids.contains("last"))) {
          JsonNode m = Json.MAPPER.readTree(reader.readText());
          switch (m.path("type").asText()) {
            case "reset" -> {
              resets++;
              ids.clear();
              synced = false;
            }
            case "changes" -> m.path("deltas").forEach(d -> ids.add(d.path("id").asText()));
            case "synced" -> synced = true;
            default -> { }
          }
        }
        assertTrue(resets <= 3, resets + " resets queued for a reader that was not reading");
        assertEquals(15 * 16 + 1, ids.size(), "after the last reset: every document of u's");
      }
    }
  }

  private static void readUntil(RawWebSocket reader, String type) throws Exception {
    for (JsonNode m = null; m == null || !m.path("type").asText().equals(type); ) {
      m = Json.MAPPER.readTree(reader.readText());
      assertTrue(!m.path("type").asText().equals("error"), m.toString());
    }
  }

  private static JsonNode stats(TestServer server) {
    return server.admin(admin("server.stats", null)).path("data").path("fanout");
  }

  private static JsonNode ok(JsonNode answer) {
    assertEquals("result", answer.path("type").asText(), answer.toString());
    return answer;
  }
}
