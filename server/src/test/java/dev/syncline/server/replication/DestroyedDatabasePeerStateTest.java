package dev.syncline.server.replication;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.syncline.server.store.DatabaseInfo;
import dev.syncline.server.store.PeerAck;
import dev.syncline.server.store.PeerCursor;
import dev.syncline.server.store.Store;
import dev.syncline.server.testing.Cluster;
import dev.syncline.server.testing.ClusterNode;
import dev.syncline.server.testing.WsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("What a server keeps about its peers' feeds and confirmations of a database goes with the database")
class DestroyedDatabasePeerStateTest {
  static final Duration WITHIN = Duration.ofSeconds(30);

  @Test
  @DisplayName("many databases created and destroyed across two linked servers leave no cursor or ack behind, "
      + "also after a restart; later databases and a name created again still replicate")
  void destroyedDatabasesLeaveNoPeerState() {
    long seed = Long.getLong("syncline.seed", System.nanoTime()); // -Dsyncline.seed=N replays a run
    Random rnd = new Random(seed);
    String why = "seed " + seed;
    try (Cluster c = Cluster.ring(2, false, cfg -> { })) {
      c.awaitLinksLive(WITHIN);
      List<String> names = new ArrayList<>();
      for (int i = 0; i < 12; i++) names.add("tmp" + i);
      for (String db : names) {
        ClusterNode maker = c.node(rnd.nextInt(2));
        assertEquals("result", maker.admin(admin("db.create", args().put("db", db))).path("type").asText(), why);
      }
      for (String db : names) Cluster.await(() -> bothHave(c, db), WITHIN, () -> why + ": " + db + " on both");
      for (String db : names) {
        for (int w = 1 + rnd.nextInt(4); w > 0; w--) {
          ClusterNode writer = c.node(rnd.nextInt(2));
          try (WsClient client = writer.connect("w")) {
            String id = "d" + rnd.nextInt(3);
            assertEquals("ack", client.request(push(db, delta("c", id, "v", rnd.nextInt(100), now(0, "w")))).path("type").asText(), why);
          }
        }
      }
      for (String db : names) c.awaitSameDigest(db, WITHIN);
      // every database confirmed both ways before it goes, so both servers stored acks and cursors of it
      for (String db : names) Cluster.await(() -> confirmed(c, db), WITHIN, () -> why + ": " + db + " confirmed both ways");
      for (String db : names) {
        ClusterNode destroyer = c.node(rnd.nextInt(2));
        assertEquals("result", destroyer.admin(admin("db.destroy", args().put("db", db))).path("type").asText(), why);
      }
      for (String db : names) Cluster.await(() -> !anyHas(c, db), WITHIN, () -> why + ": " + db + " gone from both");

      // a name created again is a new life, and a new database replicates as before
      String again = names.get(rnd.nextInt(names.size()));
      c.node(rnd.nextInt(2)).admin(admin("db.create", args().put("db", again)));
      c.node(rnd.nextInt(2)).admin(admin("db.create", args().put("db", "later")));
      for (String db : List.of(again, "later")) {
        Cluster.await(() -> bothHave(c, db), WITHIN, () -> why + ": " + db + " on both");
        try (WsClient client = c.node(rnd.nextInt(2)).connect("w2")) {
          client.request(push(db, delta("c", "x", "v", 1, now(0, "w2"))));
        }
        c.awaitSameDigest(db, WITHIN);
        Cluster.await(() -> confirmed(c, db), WITHIN, () -> why + ": " + db + " confirmed both ways");
      }

      Map<Integer, String> ids = Map.of(0, c.node(0).serverId(), 1, c.node(1).serverId());
      c.node(0).stop();
      c.node(1).stop();
      assertOnlyLiveState(c, ids, why + " (after the destroys)");

      // a restart neither brings them back nor stops the ones still there from replicating
      c.startAll();
      c.awaitLinksLive(WITHIN);
      try (WsClient client = c.node(0).connect("w3")) {
        client.request(push(again, delta("c", "y", "v", 2, now(0, "w3"))));
      }
      c.awaitSameDigest(again, WITHIN);
      for (String db : names) assertTrue(!anyHas(c, db) || db.equals(again), why + ": " + db + " came back");
      c.node(0).stop();
      c.node(1).stop();
      assertOnlyLiveState(c, ids, why + " (after a restart)");
    }
  }

  private static boolean bothHave(Cluster c, String db) {
    return c.node(0).digest(db) != null && c.node(1).digest(db) != null;
  }

  private static boolean anyHas(Cluster c, String db) {
    return c.node(0).digest(db) != null || c.node(1).digest(db) != null;
  }

  /** Each server lists a confirmation of {@code db} by its peer. */
  private static boolean confirmed(Cluster c, String db) {
    for (int i = 0; i < 2; i++) {
      boolean seen = false;
      for (var p : c.node(i).stats().path("peers")) {
        if (p.path("databases").path(db).path("confirmed").asLong(0) > 0) seen = true;
      }
      if (!seen) return false;
    }
    return true;
  }

  /**
   * Reopens both stopped servers' stores: every ack stored is of a database held there, of its
   * life now; every cursor is of a database held there, of the peer's life of it now.
   */
  private static void assertOnlyLiveState(Cluster c, Map<Integer, String> ids, String why) {
    Map<Integer, Map<String, String>> epochs = new HashMap<>();
    Map<Integer, List<PeerAck>> acks = new HashMap<>();
    Map<Integer, Map<String, PeerCursor>> cursors = new HashMap<>();
    for (int i = 0; i < 2; i++) {
      try (Store s = Store.openXodus(c.node(i).dataDir().resolve("store"), false, 8 << 20)) {
        epochs.put(i, s.databases().stream().collect(Collectors.toMap(DatabaseInfo::name, DatabaseInfo::epoch)));
        acks.put(i, s.peerAcks());
        cursors.put(i, s.peerCursors(ids.get(1 - i)));
      }
    }
    for (int i = 0; i < 2; i++) {
      Map<String, String> mine = epochs.get(i);
      Map<String, String> peers = epochs.get(1 - i);
      for (PeerAck a : acks.get(i)) {
        assertEquals(mine.get(a.db()), a.epoch(), why + ": node " + i + " keeps an ack of a life it no longer has: " + a);
      }
      for (PeerCursor cur : cursors.get(i).values()) {
        assertTrue(mine.containsKey(cur.db()), why + ": node " + i + " keeps a cursor of a database it no longer has: " + cur);
        assertEquals(peers.get(cur.db()), cur.epoch(), why + ": node " + i + " keeps a cursor of a life its peer no longer has: " + cur);
      }
      Set<String> acked = acks.get(i).stream().map(PeerAck::db).collect(Collectors.toSet());
      assertTrue(acked.contains("$system") && acked.contains("app"), why + ": node " + i + "'s acks of what lives: " + acked);
      assertTrue(cursors.get(i).containsKey("$system"), why + ": node " + i + "'s cursors: " + cursors.get(i).keySet());
    }
  }
}
