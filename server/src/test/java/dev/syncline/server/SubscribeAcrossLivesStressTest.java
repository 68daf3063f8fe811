package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.testing.Cluster;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Subscribes racing destroys and creates of the same database, over real sockets (PROTOCOL.md
 * §10): every subscription ends up either ended with {@code not_found} (the life it was told of
 * was destroyed) or following the life that is left, told of it by {@code subscribed} or a
 * {@code reset}, and getting its changes. Seeded ({@code -Dsyncline.seed=N}); the seed is in a failure.
 */
@DisplayName("Subscribes racing a database's destroys and creates")
class SubscribeAcrossLivesStressTest {

  @Test
  @DisplayName("each subscription is ended with not_found or follows the life that is left, told of its epoch")
  void subscribesAcrossLives() throws Exception {
    long seed = Long.getLong("syncline.seed", System.nanoTime());
    try {
      run(new Random(seed));
    } catch (AssertionError e) {
      throw new AssertionError("seed " + seed + ": " + e.getMessage(), e);
    }
  }

  private static void run(Random random) throws Exception {
    try (TestServer server = TestServer.start(c -> c.durability = "async")) {
      server.admin(admin("db.create", args().put("db", "race")));
      List<WsClient> subscribers = new ArrayList<>();
      for (int i = 0; i < 3; i++) subscribers.add(server.connect("sub" + i));
      AtomicBoolean stop = new AtomicBoolean();
      Random lifeRandom = new Random(random.nextLong());
      Thread lives = new Thread(() -> {
        while (!stop.get()) {
          server.admin(admin("db.destroy", args().put("db", "race")));
          if (lifeRandom.nextBoolean()) SyncProtocolTest.sleep(lifeRandom.nextInt(3));
          server.admin(admin("db.create", args().put("db", "race")));
        }
      });
      lives.start();
      try {
        for (int i = 0; i < 40; i++) {
          for (WsClient c : subscribers) {
            var s = sub("race", 0);
            // some hold a copy of a life they were told of: a new life resets them
            String known = lastEpoch(c);
            if (known != null && random.nextBoolean()) s.put("epoch", known);
            c.sendWithRid(s);
          }
          SyncProtocolTest.sleep(random.nextInt(10));
        }
      } finally {
        stop.set(true);
        lives.join();
      }
      // the life that is left
      String epoch = server.admin(admin("db.stats", args().put("db", "race"))).path("data").path("epoch").asText();
      WsClient writer = server.connect("writer");
      assertEquals("ack", writer.request(push("race", delta("c", "probe", "v", 1, now(0, "writer")))).path("type").asText());
      for (WsClient c : subscribers) {
        Map<String, String> lifeOf = new LinkedHashMap<>();
        for (JsonNode m : c.received()) {
          String type = m.path("type").asText();
          if (type.equals("subscribed") || type.equals("reset")) lifeOf.put(m.path("sid").asText(), m.path("epoch").asText());
        }
        for (var e : lifeOf.entrySet()) {
          String sid = e.getKey();
          Cluster.await(() -> ended(c, sid) || gotProbe(c, sid), Duration.ofSeconds(20),
              () -> sid + " (told epoch " + e.getValue() + ", left " + epoch + ") neither ended nor got the probe");
          if (e.getValue().equals(epoch)) {
            assertEquals(false, ended(c, sid), sid + " follows the life that is left (" + epoch + ") but was ended: " + of(c, sid));
          } else {
            assertEquals(true, ended(c, sid), sid + " was told of a destroyed life " + e.getValue() + " but got the probe: " + of(c, sid));
          }
        }
      }
      for (WsClient c : subscribers) c.close();
      writer.close();
    }
  }

  private static String lastEpoch(WsClient c) {
    String epoch = null;
    for (JsonNode m : c.received()) {
      String type = m.path("type").asText();
      if (type.equals("subscribed") || type.equals("reset")) epoch = m.path("epoch").asText();
    }
    return epoch;
  }

  private static boolean ended(WsClient c, String sid) {
    return c.received().stream().anyMatch(m -> m.path("type").asText().equals("error") && sid.equals(m.path("sid").asText())
        && m.path("code").asText().equals("not_found"));
  }

  private static boolean gotProbe(WsClient c, String sid) {
    return c.received().stream().anyMatch(m -> m.path("type").asText().equals("changes") && sid.equals(m.path("sid").asText())
        && m.path("deltas").toString().contains("\"probe\""));
  }

  private static List<JsonNode> of(WsClient c, String sid) {
    return c.received().stream().filter(m -> sid.equals(m.path("sid").asText())).toList();
  }
}
