package dev.syncline.server.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.Merge;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import jetbrains.exodus.ArrayByteIterable;
import jetbrains.exodus.bindings.StringBinding;
import jetbrains.exodus.env.Cursor;
import jetbrains.exodus.env.Environment;
import jetbrains.exodus.env.Environments;
import jetbrains.exodus.env.StoreConfig;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("What the store keeps for replication: digests, peer cursors and acks, floors, the clock, purge steps")
class ReplicaStateStoreTest extends StoreTestBase {

  @Test
  @DisplayName("digests: the same registers reached in any order give the same digest; any difference, tombstones included, changes it")
  void digestsFollowTheData() throws IOException {
    long seed = Long.getLong("syncline.seed", System.nanoTime()); // -Dsyncline.seed=N replays a run
    Random rnd = new Random(seed);
    List<Delta> deltas = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      String id = "d" + rnd.nextInt(20);
      String attr = rnd.nextInt(8) == 0 ? Delta.DELETED : "a" + rnd.nextInt(4);
      JsonNode value = attr.equals(Delta.DELETED) ? BooleanNode.valueOf(rnd.nextBoolean())
          : rnd.nextInt(5) == 0 ? NullNode.getInstance() : IntNode.valueOf(rnd.nextInt(100));
      deltas.add(new Delta("c", id, attr, value, ts(rnd.nextInt(1000), rnd.nextInt(3), "w" + rnd.nextInt(3))));
    }
    for (Delta d : deltas) store.commit(List.of(WriteBatch.of("db", List.of(d))));
    DatabaseDigest first = store.digest("db").orElseThrow();

