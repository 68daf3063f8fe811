package dev.syncline.server.replication;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

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
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("A link that stays up while databases come and go keeps nothing of the ones destroyed")
class LinkDatabaseChurnTest {
  static final Duration WITHIN = Duration.ofSeconds(30);

  @Test
  @DisplayName("many databases created, written, compared and destroyed over one link leave no entry in the link's "
      + "feed and digest maps; a later database still replicates both ways")
  void destroyedDatabasesLeaveTheLink() throws Exception {
    long seed = Long.getLong("syncline.seed", System.nanoTime()); // -Dsyncline.seed=N replays a run
    Random rnd = new Random(seed);
    String why = "seed " + seed;
    // slower pings than the cluster's default: the test needs the one link to stay up on a loaded machine
    try (Cluster c = Cluster.ring(2, false, cfg -> cfg.peerPingIntervalMs = 2000)) {
      c.awaitLinksLive(WITHIN);
      PeerLink[] links = {liveLink(c.node(0)), liveLink(c.node(1))};
      List<String> names = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        String db = "churn" + i;
        names.add(db);
        ClusterNode maker = c.node(rnd.nextInt(2));
        assertEquals("result", maker.admin(admin("db.create", args().put("db", db))).path("type").asText(), why);
        Cluster.await(() -> bothHave(c, db), WITHIN, () -> why + ": " + db + " on both");
        for (int w = 1 + rnd.nextInt(3); w > 0; w--) {
          try (WsClient client = c.node(rnd.nextInt(2)).connect("w")) {
            client.request(push(db, delta("c", "d" + rnd.nextInt(3), "v", rnd.nextInt(100), now(0, "w"))));
          }
        }
        c.awaitSameDigest(db, WITHIN);
        // both ends compared their digests of it: the digest check holds an entry for it
        Cluster.await(() -> compared(c, 0, db) && compared(c, 1, db), WITHIN, () -> why + ": " + db + " compared");
        ClusterNode destroyer = c.node(rnd.nextInt(2));
        assertEquals("result", destroyer.admin(admin("db.destroy", args().put("db", db))).path("type").asText(), why);
        Cluster.await(() -> !anyHas(c, db), WITHIN, () -> why + ": " + db + " gone");
      }
      for (int n = 0; n < 2; n++) {
        int node = n;
        Cluster.await(() -> kept(links[node], names).isEmpty(), WITHIN,
            () -> why + ": node " + node + "'s link keeps, of destroyed databases: " + kept(links[node], names));
      }

      String later = "later";
      c.node(rnd.nextInt(2)).admin(admin("db.create", args().put("db", later)));
      Cluster.await(() -> bothHave(c, later), WITHIN, () -> why + ": " + later + " on both");
      for (int n = 0; n < 2; n++) {
        try (WsClient client = c.node(n).connect("w" + n)) {
          client.request(push(later, delta("c", "x" + n, "v", n, now(0, "w" + n))));
        }
      }
      c.awaitSameDigest(later, WITHIN);
      assertEquals(c.node(0).registers(later), c.node(1).registers(later), why);
      assertEquals(2, c.node(0).registers(later).size(), why + ": both writes of " + later + " on node 0");
      // the maps above were of the link that stayed up, not of a fresh one
      assertSame(links[0], liveLink(c.node(0)), why + ": node 0's link was replaced");
      assertSame(links[1], liveLink(c.node(1)), why + ": node 1's link was replaced");
    }
  }

  private static boolean bothHave(Cluster c, String db) {
    return c.node(0).digest(db) != null && c.node(1).digest(db) != null;
  }

  private static boolean anyHas(Cluster c, String db) {
    return c.node(0).digest(db) != null || c.node(1).digest(db) != null;
  }

  private static boolean compared(Cluster c, int n, String db) {
    for (var p : c.node(n).stats().path("peers")) {
      if (p.path("databases").path(db).has("digest")) return true;
    }
    return false;
  }

  /** The one link up on {@code node} (of two servers dialing each other, one link stands down). */
  private static PeerLink liveLink(ClusterNode node) throws Exception {
    Replication r = (Replication) field(SynclineServer.class, node.server(), "replication");
    List<PeerLink> up = new ArrayList<>();
    for (LinkStatus s : (List<LinkStatus>) field(Replication.class, r, "dialed")) if (s.link() != null) up.add(s.link());
    for (LinkStatus s : ((Map<String, LinkStatus>) field(Replication.class, r, "accepted")).values()) {
      if (s.link() != null) up.add(s.link());
    }
    assertEquals(1, up.size(), "links up on " + node.name());
    return up.get(0);
  }

  /** Per map of the link, the destroyed databases it still holds; read on the link's loop, which alone touches them. */
  private static Map<String, Set<String>> kept(PeerLink link, List<String> destroyed) {
    CompletableFuture<Map<String, Set<String>>> read = new CompletableFuture<>();
    link.context().runOnContext(v -> {
      try {
        Map<String, Set<String>> out = new TreeMap<>();
        FeedSource source = (FeedSource) field(PeerLink.class, link, "source");
        keep(out, "FeedSource.byDb", ((Map<String, ?>) field(FeedSource.class, source, "byDb")).keySet(), destroyed);
        keep(out, "FeedSource.servedEpoch", ((Map<String, ?>) field(FeedSource.class, source, "servedEpoch")).keySet(), destroyed);
        keep(out, "FeedSink.byDb", link.sink().databases().keySet(), destroyed);
        Set<String> sidDbs = new TreeSet<>();
        for (FeedSink.DbFeed f : ((Map<String, FeedSink.DbFeed>) field(FeedSink.class, link.sink(), "bySid")).values()) sidDbs.add(f.db);
        keep(out, "FeedSink.bySid", sidDbs, destroyed);
        keep(out, "DigestCheck.byDb", link.digests().comparisons().keySet(), destroyed);
        read.complete(out);
      } catch (Exception e) {
        read.completeExceptionally(e);
      }
    });
    try {
      return read.get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static void keep(Map<String, Set<String>> out, String map, Set<String> keys, List<String> destroyed) {
    Set<String> left = new TreeSet<>(keys);
    left.retainAll(destroyed);
    if (!left.isEmpty()) out.put(map, left);
  }

  @SuppressWarnings("unchecked")
  private static <T> T field(Class<?> type, Object owner, String name) throws Exception {
    Field f = type.getDeclaredField(name);
    f.setAccessible(true);
    return (T) f.get(owner);
  }
}
