package dev.syncline.server.replication;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.SynclineServer;
import dev.syncline.server.testing.Cluster;
import dev.syncline.server.testing.ClusterNode;
import dev.syncline.server.testing.WsClient;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A database written and then destroyed on one server: the other keeps nothing of it in Replication's maps. */
class DestroyedDatabaseMemoryTest {
  static final Duration WITHIN = Duration.ofSeconds(30);

  @Test
  void destroyedRightAfterAWriteLeavesNoAppliedCursor() throws Exception {
    long seed = Long.getLong("syncline.seed", System.nanoTime());
    Random rnd = new Random(seed);
    String why = "seed " + seed;
    try (Cluster c = Cluster.ring(2, false, cfg -> { })) {
      c.awaitLinksLive(WITHIN);
      List<String> names = new ArrayList<>();
      for (int i = 0; i < 8; i++) names.add("gone" + i);
      ClusterNode maker = c.node(1);
      for (String db : names) {
        assertEquals("result", maker.admin(admin("db.create", args().put("db", db))).path("type").asText(), why);
      }
      for (String db : names) Cluster.await(() -> c.node(0).digest(db) != null, WITHIN, () -> why + ": " + db + " on node 0");
      try (WsClient client = maker.connect("w")) {
        for (String db : names) {
          for (int w = 1 + rnd.nextInt(3); w > 0; w--) {
            client.request(push(db, delta("c", "d" + rnd.nextInt(5), "v", rnd.nextInt(100), now(0, "w"))));
          }
          // and destroyed at once: the destroy reaches node 0 close behind the writes
          assertEquals("result", maker.admin(admin("db.destroy", args().put("db", db))).path("type").asText(), why);
        }
      }
      for (String db : names) {
        Cluster.await(() -> c.node(0).digest(db) == null && c.node(1).digest(db) == null, WITHIN, () -> why + ": " + db + " gone");
      }
      // a barrier: a later database written on both ends and equal on both. Each link carries its
      // frames and acks in order, so whatever it carried of the destroyed ones has been handled
      assertEquals("result", maker.admin(admin("db.create", args().put("db", "later"))).path("type").asText(), why);
      Cluster.await(() -> c.node(0).digest("later") != null, WITHIN, () -> why + ": later on node 0");
      for (int n = 0; n < 2; n++) {
        try (WsClient client = c.node(n).connect("b" + n)) {
          assertEquals("ack", client.request(push("later", delta("c", "n" + n, "v", n, now(0, "b" + n)))).path("type").asText(), why);
        }
      }
      Cluster.await(() -> {
        JsonNode a = c.node(0).digest("later");
        return a != null && a.equals(c.node(1).digest("later"));
      }, WITHIN, () -> why + ": later equal on both");
      // nothing more of them comes now; what waits to be saved goes within a second
      Cluster.await(() -> leftOf(c, names).isEmpty(), WITHIN, () -> why + ": Replication keeps of destroyed databases " + leftOf(c, names));
    }
  }

  /** What each node's Replication maps keep of the databases `names`, as "node N MAP: [peer/db, …]". */
  private static List<String> leftOf(Cluster c, List<String> names) {
    List<String> out = new ArrayList<>();
    for (int n = 0; n < 2; n++) {
      Replication r = replication(c.node(n).server());
      for (String map : List.of("acks", "unsaved", "applied", "unsavedCursors", "settledBuckets")) {
        List<String> left = field(r, map).keySet().stream().filter(k -> names.stream().anyMatch(db -> k.endsWith('\0' + db)))
            .map(k -> k.replace('\0', '/')).toList();
        if (!left.isEmpty()) out.add("node " + n + " " + map + ": " + left);
      }
    }
    return out;
  }

  private static Replication replication(SynclineServer s) {
    try {
      Field f = SynclineServer.class.getDeclaredField("replication");
      f.setAccessible(true);
      return (Replication) f.get(s);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, ?> field(Replication r, String name) {
    try {
      Field f = Replication.class.getDeclaredField(name);
      f.setAccessible(true);
      return (Map<String, ?>) f.get(r);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
  }
}