    Path other = Files.createTempDirectory("syncline-store-other");
    try (Store shuffled = Store.openXodus(other, false, 8 << 20)) {
      shuffled.createDatabase("db", 1);
      List<Delta> copy = new ArrayList<>(deltas);
      Collections.shuffle(copy, rnd);
      copy.addAll(copy.subList(0, 50)); // duplicates change nothing
      for (int i = 0; i < copy.size(); i += 7) shuffled.commit(List.of(WriteBatch.of("db", copy.subList(i, Math.min(copy.size(), i + 7)))));
      DatabaseDigest second = shuffled.digest("db").orElseThrow();
      assertEquals(first.digest(), second.digest(), "seed " + seed);
      assertArrayEquals(first.buckets(), second.buckets(), "seed " + seed);
      assertNotEquals(first.head(), 0);

      Delta removal = new Delta("c", "d0", "a0", NullNode.getInstance(), ts(5000, 0, "w0"));
      shuffled.commit(List.of(WriteBatch.of("db", List.of(removal))));
      assertNotEquals(first.digest(), shuffled.digest("db").orElseThrow().digest(), "a tombstone counts");
      store.commit(List.of(WriteBatch.of("db", List.of(removal))));
      assertEquals(store.digest("db").orElseThrow().digest(), shuffled.digest("db").orElseThrow().digest());
    }
    reopen();
    DatabaseDigest reopened = store.digest("db").orElseThrow();
    assertEquals(reopened.digest(), Digests.digestOf(reopened.buckets()), "the digest is stored with the data");
  }

  @Test
  @DisplayName("an empty database's digest is the same everywhere; a local collection is left out of it")
  void localCollectionsAreNotInTheDigest() throws IOException {
    Path other = Files.createTempDirectory("syncline-store-local");
    try (Store withLocal = Store.openXodus(other, false, 8 << 20, Store.DEFAULT_MIN_UTILIZATION, Map.of("db", Set.of("secrets")))) {
      withLocal.createDatabase("db", 1);
      assertEquals(store.digest("db").orElseThrow().digest(), withLocal.digest("db").orElseThrow().digest());
      withLocal.commit(List.of(WriteBatch.of("db", List.of(new Delta("secrets", "jwt", "key", TextNode.valueOf("k"), ts(1, 0, "s"))))));
      assertEquals(store.digest("db").orElseThrow().digest(), withLocal.digest("db").orElseThrow().digest());
      assertTrue(withLocal.registersInBuckets("db", all(), null, 100, 1 << 20, 0).deltas().isEmpty(), "nor repaired");
    }
  }

  @Test
  @DisplayName("a feed frame's cursor is stored only once the frame before it is: after one whose commit failed, "
      + "later frames' data lands but the cursor stays before the lost one")
  void feedCursorAfterALostFrame() {
    store.commit(List.of(WriteBatch.fromFeed("db", List.of(new Delta("c", "d1", "a", IntNode.valueOf(1), ts(1, 0, "x"))),
        "srv-b", new PeerCursor("srv-b", "db", "e1", 10), 0)));
    // the frame at 20 (after 10) failed to commit; the one at 30 (after 20) commits
    store.commit(List.of(WriteBatch.fromFeed("db", List.of(new Delta("c", "d3", "a", IntNode.valueOf(3), ts(3, 0, "x"))),
        "srv-b", new PeerCursor("srv-b", "db", "e1", 30), 20)));
    assertEquals(new PeerCursor("srv-b", "db", "e1", 10), store.peerCursors("srv-b").get("db"), "resumes before the lost frame");
    assertEquals(2, store.registers("db", "c").size(), "the later frame's data is stored");
    // the next link resends from 10: each frame after the one stored moves the cursor on
    store.commit(List.of(WriteBatch.fromFeed("db", List.of(new Delta("c", "d2", "a", IntNode.valueOf(2), ts(2, 0, "x"))),
        "srv-b", new PeerCursor("srv-b", "db", "e1", 20), 10)));
    store.commit(List.of(WriteBatch.fromFeed("db", List.of(), "srv-b", new PeerCursor("srv-b", "db", "e1", 30), 20)));
    assertEquals(new PeerCursor("srv-b", "db", "e1", 30), store.peerCursors("srv-b").get("db"));
    // a new epoch's first frame follows nothing
    store.commit(List.of(WriteBatch.fromFeed("db", List.of(), "srv-b", new PeerCursor("srv-b", "db", "e2", 5), 0)));
    assertEquals(new PeerCursor("srv-b", "db", "e2", 5), store.peerCursors("srv-b").get("db"));
  }

  @Test
  @DisplayName("a cursor saved late (a link's first synced, at 0) does not move back the one its feed's frames stored since; "
      + "a new epoch's 0 replaces an old epoch's")
  void lateSavedCursorDoesNotGoBack() {
    store.commit(List.of(WriteBatch.fromFeed("db", List.of(new Delta("c", "d1", "a", IntNode.valueOf(1), ts(1, 0, "x"))),
        "srv-b", new PeerCursor("srv-b", "db", "e1", 30), 0)));
    store.saveCursors(List.of(new PeerCursor("srv-b", "db", "e1", 0)));
    assertEquals(new PeerCursor("srv-b", "db", "e1", 30), store.peerCursors("srv-b").get("db"));
    // so the frames after it still store theirs
    store.commit(List.of(WriteBatch.fromFeed("db", List.of(), "srv-b", new PeerCursor("srv-b", "db", "e1", 31), 30)));
    assertEquals(new PeerCursor("srv-b", "db", "e1", 31), store.peerCursors("srv-b").get("db"));
    store.saveCursors(List.of(new PeerCursor("srv-b", "db", "e2", 0)));
    assertEquals(new PeerCursor("srv-b", "db", "e2", 0), store.peerCursors("srv-b").get("db"), "a new epoch starts over");
  }

  @Test
  @DisplayName("a destroyed database's cursors and acks go with it, for every peer, but a peer's last ack; none of a life "
      + "not here is stored later; a restart keeps it so")
  void peerStateGoesWithItsDatabase() {
    long seed = Long.getLong("syncline.seed", System.nanoTime()); // -Dsyncline.seed=N replays a run
    Random rnd = new Random(seed);
    List<String> peers = List.of("srv-b", "srv-c", "srv-c.2", "srv-d");
    List<String> dbs = new ArrayList<>(List.of("db"));
    for (int i = 0; i < 8; i++) dbs.add("db" + i);
    for (String db : dbs) store.createDatabase(db, 1);
    // every peer confirms and feeds every database, but srv-d confirmed only db3
    for (String db : dbs) {
      String epoch = store.database(db).orElseThrow().epoch();
      for (String p : peers) {
        store.commit(List.of(WriteBatch.fromFeed(db, List.of(new Delta("c", p, "a", IntNode.valueOf(1), ts(1 + rnd.nextInt(100), 0, p))),
            p, new PeerCursor(p, db, "pe-" + p, 1 + rnd.nextInt(9)), 0)));
        if (!p.equals("srv-d") || db.equals("db3")) store.savePeerAcks(List.of(new PeerAck(p, db, epoch, 1, 1, "pe-" + p)));
      }
    }
    String oldEpoch = store.database("db2").orElseThrow().epoch();
    List<String> destroyed = List.of("db2", "db3", "db5");
    for (String db : destroyed) assertEquals(DestroyOutcome.REMOVED, store.destroyThrough(db, ts(10_000, 0, "admin")), "seed " + seed);
    // late, on their way when the destroy came
    store.savePeerAcks(List.of(new PeerAck("srv-b", "db2", oldEpoch, 1, 1, "pe-srv-b")));
    store.saveCursors(List.of(new PeerCursor("srv-b", "db5", "pe-srv-b", 50)));
    store.commit(List.of(WriteBatch.fromFeed("db3", List.of(), "srv-c", new PeerCursor("srv-c", "db3", "pe-srv-c", 60), 0)));
    // a new life of db2: an ack of the old one is not of it
    store.createDatabase("db2", 20_000);
    store.savePeerAcks(List.of(new PeerAck("srv-c", "db2", oldEpoch, 1, 1, "pe-srv-c")));
    for (int round = 0; round < 2; round++) {
      for (String p : peers) {
        for (String db : dbs) {
          boolean gone = destroyed.contains(db);
          assertEquals(!gone, store.peerCursors(p).containsKey(db), "seed " + seed + ": " + p + "'s cursor of " + db);
        }
      }
      for (PeerAck a : store.peerAcks()) {
        boolean lastOfItsPeer = a.peer().equals("srv-d");
        assertTrue(lastOfItsPeer || !destroyed.contains(a.db()), "seed " + seed + ": " + a);
      }
      assertEquals(1, store.peerAcks().stream().filter(a -> a.peer().equals("srv-d")).count(), "srv-d's last ack stays");
      assertEquals(3 * (dbs.size() - destroyed.size()) + 1, store.peerAcks().size(), "seed " + seed + ": " + store.peerAcks());
      reopen();
    }
  }

  @Test
  @DisplayName("a policy wait keeps the life of the peer's $system its seq is of, across a restart, until it is dropped")
  void policyWaitsKeepTheirEpoch() {
    store.savePolicyWait("db", "srv-b", "e1", 7);
    store.savePolicyWait("db", "srv-c", "e2", Store.EPOCH_SEQ_GAP + 3);
    store.savePolicyWait("db", "srv-b", "e3", 2); // the same peer again: the later one
    reopen();
    assertEquals(Set.of(new Store.PolicyWaitRecord("db", "srv-b", "e3", 2),
        new Store.PolicyWaitRecord("db", "srv-c", "e2", Store.EPOCH_SEQ_GAP + 3)), Set.copyOf(store.policyWaits()));
    store.dropPolicyWaits("db");
    assertEquals(List.of(), store.policyWaits());
  }

  @Test
  @DisplayName("a peer's cursor is stored with the deltas it came with, survives a restart, and goes when the peer is forgotten")
  void peerCursors() {
    PeerCursor c = new PeerCursor("srv-b", "db", "e1", 42);
    store.commit(List.of(WriteBatch.replicated("db", List.of(new Delta("c", "d", "a", IntNode.valueOf(1), ts(1, 0, "x"))), "srv-b", c)));
    store.commit(List.of(WriteBatch.replicated("db", List.of(), "srv-b", new PeerCursor("srv-b", "db", "e1", 43))));
    String epoch = store.database("db").orElseThrow().epoch(); // an ack of another life is not stored
    store.savePeerAcks(List.of(new PeerAck("srv-b", "db", epoch, 7, 40, "pe1")));
    store.saveCursors(List.of(new PeerCursor("srv-b", "db", "e1", 40))); // behind the stored one: no change
    store.saveCursors(List.of(new PeerCursor("srv-b", "db", "e1", 45), new PeerCursor("srv-c", "db", "e2", 3)));
    store.saveCursors(List.of(new PeerCursor("srv-b", "db", "e1", 44)));
    reopen();
    assertEquals(Map.of("db", new PeerCursor("srv-b", "db", "e1", 45)), store.peerCursors("srv-b"));
    assertEquals(Map.of("db", new PeerCursor("srv-c", "db", "e2", 3)), store.peerCursors("srv-c"));
    store.saveCursors(List.of(new PeerCursor("srv-b", "db", "e7", 2)));
    assertEquals(new PeerCursor("srv-b", "db", "e7", 2), store.peerCursors("srv-b").get("db"), "a new epoch starts over");
    assertEquals(Map.of(), store.peerCursors("srv-d"));
    assertEquals(List.of(new PeerAck("srv-b", "db", epoch, 7, 40, "pe1")), store.peerAcks());
    store.forgetPeer("srv-b");
    assertEquals(Map.of(), store.peerCursors("srv-b"));
    assertEquals(List.of(), store.peerAcks());
    assertEquals(1, store.peerCursors("srv-c").size(), "other peers stay");
    assertEquals(java.util.Set.of("srv-b"), store.forgottenPeers());
    reopen();
    assertEquals(java.util.Set.of("srv-b"), store.forgottenPeers(), "forgotten for good");
    store.saveDialedPeer("wss://b.example:8080/sync", "srv-b");
    store.saveDialedPeer("wss://c.example:8080/sync", "srv-c");
    store.saveDialedPeer("wss://c.example:8080/sync", "srv-c2"); // another server at that address now
    reopen();
    assertEquals(Map.of("wss://b.example:8080/sync", "srv-b", "wss://c.example:8080/sync", "srv-c2"), store.dialedPeers());
  }

  @Test
  @DisplayName("a repair leaves out what a purge at its cutoff would remove: old tombstones and old destroyed documents")
  void repairLeavesOutPurgeable() {
    long old = 1_700_000_000_000L;
    long recent = old + 1_000_000;
    store.commit(List.of(WriteBatch.of("db", List.of(
        new Delta("c", "live", "a", IntNode.valueOf(1), ts(old, 0, "w")),
        new Delta("c", "live", "gone", NullNode.getInstance(), ts(old, 1, "w")),
        new Delta("c", "live", "goneLately", NullNode.getInstance(), ts(recent, 0, "w")),
        new Delta("c", "dead", "a", IntNode.valueOf(2), ts(old, 2, "w")),
        new Delta("c", "dead", Delta.DELETED, BooleanNode.TRUE, ts(old, 3, "w")),
        new Delta("c", "back", Delta.DELETED, BooleanNode.TRUE, ts(old, 4, "w")),
        new Delta("c", "back", "b", IntNode.valueOf(3), ts(recent, 1, "w"))))));
    Set<String> got = new HashSet<>();
    for (byte[] json : store.registersInBuckets("db", all(), null, 100, 1 << 20, old + 10).deltas()) {
      JsonNode d = readTree(json);
      got.add(d.get("id").asText() + "/" + d.get("attr").asText());
    }
    assertEquals(Set.of("live/a", "live/goneLately", "back/$deleted", "back/b"), got);
    assertEquals(7, store.registersInBuckets("db", all(), null, 100, 1 << 20, 0).deltas().size(), "cutoff 0: everything");
  }

  @Test
  @DisplayName("a destroyed document split over repair pages is sent with its $deleted when a register of it is newer than the destroy")
  void repairOfASplitDocumentKeepsItsDestroy() {
    long old = 1_700_000_000_000L;
    List<Delta> deltas = new ArrayList<>();
    deltas.add(new Delta("c", "big", Delta.DELETED, BooleanNode.TRUE, ts(old, 50, "w")));
    for (int i = 0; i < 40; i++) deltas.add(new Delta("c", "big", String.format("a%02d", i), IntNode.valueOf(i), ts(old, i, "w")));
    deltas.add(new Delta("c", "big", "zz", IntNode.valueOf(1), ts(old + 1_000_000, 0, "w"))); // after the destroy, sorts last
    store.commit(List.of(WriteBatch.of("db", deltas)));

    List<String> attrs = new ArrayList<>();
    int pages = 0;
    byte[] after = null;
    RegisterPage page;
    do {
      page = store.registersInBuckets("db", all(), after, 100, 300, old + 10);
      pages++;
      for (byte[] json : page.deltas()) attrs.add(readTree(json).get("attr").asText());
      after = page.resumeKey();
    } while (page.more());
    assertTrue(pages > 2, "the document is split over pages: " + pages);
    assertTrue(attrs.contains(Delta.DELETED), "the destroy is sent, or a peer that missed it would show the document: " + attrs);
    assertEquals(42, attrs.size(), "nothing is purgeable in a document written to after its destroy");
  }

  @Test
  @DisplayName("a purge step that stops at the horizon starts over from the oldest next time, even with no entry at the horizon")
  void purgeWrapsAtTheHorizon() {
    long old = 1_700_000_000_000L;
    store.commit(List.of(WriteBatch.of("db", List.of(
        new Delta("c", "x", "a", NullNode.getInstance(), ts(old, 0, "w")),   // seq 1
        new Delta("c", "y", "a", IntNode.valueOf(1), ts(old, 1, "w")),       // seq 2
        new Delta("c", "z", "a", IntNode.valueOf(1), ts(old, 2, "w"))))));    // seq 3
    store.commit(List.of(WriteBatch.of("db", List.of(new Delta("c", "y", "a", IntNode.valueOf(2), ts(old, 3, "w")))))); // seq 4, log entry 2 gone
    assertEquals(1, store.purgeTombstones("db", old + 10, 2, 100), "x, then stops at y's old seq, which has no entry now");
    store.commit(List.of(WriteBatch.of("db", List.of(new Delta("c", "q", "a", NullNode.getInstance(), ts(old, 4, "w")))))); // seq 5
    assertEquals(1, store.purgeTombstones("db", old + 10, Long.MAX_VALUE, 100), "started over from the oldest and reached q");
  }

  @Test
  @DisplayName("a purge step never takes a tombstone committed after the horizon, even when a superseded entry within it leads there")
  void purgeKeepsTombstonesPeersHaveNotSeen() {
    long old = 1_700_000_000_000L;
    store.commit(List.of(WriteBatch.of("db", List.of(new Delta("c", "x", "a", IntNode.valueOf(1), ts(old, 0, "w")))))); // seq 1
    // edited offline long ago, arriving now: seq 2, and entry 1 stays in the log until swept
    store.commit(List.of(WriteBatch.of("db", List.of(new Delta("c", "x", "a", NullNode.getInstance(), ts(old, 1, "w"))))));
    assertEquals(0, store.purgeTombstones("db", old + 10, 1, 100), "peers have confirmed seq 1 only");
    assertEquals(0, store.database("db").orElseThrow().purgedThrough(), "no peer is made to start over");
    assertEquals(1, store.database("db").orElseThrow().tombstones());
    assertEquals(1, store.purgeTombstones("db", old + 10, 2, 100), "once every peer has the tombstone, it goes");
    assertEquals(0, store.database("db").orElseThrow().tombstones());
  }

  @Test
  @DisplayName("a destroyed document is not purged while a register of it committed after the horizon is not at every peer")
  void purgeKeepsDestroyedDocumentsWithLateWrites() {
    long old = 1_700_000_000_000L;
    store.commit(List.of(WriteBatch.of("db", List.of(new Delta("c", "x", Delta.DELETED, BooleanNode.TRUE, ts(old, 5, "w")))))); // seq 1
    // older than the destroy, arriving after it: stored (seq 2), the document stays destroyed
    store.commit(List.of(WriteBatch.of("db", List.of(new Delta("c", "x", "a", IntNode.valueOf(1), ts(old, 1, "w"))))));
    assertEquals(0, store.purgeTombstones("db", old + 10, 1, 100), "seq 2 is not at every peer yet");
    assertEquals(0, store.database("db").orElseThrow().purgedThrough());
    assertEquals(2, store.database("db").orElseThrow().attributes());
    assertEquals(1, store.purgeTombstones("db", old + 10, 2, 100), "the whole document, once it is: its value first");
    assertEquals(0, store.purgeTombstones("db", old + 10, 2, 100), "its $deleted was committed again (seq 3), not at every peer yet");
    assertEquals(1, store.purgeTombstones("db", old + 10, 3, 100), "then its $deleted, at a later pass");
    assertEquals(0, store.database("db").orElseThrow().attributes());
    assertEquals(0, store.database("db").orElseThrow().documents());
  }

  @Test
  @DisplayName("a replicated delta keeps its origin and owner, and names where it came from")
  void replicatedDeltas() {
    Delta owner = new Delta("c", "d", Delta.OWNER, TextNode.valueOf("alice"), ts(1, 0, "client"));
    Delta title = new Delta("c", "d", "title", TextNode.valueOf("x"), ts(1, 0, "client"));
    BatchOutcome o = store.commit(List.of(WriteBatch.replicated("db", List.of(owner, title), "srv-b", null))).get(0);
    assertEquals(2, o.committed().size());
    assertEquals("srv-b", o.committed().get(1).source());
    assertEquals("alice", o.committed().get(1).owner(), "the owner came with the delta");
    assertEquals(ts(1, 0, "client"), o.committed().get(1).delta().ts());
  }

  @Test
  @DisplayName("destroying through a timestamp keeps what was written after it, under a new epoch, and agrees with a store that never had the rest")
  void destroyThroughKeepsNewer() throws IOException {
    List<Delta> old = List.of(
        new Delta("c", "a", "x", IntNode.valueOf(1), ts(10, 0, "w")),
        new Delta("c", "a", Delta.OWNER, TextNode.valueOf("alice"), ts(10, 0, "w")),
        new Delta("c", "b", "x", IntNode.valueOf(2), ts(20, 0, "w")));
    List<Delta> newer = List.of(
        new Delta("c", "a", "y", IntNode.valueOf(3), ts(40, 0, "w")),
        new Delta("c", "z", "x", NullNode.getInstance(), ts(50, 0, "w")));
    List<Delta> all = new ArrayList<>(old);
    all.addAll(newer);
    store.commit(List.of(WriteBatch.of("db", all)));
    DatabaseInfo before = store.database("db").orElseThrow();
    assertEquals(DestroyOutcome.TRIMMED, store.destroyThrough("db", ts(30, 0, "admin")));
    DatabaseInfo info = store.database("db").orElseThrow();
    assertNotEquals(before.epoch(), info.epoch(), "subscribers must start over");
    assertEquals(before.head() + 1, info.head(), "past the old head: a cursor at it is behind the purge");
    assertEquals(2, info.attributes());
    assertEquals(2, info.documents());
    assertEquals(1, info.tombstones());
    assertEquals(info.head(), info.purgedThrough());

    Path other = Files.createTempDirectory("syncline-store-trim");
    try (Store fresh = Store.openXodus(other, false, 8 << 20)) {
      fresh.createDatabase("db", 1);
      fresh.commit(List.of(WriteBatch.of("db", newer)));
      assertEquals(fresh.digest("db").orElseThrow().digest(), store.digest("db").orElseThrow().digest());
      fresh.destroyThrough("db", ts(30, 0, "admin"));
      assertEquals(List.of(Merge.Outcome.SUPERSEDED), fresh.commit(List.of(WriteBatch.of("db", List.of(old.get(0))))).get(0).outcomes(),
          "an old write arriving after the destroy stays out");
    }
    reopen();
    assertEquals(info, store.database("db").orElseThrow());
  }

  @Test
  @DisplayName("purge steps go on where the last stopped, reach tombstones behind more live registers than one step visits, and never pass the horizon")
  void purgeStepsCoverTheWholeLog() {
    long old = 1_700_000_000_000L;
    List<Delta> deltas = new ArrayList<>();
    for (int i = 0; i < 250; i++) deltas.add(new Delta("c", "live" + i, "a", IntNode.valueOf(i), ts(old, i, "w")));
    for (int i = 0; i < 10; i++) deltas.add(new Delta("c", "gone" + i, "a", NullNode.getInstance(), ts(old + 1, i, "w")));
    store.commit(List.of(WriteBatch.of("db", deltas)));
    long head = store.database("db").orElseThrow().head();

    assertEquals(0, store.purgeTombstones("db", old + 10, head - 5, 100), "steps 1..100");
    assertEquals(0, store.purgeTombstones("db", old + 10, head - 5, 100), "101..200");
    assertEquals(5, store.purgeTombstones("db", old + 10, head - 5, 100), "201..255: the horizon stops it");
    assertEquals(0, store.purgeTombstones("db", old + 10, head, 100), "starts over: 1..100");
    assertEquals(0, store.purgeTombstones("db", old + 10, head, 100), "101..200");
    assertEquals(5, store.purgeTombstones("db", old + 10, head, 100), "the rest, once the horizon allows");
    assertEquals(250, store.database("db").orElseThrow().attributes());
  }

  @Test
  @DisplayName("registers of chosen buckets come in pages that never split a document")
  void registersByBucket() {
    List<Delta> deltas = new ArrayList<>();
    for (int d = 0; d < 60; d++) for (int a = 0; a < 5; a++) deltas.add(new Delta("c", "doc" + d, "a" + a, IntNode.valueOf(a), ts(1, d * 5 + a, "w")));
    store.commit(List.of(WriteBatch.of("db", deltas)));
    BitSet some = new BitSet();
    Set<String> expected = new HashSet<>();
    for (int d = 0; d < 60; d += 2) {
      int b = Digests.bucketOf(Layout.documentPrefix("c", "doc" + d));
      some.set(b);
    }
    for (int d = 0; d < 60; d++) {
      if (some.get(Digests.bucketOf(Layout.documentPrefix("c", "doc" + d)))) for (int a = 0; a < 5; a++) expected.add("doc" + d + "/a" + a);
    }
    Set<String> got = new HashSet<>();
    byte[] after = null;
    int pages = 0;
    RegisterPage page;
    do {
      page = store.registersInBuckets("db", some, after, 7, 1 << 20, 0);
      Set<String> docsInPage = new HashSet<>();
      for (byte[] json : page.deltas()) {
        JsonNode d = readTree(json);
        assertTrue(got.add(d.get("id").asText() + "/" + d.get("attr").asText()), "each register once");
        docsInPage.add(d.get("id").asText());
      }
      for (String doc : docsInPage) {
        long inPage = page.deltas().stream().map(ReplicaStateStoreTest::readTree).filter(d -> d.get("id").asText().equals(doc)).count();
        assertEquals(5, inPage, "a document is never split across pages");
      }
      after = page.resumeKey();
      pages++;
    } while (page.more());
    assertEquals(expected, got);
    assertTrue(pages > 1);
  }

  @Test
  @DisplayName("the greatest timestamp committed survives a restart, so the clock never goes back")
  void clockHighWater() {
    assertNull(store.maxTimestamp());
    store.commit(List.of(WriteBatch.of("db", List.of(
        new Delta("c", "d", "a", IntNode.valueOf(1), ts(9_000, 3, "w")),
        new Delta("c", "d", "b", IntNode.valueOf(1), ts(5_000, 0, "w"))))));
    reopen();
    assertEquals(ts(9_000, 3, "w"), store.maxTimestamp());
  }

  @Test
  @DisplayName("a store written before digests existed (format 1) gets its entry hashes and digests at the first open")
  void upgradesFormatOne() {
    store.commit(List.of(WriteBatch.of("db", List.of(
        new Delta("c", "d", "a", IntNode.valueOf(1), ts(1, 0, "w")),
        new Delta("c", "e", "b", NullNode.getInstance(), ts(2, 0, "w"))))));
    DatabaseDigest before = store.digest("db").orElseThrow();
    store.close();
    // turn it back into format 1: document entries in their own table, registers without hashes,
    // no digests, no format mark
    Environment env = Environments.newInstance(dir.toFile());
    env.executeInExclusiveTransaction(txn -> {
      OldFormats.moveDocumentEntriesOut(env, txn);
      jetbrains.exodus.env.Store regs = env.openStore("reg:db", StoreConfig.WITHOUT_DUPLICATES_WITH_PREFIXING, txn);
      List<byte[][]> rewrite = new ArrayList<>();
      try (Cursor c = regs.openCursor(txn)) {
        while (c.getNext()) {
          byte[] v = Layout.copy(c.getValue());
          byte[] old = ByteBuffer.allocate(v.length - 8).put(v, 0, 9).put(v, 17, v.length - 17).array();
          rewrite.add(new byte[][] {Layout.copy(c.getKey()), old});
        }
      }
      rewrite.forEach(kv -> regs.put(txn, new ArrayByteIterable(kv[0]), new ArrayByteIterable(kv[1])));
      jetbrains.exodus.env.Store digests = env.openStore("$digests", StoreConfig.WITHOUT_DUPLICATES, txn);
      List<ArrayByteIterable> digestKeys = new ArrayList<>();
      try (Cursor c = digests.openCursor(txn)) {
        while (c.getNext()) digestKeys.add(new ArrayByteIterable(Layout.copy(c.getKey())));
      }
      assertFalse(digestKeys.isEmpty());
      digestKeys.forEach(k -> digests.delete(txn, k));
      env.openStore("$state", StoreConfig.WITHOUT_DUPLICATES, txn).delete(txn, StringBinding.stringToEntry("format"));
    });
    env.close();
    store = Store.openXodus(dir, true, 8 << 20);
    assertEquals(before.digest(), store.digest("db").orElseThrow().digest());
    assertEquals(List.of(Merge.Outcome.DUPLICATE), store.commit(List.of(WriteBatch.of("db", List.of(
        new Delta("c", "d", "a", IntNode.valueOf(1), ts(1, 0, "w")))))).get(0).outcomes(), "registers read as before");
    assertEquals(2, store.database("db").orElseThrow().documents());
    store.close();
    assertFalse(OldFormats.hasTable(dir, "doc:db"), "document entries moved beside the registers");
    store = Store.openXodus(dir, true, 8 << 20);
  }

  @Test
  @DisplayName("digests read back from disk bucket for bucket after random writes, removals, trims and purges, each followed by a reopen")
  void digestsSurviveReopen() {
    long seed = Long.getLong("syncline.seed", System.nanoTime()); // -Dsyncline.seed=N replays a run
    Random rnd = new Random(seed);
    long ms = 1_000;
    for (int round = 0; round < 12; round++) {
      List<Delta> deltas = new ArrayList<>();
      for (int i = 0; i < 1 + rnd.nextInt(80); i++) {
        String id = "d" + rnd.nextInt(40);
        JsonNode value = rnd.nextInt(4) == 0 ? NullNode.getInstance() : IntNode.valueOf(rnd.nextInt(100));
        deltas.add(new Delta("c", id, "a" + rnd.nextInt(3), value, ts(ms++, 0, "w")));
      }
      store.commit(List.of(WriteBatch.of("db", deltas)));
      switch (rnd.nextInt(3)) {
        case 0 -> store.purgeTombstones("db", Long.MAX_VALUE, Long.MAX_VALUE, 1000);
        case 1 -> store.destroyThrough("db", ts(ms - rnd.nextInt(40), 0, "admin"));
        default -> { }
      }
      long[] before = store.digest("db").map(DatabaseDigest::buckets).orElse(null);
      reopen();
      long[] after = store.digest("db").map(DatabaseDigest::buckets).orElse(null);
      assertArrayEquals(before, after, "round " + round + ", seed " + seed);
      if (after == null) store.createDatabase("db", ms);
    }
  }

  @Test
  @DisplayName("counts and digest always equal a fresh store's given only the stored registers: random writes to new and "
      + "existing documents (owned ones too), removals, destroys, purges, trims and reopens")
  void bookkeepingFollowsTheRegisters() throws IOException {
    long seed = Long.getLong("syncline.seed", System.nanoTime()); // -Dsyncline.seed=N replays a run
    Random rnd = new Random(seed);
    long ms = 1_000;
    String destroying = null;
    for (int round = 0; round < 40; round++) {
      String context = "round " + round + ", seed " + seed;
      List<Delta> deltas = new ArrayList<>();
      for (int i = 0; i < 1 + rnd.nextInt(30); i++) {
        String id = "d" + rnd.nextInt(25);
        int kind = rnd.nextInt(10);
        String attr = kind == 0 ? Delta.DELETED : kind == 1 ? Delta.OWNER : "a" + rnd.nextInt(3);
        JsonNode value = switch (kind) {
          case 0 -> BooleanNode.valueOf(rnd.nextInt(3) > 0);
          case 1 -> TextNode.valueOf(rnd.nextBoolean() ? "alice" : "bob");
          default -> rnd.nextInt(4) == 0 ? NullNode.getInstance() : IntNode.valueOf(rnd.nextInt(100));
        };
        // now and then stamped in the past, so some writes lose to what is stored
        deltas.add(new Delta("c", id, attr, value, ts(rnd.nextInt(6) == 0 ? ms - 20 : ms++, i, "w")));
      }
      // a signed-in writer makes the $owner of each document it creates
      store.commit(List.of(WriteBatch.of("db", deltas, rnd.nextBoolean() ? "alice" : null, null)));
      switch (rnd.nextInt(6)) {
        case 0 -> {
          long cut = ms - rnd.nextInt(30);
          store.purgeTombstones("db", cut, Long.MAX_VALUE, cut - rnd.nextInt(30), Long.MAX_VALUE, 1 + rnd.nextInt(200));
        }
        case 1 -> destroying = ts(ms - rnd.nextInt(60), 0, "admin"); // in steps, with the next rounds' writes between
        case 2 -> reopen(); // a destroy under way starts over at its next step
        default -> { }
      }
      if (destroying != null && store.destroyStep("db", destroying, 1 + rnd.nextInt(12)) != DestroyOutcome.MORE) {
        destroying = null;
      }
      if (store.database("db").isEmpty()) {
        store.createDatabase("db", ms);
        continue;
      }
      assertMatchesItsRegisters(context);
    }
  }

  /** Loads every register of {@code db} into a fresh store and compares the counts and digest. */
  private void assertMatchesItsRegisters(String context) throws IOException {
    List<Delta> registers = new ArrayList<>();
    byte[] after = null;
    RegisterPage page;
    do {
      page = store.registersInBuckets("db", all(), after, 100, 1 << 20, 0);
      for (byte[] json : page.deltas()) registers.add(dev.syncline.protocol.MessageCodec.decodeStoredDelta(readTree(json)));
      after = page.resumeKey();
    } while (page.more());
    Path other = Files.createTempDirectory("syncline-store-rebuilt");
    try (Store rebuilt = Store.openXodus(other, false, 8 << 20)) {
      rebuilt.createDatabase("db", 1);
      if (!registers.isEmpty()) rebuilt.commit(List.of(WriteBatch.replicated("db", registers, "peer", null)));
      DatabaseInfo want = rebuilt.database("db").orElseThrow();
      DatabaseInfo got = store.database("db").orElseThrow();
      assertEquals(List.of(want.documents(), want.attributes(), want.tombstones()),
          List.of(got.documents(), got.attributes(), got.tombstones()), "documents, attributes, tombstones; " + context);
      assertArrayEquals(rebuilt.digest("db").orElseThrow().buckets(), store.digest("db").orElseThrow().buckets(), context);
    } finally {
      try (var files = Files.walk(other)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  @Test
  @DisplayName("a store that kept each digest as one whole array opens with the same digest, and goes on from it in chunks")
  void readsWholeArrayDigests() throws IOException {
    List<Delta> first = List.of(
        new Delta("c", "d", "a", IntNode.valueOf(1), ts(1, 0, "w")),
        new Delta("c", "e", "b", NullNode.getInstance(), ts(2, 0, "w")),
        new Delta("k", "f", "a", IntNode.valueOf(3), ts(3, 0, "w")));
    store.commit(List.of(WriteBatch.of("db", first)));
    long[] buckets = store.digest("db").orElseThrow().buckets();
    store.close();
    // the layout before chunks: the whole array under the database's name
    Environment env = Environments.newInstance(dir.toFile());
    env.executeInExclusiveTransaction(txn -> {
      jetbrains.exodus.env.Store digests = env.openStore("$digests", StoreConfig.WITHOUT_DUPLICATES, txn);
      List<ArrayByteIterable> keys = new ArrayList<>();
      try (Cursor c = digests.openCursor(txn)) {
        while (c.getNext()) keys.add(new ArrayByteIterable(Layout.copy(c.getKey())));
      }
      keys.forEach(k -> digests.delete(txn, k));
      ByteBuffer whole = ByteBuffer.allocate(Digests.BUCKETS * 8);
      for (long b : buckets) whole.putLong(b);
      digests.put(txn, StringBinding.stringToEntry("db"), new ArrayByteIterable(whole.array()));
    });
    env.close();
    store = Store.openXodus(dir, true, 8 << 20);
    assertArrayEquals(buckets, store.digest("db").orElseThrow().buckets());

    Delta later = new Delta("c", "d", "a", IntNode.valueOf(2), ts(4, 0, "w"));
    store.commit(List.of(WriteBatch.of("db", List.of(later))));
    reopen();
    Path other = Files.createTempDirectory("syncline-store-other");
    try (Store fresh = Store.openXodus(other, false, 8 << 20)) {
      fresh.createDatabase("db", 1);
      fresh.commit(List.of(WriteBatch.of("db", first)));
      fresh.commit(List.of(WriteBatch.of("db", List.of(later))));
      assertArrayEquals(fresh.digest("db").orElseThrow().buckets(), store.digest("db").orElseThrow().buckets());
    }
  }

  private static BitSet all() {
    BitSet b = new BitSet();
    b.set(0, Digests.BUCKETS);
    return b;
  }

  private static String ts(long ms, int counter, String origin) {
    return new Hlc(ms, counter, origin).format();
  }

  private static JsonNode readTree(byte[] json) {
    try {
      return Json.MAPPER.readTree(json);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }
}
