package dev.syncline.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.Merge;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The Xodus store against a reference model")
class XodusStoreTest extends StoreTestBase {

  record Reg(JsonNode value, String ts, long seq) {}

  static String key(Delta d) {
    return d.col() + "/" + d.id() + "/" + d.attr();
  }

  @Test
  @DisplayName("random groups of deltas and sweeps: outcomes, registers, compacted log and counters match the model, also after reopening with superseded entries not yet swept, and after sweeping them")
  void randomAgainstModel() {
    long seed = Long.getLong("syncline.seed", System.nanoTime()); // -Dsyncline.seed=N replays a run
    Random rnd = new Random(seed);
    Map<String, Reg> model = new HashMap<>();
    long head = 0;
    for (int group = 0; group < 200; group++) {
      List<WriteBatch> batches = new ArrayList<>();
      List<List<Delta>> deltasPerBatch = new ArrayList<>();
      for (int b = 0, n = 1 + rnd.nextInt(4); b < n; b++) {
        List<Delta> deltas = new ArrayList<>();
        for (int i = 0, m = 1 + rnd.nextInt(10); i < m; i++) deltas.add(rnd.nextInt(15) == 0 ? null : randomDelta(rnd));
        batches.add(WriteBatch.of("db", deltas));
        deltasPerBatch.add(deltas);
      }
      List<BatchOutcome> outcomes = store.commit(batches);
      if (rnd.nextInt(8) == 0) store.sweepLog(1 + rnd.nextInt(20));
      for (int b = 0; b < batches.size(); b++) {
        BatchOutcome o = outcomes.get(b);
        List<Delta> deltas = deltasPerBatch.get(b);
        int committed = 0;
        for (int i = 0; i < deltas.size(); i++) {
          Delta d = deltas.get(i);
          if (d == null) {
            assertNull(o.outcomes().get(i), "seed " + seed);
            continue;
          }
          Reg old = model.get(key(d));
          Merge.Outcome expected = Merge.decide(old == null ? null : old.ts(), old == null ? null : old.value(), d.ts(), d.value());
          assertEquals(expected, o.outcomes().get(i), "seed " + seed + " delta " + d);
          if (expected == Merge.Outcome.APPLIED) {
            head++;
            model.put(key(d), new Reg(d.value(), d.ts(), head));
            CommittedDelta c = o.committed().get(committed++);
            assertEquals(head, c.delta().seq(), "seq " + seed);
            assertEquals(d.withSeq(head), Json.MAPPER.convertValue(readTree(c.json()), DeltaView.class).toDelta());
          }
        }
        assertEquals(committed, o.committed().size());
        assertEquals(head, o.head());
      }
    }
    // one more overwrite, newer than everything, so that the reopen below has one to list at least
    String last = model.keySet().stream().filter(k -> !k.endsWith("/" + Delta.DELETED)).findFirst().orElseThrow();
    String[] parts = last.split("/");
    Delta newest = new Delta(parts[0], parts[1], parts[2], IntNode.valueOf(1000), ts(1_700_000_100_000L, 0));
    assertEquals(Merge.Outcome.APPLIED, store.commit(List.of(WriteBatch.of("db", List.of(newest)))).get(0).outcomes().get(0));
    model.put(last, new Reg(newest.value(), newest.ts(), ++head));
    assertMatches(model, head, seed);
    long stale = store.staleLogEntries();
    assertTrue(stale > 0, "seed " + seed + ": some superseded entries wait for a sweep");
    reopen();
    assertEquals(stale, store.staleLogEntries(), "seed " + seed + ": the list of superseded entries is stored");
    assertMatches(model, head, seed);
    assertEquals(stale, store.sweepLog(Integer.MAX_VALUE), "seed " + seed);
    assertEquals(0, store.staleLogEntries());
    assertMatches(model, head, seed);
    reopen();
    assertMatches(model, head, seed);
  }

  private void assertMatches(Map<String, Reg> model, long head, long seed) {
    DatabaseInfo info = store.database("db").orElseThrow();
    assertEquals(head, info.head(), "seed " + seed);
    assertEquals(model.size(), info.attributes());
    assertEquals(model.values().stream().filter(r -> r.value().isNull()).count(), info.tombstones());
    assertEquals(model.keySet().stream().map(k -> k.substring(0, k.lastIndexOf('/'))).distinct().count(), info.documents());

    // the log holds exactly one entry per register: its newest value, at its seq, in seq order
    ChangePage page = store.changesSince("db", null, 0, Integer.MAX_VALUE, Integer.MAX_VALUE);
    assertFalse(page.more());
    assertEquals(head, page.seq());
    assertEquals(model.size(), page.deltas().size());
    long lastSeq = 0;
    for (byte[] json : page.deltas()) {
      Delta d = Json.MAPPER.convertValue(readTree(json), DeltaView.class).toDelta();
      assertTrue(d.seq() > lastSeq);
      lastSeq = d.seq();
      Reg r = model.get(key(d));
      assertEquals(r.ts(), d.ts(), "seed " + seed);
      assertEquals(r.value(), d.value());
      assertEquals(r.seq(), d.seq());
    }
    for (String col : List.of("c0", "c1")) {
      Map<String, Reg> expected = new HashMap<>();
      model.forEach((k, r) -> {
        if (k.startsWith(col + "/")) expected.put(k, r);
      });
      Map<String, Reg> stored = new HashMap<>();
      for (Delta d : store.registers("db", col)) {
        assertNull(stored.put(key(d), new Reg(d.value(), d.ts(), d.seq())), "seed " + seed + ": one value per register");
      }
      assertEquals(expected, stored, "seed " + seed);
    }
  }

  private static Delta randomDelta(Random rnd) {
    String attr = rnd.nextInt(8) == 0 ? Delta.DELETED : "a" + rnd.nextInt(3);
    JsonNode value = attr.equals(Delta.DELETED) ? BooleanNode.valueOf(rnd.nextBoolean())
        : rnd.nextInt(5) == 0 ? NullNode.getInstance() : IntNode.valueOf(rnd.nextInt(100));
    String ts = new Hlc(1_700_000_000_000L + rnd.nextInt(50), rnd.nextInt(4), "o" + rnd.nextInt(3)).format();
    return new Delta("c" + rnd.nextInt(2), "d" + rnd.nextInt(4), attr, value, ts);
  }

  @Test
  @DisplayName("changes are paged in seq order and filtered by collection; the cursor covers skipped entries")
  void pagingAndFiltering() {
    List<Delta> deltas = new ArrayList<>();
    for (int i = 0; i < 25; i++) deltas.add(new Delta(i % 2 == 0 ? "even" : "odd", "d" + i, "v", IntNode.valueOf(i), ts(i)));
    store.commit(List.of(WriteBatch.of("db", deltas)));

    List<Long> seen = new ArrayList<>();
    long cursor = 0;
    ChangePage page;
    do {
      page = store.changesSince("db", null, cursor, 7, Integer.MAX_VALUE);
      assertTrue(page.deltas().size() <= 7);
      for (byte[] json : page.deltas()) seen.add(readTree(json).get("seq").asLong());
      cursor = page.seq();
    } while (page.more());
    assertEquals(25, seen.size());
    for (int i = 0; i < 25; i++) assertEquals(i + 1, seen.get(i));

    ChangePage odd = store.changesSince("db", Set.of("odd"), 0, 100, Integer.MAX_VALUE);
    assertEquals(12, odd.deltas().size());
    for (byte[] json : odd.deltas()) assertEquals("odd", readTree(json).get("col").asText());
    assertEquals(25, odd.seq(), "the cursor moves to the head even when the last entries were filtered out");

    ChangePage small = store.changesSince("db", null, 0, 100, 100);
    assertTrue(small.more() && small.deltas().size() < 25, "a byte budget also ends a page");
  }

  @Test
  @DisplayName("a page looks at a bounded number of log entries: a reader who may see none of them gets empty pages that go on, "
      + "not one read of the whole log")
  void pageScansABoundedPartOfTheLog() {
    int entries = SnapshotReads.MIN_SCANNED * 2 + 100;
    List<Delta> deltas = new ArrayList<>();
    for (int i = 0; i < entries; i++) deltas.add(new Delta("seen", "d" + i, "v", IntNode.valueOf(i), ts(i)));
    store.commit(List.of(WriteBatch.of("db", deltas)));
    store.commit(List.of(WriteBatch.of("db", List.of(new Delta("last", "d", "v", IntNode.valueOf(1), ts(entries))))));

    List<ChangePage> pages = new ArrayList<>();
    long cursor = 0;
    do {
      pages.add(store.changesSince("db", Set.of("last"), cursor, 100, Integer.MAX_VALUE));
      assertTrue(pages.get(pages.size() - 1).seq() > cursor, "each page moves the cursor");
      cursor = pages.get(pages.size() - 1).seq();
    } while (pages.get(pages.size() - 1).more());
    assertEquals(3, pages.size(), "pages of " + SnapshotReads.MIN_SCANNED + " entries looked at");
    assertEquals(SnapshotReads.MIN_SCANNED, pages.get(0).seq());
    assertTrue(pages.get(0).deltas().isEmpty() && pages.get(1).deltas().isEmpty());
    assertEquals(1, pages.get(2).deltas().size(), "the one change it may see");
    assertEquals(entries + 1, pages.get(2).seq());
  }

  @Test
  @DisplayName("tombstones and destroyed documents older than the cutoff are purged; the purge point moves; newer data stays")
  void purge() {
    long old = 1_700_000_000_000L;
    long recent = old + 1_000_000;
    store.commit(List.of(WriteBatch.of("db", List.of(
        new Delta("c", "keep", "a", IntNode.valueOf(1), ts(old, 0)),
        new Delta("c", "keep", "gone", NullNode.getInstance(), ts(old, 1)),
        new Delta("c", "destroyed", "a", IntNode.valueOf(2), ts(old, 2)),
        new Delta("c", "destroyed", Delta.DELETED, BooleanNode.TRUE, ts(old, 3)),
        new Delta("c", "revived", "a", IntNode.valueOf(3), ts(old, 4)),
        new Delta("c", "revived", Delta.DELETED, BooleanNode.TRUE, ts(old, 5)),
        new Delta("c", "revived", "b", IntNode.valueOf(4), ts(recent, 0)),
        new Delta("c", "fresh", "gone", NullNode.getInstance(), ts(recent, 1))))));
    DatabaseInfo before = store.database("db").orElseThrow();
    assertEquals(8, before.attributes());

    int removed = store.purgeTombstones("db", old + 10, Long.MAX_VALUE, 1000);
    assertEquals(2, removed, "the old tombstone and the destroyed document's value");
    assertEquals(1, store.purgeTombstones("db", old + 10, Long.MAX_VALUE, 1000), "its $deleted, at the next pass");
    DatabaseInfo after = store.database("db").orElseThrow();
    assertEquals(5, after.attributes());
    assertEquals(1, after.tombstones(), "the recent tombstone stays");
    assertEquals(3, after.documents(), "keep, revived and fresh");
    assertEquals(9, after.purgedThrough(), "the highest purged seq: the $deleted's, committed again when its value went");
    Set<String> left = new HashSet<>();
    for (byte[] json : store.changesSince("db", null, 0, 100, Integer.MAX_VALUE).deltas()) {
      JsonNode d = readTree(json);
      left.add(d.get("id").asText() + "/" + d.get("attr").asText());
    }
    assertEquals(Set.of("keep/a", "revived/a", "revived/$deleted", "revived/b", "fresh/gone"), left);
    assertEquals(0, store.purgeTombstones("db", old + 10, Long.MAX_VALUE, 1000), "nothing more to purge");
    reopen();
    assertEquals(after, store.database("db").orElseThrow(), "metadata is stored with the data");
  }

  @Test
  @DisplayName("a destroyed document's values are purged first, its $deleted later: a catch-up from 0 that was sent the values before the purge still gets the $deleted, also when both limits pass at once")
  void destroyedDocumentPurgedInTwoSteps() {
    long old = 1_700_000_000_000L;
    List<Delta> deltas = new ArrayList<>();
    deltas.add(new Delta("c", "gone", "title", TextNode.valueOf("old"), ts(old, 0)));
    for (int i = 0; i < 5; i++) deltas.add(new Delta("c", "other" + i, "a", IntNode.valueOf(i), ts(old, 1 + i)));
    deltas.add(new Delta("c", "gone", Delta.DELETED, BooleanNode.TRUE, ts(old, 9)));
    store.commit(List.of(WriteBatch.of("db", deltas)));
    ChangePage first = store.changesSince("db", null, 0, 3, Integer.MAX_VALUE);
    assertTrue(idsAndAttrs(first).contains("gone/title"), "the first page sends the value");

    assertEquals(1, store.purgeTombstones("db", old + 10, 7, old + 10, 7, 1000),
        "the value goes; never the $deleted with it, though old enough for the second step");
    DatabaseInfo afterValues = store.database("db").orElseThrow();
    assertEquals(0, afterValues.purgedThrough(), "no client's copy needs a resync for that");
    assertEquals(8, afterValues.head(), "the $deleted is committed again, after every cursor");
    // the next step, with the same limits, comes before the catch-up reads on (a purge step a
    // minute later, both limits long passed: a server stopped for long)
    assertEquals(0, store.purgeTombstones("db", old + 10, 7, old + 10, 7, 1000), "its new commit is past the limits");
    Set<String> rest = idsAndAttrs(store.changesSince("db", null, first.seq(), 100, Integer.MAX_VALUE));
    assertTrue(rest.contains("gone/$deleted"), "the catch-up goes on to the $deleted that hides what it sent: " + rest);
    ChangePage again = store.changesSince("db", null, 7, 100, Integer.MAX_VALUE);
    assertEquals(1, again.deltas().size(), "a cursor past its first commit gets it once more, as a duplicate");
    JsonNode marked = readTree(again.deltas().get(0));
    assertEquals(ts(old, 9), marked.get("ts").asText());
    assertTrue(marked.path("valuesPurged").asBoolean(), "marked, so that clients drop the values it hides: " + marked);
    assertEquals(8, marked.get("seq").asLong());

    assertEquals(0, store.purgeTombstones("db", old + 10, 8, old - 1, 8, 1000), "not old enough alone");
    assertEquals(1, store.purgeTombstones("db", old + 10, 8, old + 10, 8, 1000), "then the $deleted goes");
    DatabaseInfo after = store.database("db").orElseThrow();
    assertEquals(8, after.purgedThrough());
    assertEquals(5, after.documents());
    assertFalse(idsAndAttrs(store.changesSince("db", null, 0, 100, Integer.MAX_VALUE)).contains("gone/$deleted"));
    reopen();
    assertEquals(after, store.database("db").orElseThrow());
  }

  @Test
  @DisplayName("a destroyed document's $owner stays when its values go, and goes with its $deleted: a replica that gets the "
      + "document from the purged log judges a later write by the same owner")
  void ownerKeptThroughTheValuesPurge() {
    long old = 1_700_000_000_000L;
    List<Delta> destroyed = new ArrayList<>();
    for (String id : List.of("kept", "gone")) {
      destroyed.add(new Delta("c", id, "title", TextNode.valueOf("old"), ts(old, 0)));
      destroyed.add(new Delta("c", id, Delta.DELETED, BooleanNode.TRUE, ts(old, 9)));
    }
    store.commit(List.of(WriteBatch.of("db", destroyed, "u", null)));
    assertEquals(2, store.purgeTombstones("db", old + 10, 6, old + 10, 6, 1000), "both titles go");
    assertEquals(Set.of("kept/$owner", "kept/$deleted", "gone/$owner", "gone/$deleted"),
        idsAndAttrs(store.changesSince("db", null, 0, 100, Integer.MAX_VALUE)));

    // a new replica, from the purged log
    store.createDatabase("copy", old);
    List<Delta> feed = new ArrayList<>();
    for (byte[] json : store.changesSince("db", null, 0, 100, Integer.MAX_VALUE).deltas()) feed.add(Json.MAPPER.convertValue(readTree(json), Delta.class));
    store.commit(List.of(WriteBatch.replicated("copy", feed, "peer", null)));
    assertEquals(store.digest("db").orElseThrow().digest(), store.digest("copy").orElseThrow().digest());
    for (String db : List.of("db", "copy")) {
      List<String> asked = new ArrayList<>();
      WriteGuard recording = (col, action, owner) -> asked.add(action + " " + owner);
      store.commit(List.of(WriteBatch.of(db, List.of(
          new Delta("c", "kept", "title", TextNode.valueOf("new"), ts(old + 100, 0))), "u", recording)));
      assertEquals(List.of("UPDATE u"), asked, db);
    }

    assertEquals(2, store.purgeTombstones("db", old + 10, 10, old + 10, 10, 1000), "then the $deleted and the $owner");
    assertEquals(Set.of("kept/$owner", "kept/$deleted", "kept/title"),
        idsAndAttrs(store.changesSince("db", null, 0, 100, Integer.MAX_VALUE)), "one written since the destroy stays whole");
    DatabaseInfo after = store.database("db").orElseThrow();
    assertEquals(1, after.documents());
    assertEquals(3, after.attributes());
  }

  @Test
  @DisplayName("review: after the purge's marked commit, a peer's late value stamped before the $deleted goes in once a newer write "
      + "made the document visible, and a catch-up page holds it after the marked $deleted")
  void lateValueAfterTheMarkedCommit() {
    long old = System.currentTimeMillis() - 10 * 86_400_000L;
    store.commit(List.of(WriteBatch.of("db", List.of(
        new Delta("c", "gone", "title", TextNode.valueOf("old"), ts(old, 0)),
        new Delta("c", "gone", Delta.DELETED, BooleanNode.TRUE, ts(old, 9))))));
    assertEquals(1, store.purgeTombstones("db", old + 10, 2, old + 10, 2, 1000));
    store.commit(List.of(WriteBatch.of("db", List.of(
        new Delta("c", "gone", "note", TextNode.valueOf("new"), ts(System.currentTimeMillis(), 0))))));
    store.commit(List.of(WriteBatch.replicated("db", List.of(
        new Delta("c", "gone", "late", TextNode.valueOf("held"), ts(old, 5))), "peer", null).withDestroyRetention(86_400_000L)));
    List<String> page = new ArrayList<>();
    for (byte[] json : store.changesSince("db", null, 2, 100, Integer.MAX_VALUE).deltas()) {
      JsonNode d = readTree(json);
      page.add(d.get("attr").asText() + (d.path("valuesPurged").asBoolean() ? "*" : ""));
    }
    assertEquals(List.of("$deleted*", "note", "late"), page);
  }

  @Test
  @DisplayName("a $deleted left alone by an older version (its values purged, not committed again) is committed again before it goes")
  void loneDeletedCommittedAgainFirst() {
    long old = 1_700_000_000_000L;
    store.commit(List.of(WriteBatch.of("db", List.of(
        new Delta("c", "keep", "a", IntNode.valueOf(1), ts(old, 0)),
        new Delta("c", "gone", Delta.DELETED, BooleanNode.TRUE, ts(old, 1))))));
    assertEquals(0, store.purgeTombstones("db", old + 10, 2, old + 10, 2, 1000), "nothing removed yet");
    assertEquals(3, store.database("db").orElseThrow().head(), "committed again");
    assertEquals(2, store.database("db").orElseThrow().attributes());
    assertEquals(1, store.purgeTombstones("db", old + 10, 3, old + 10, 3, 1000), "then it goes");
    assertEquals(1, store.database("db").orElseThrow().attributes());
  }

  @Test
  @DisplayName("a document destroyed twice (a superseded $deleted entry not swept yet) still loses its values and its $deleted in two calls")
  void destroyedTwicePurgedInTwoCalls() {
    long old = 1_700_000_000_000L;
    store.commit(List.of(WriteBatch.of("db", List.of(new Delta("c", "gone", "title", TextNode.valueOf("old"), ts(old, 0))))));
    store.commit(List.of(WriteBatch.of("db", List.of(new Delta("c", "gone", Delta.DELETED, BooleanNode.TRUE, ts(old, 1))))));
    store.commit(List.of(WriteBatch.of("db", List.of(new Delta("c", "gone", Delta.DELETED, BooleanNode.TRUE, ts(old, 2))))));
    assertEquals(1, store.purgeTombstones("db", old + 10, Long.MAX_VALUE, old + 10, Long.MAX_VALUE, 1000), "the value only");
    assertEquals(1, store.purgeTombstones("db", old + 10, Long.MAX_VALUE, old + 10, Long.MAX_VALUE, 1000), "then the $deleted");
  }

  @Test
  @DisplayName("a purge step between the steps of a big database's destroy commits nothing again: the destroy still drops it whole")
  void purgeWaitsForADestroyUnderWay() {
    long old = 1_700_000_000_000L;
    List<Delta> deltas = new ArrayList<>();
    for (int i = 0; i < 60; i++) deltas.add(new Delta("c", "d" + i, "a", IntNode.valueOf(i), ts(old, i)));
    deltas.add(new Delta("c", "d0", Delta.DELETED, BooleanNode.TRUE, ts(old, 100)));
    store.commit(List.of(WriteBatch.of("db", deltas)));
    String floor = ts(old + 1000, 0);
    assertEquals(DestroyOutcome.MORE, store.destroyStep("db", floor, 2), "a big one is looked through in parts");
    long head = store.database("db").orElseThrow().head();
    PurgeOutcome step = store.purge("db", old + 10, head, old + 10, head, 1000);
    assertEquals(0, step.removed() + step.recommitted().committed().size(), "the purge leaves it to the destroy");
    DestroyOutcome outcome;
    do {
      outcome = store.destroyStep("db", floor, 2);
    } while (outcome == DestroyOutcome.MORE);
    assertEquals(DestroyOutcome.REMOVED, outcome, "nothing written after the floor: dropped whole");
    assertTrue(store.database("db").isEmpty());
  }

  @Test
  @DisplayName("a peer's destroy older than the retention, of a document not held here, is purged a retention on without being "
      + "committed and sent on again")
  void peersOldDestroyOfAnAbsentDocumentNotSentOn() {
    long old = 1_700_000_000_000L;
    store.commit(List.of(WriteBatch.of("db", List.of(new Delta("c", "keep", "a", IntNode.valueOf(1), ts(old, 0))))));
    Delta destroy = new Delta("c", "gone", Delta.DELETED, BooleanNode.TRUE, ts(old, 1));
    // a peer committing it again as it purges the values, after this server purged the document whole
    BatchOutcome back = store.commit(List.of(WriteBatch.fromFeed("db", List.of(destroy), "peer-h", null, 0)
        .withDestroyRetention(10))).get(0);
    assertEquals(List.of(Merge.Outcome.APPLIED), back.outcomes(), "taken: it may still have to hide a late write");
    long head = store.database("db").orElseThrow().head();
    PurgeOutcome step = store.purge("db", old + 10, head, old + 10, head, 1000);
    assertEquals(List.of(), step.recommitted().committed(), "not committed and sent on again");
    assertEquals(1, step.removed(), "gone once its commit here is old enough");
  }

  @Test
  @DisplayName("review: a new replica that takes a destroyed document from a purged log ($owner, then the marked $deleted) "
      + "purges it a retention on without committing the $deleted again and sending it on, as when it had no $owner")
  void purgedLogWithOwnerNotSentOnAgain() {
    long old = 1_700_000_000_000L;
    store.createDatabase("src", old);
    store.commit(List.of(WriteBatch.of("src", List.of(
        new Delta("c", "gone", "title", TextNode.valueOf("old"), ts(old, 0)),
        new Delta("c", "gone", Delta.DELETED, BooleanNode.TRUE, ts(old, 1))), "u", null)));
    assertEquals(1, store.purgeTombstones("src", old + 10, 3, old + 10, 3, 1000), "the title goes, the $owner stays");
    List<Delta> feed = new ArrayList<>();
    for (byte[] json : store.changesSince("src", null, 0, 100, Integer.MAX_VALUE).deltas()) {
      feed.add(Json.MAPPER.convertValue(readTree(json), Delta.class));
    }
    assertEquals(List.of(Delta.OWNER, Delta.DELETED), feed.stream().map(Delta::attr).toList(), "the purged log, in seq order");
    store.createDatabase("db", old);
    store.commit(List.of(WriteBatch.fromFeed("db", feed, "peer-h", null, 0).withDestroyRetention(10)));
    long head = store.database("db").orElseThrow().head();
    PurgeOutcome step = store.purge("db", old + 10, head, old + 10, head, 1000);
    assertEquals(List.of(), step.recommitted().committed(), "not committed and sent on again");
    assertEquals(2, step.removed(), "gone, $owner and $deleted, once its commit here is old enough");
  }

  private Set<String> idsAndAttrs(ChangePage page) {
    Set<String> out = new HashSet<>();
    for (byte[] json : page.deltas()) {
      JsonNode d = readTree(json);
      out.add(d.get("id").asText() + "/" + d.get("attr").asText());
    }
    return out;
  }

  @Test
  @DisplayName("a destroyed database is gone with its data; created again, it starts from seq 0 with a new epoch, and what was written before the destroy stays out")
  void destroyAndCreate() {
    store.commit(List.of(WriteBatch.of("db", List.of(new Delta("c", "d", "a", IntNode.valueOf(1), ts(0))))));
    store.commit(List.of(WriteBatch.of("db", List.of(new Delta("c", "d", "a", IntNode.valueOf(2), ts(1))))));
    assertEquals(1, store.staleLogEntries(), "the first value's entry waits for a sweep");
    String epoch = store.database("db").orElseThrow().epoch();
    assertEquals(DestroyOutcome.REMOVED, store.destroyThrough("db", ts(5)));
    assertEquals(0, store.staleLogEntries(), "gone with the database");
    assertEquals(DestroyOutcome.ABSENT, store.destroyThrough("db", ts(5)));
    assertTrue(store.database("db").isEmpty());
    assertTrue(store.commit(List.of(WriteBatch.of("db", List.of(new Delta("c", "d", "a", IntNode.valueOf(1), ts(1)))))).get(0).missing());
    assertTrue(store.createDatabase("db", 2).isPresent());
    assertTrue(store.createDatabase("db", 3).isEmpty(), "creating twice is a no-op");
    DatabaseInfo again = store.database("db").orElseThrow();
    assertEquals(0, again.head());
    assertTrue(!epoch.equals(again.epoch()));
    assertTrue(again.createdAt() > Hlc.msOf(ts(5)), "the new life starts after the destroy");
    assertEquals(0, store.changesSince("db", null, 0, 10, Integer.MAX_VALUE).deltas().size());
    List<Merge.Outcome> late = store.commit(List.of(WriteBatch.of("db", List.of(
        new Delta("c", "d", "a", IntNode.valueOf(1), ts(4)), new Delta("c", "d", "b", IntNode.valueOf(2), ts(6)))))).get(0).outcomes();
    assertEquals(List.of(Merge.Outcome.SUPERSEDED, Merge.Outcome.APPLIED), late, "written before the destroy: superseded");
    reopen();
    assertEquals(ts(5), store.floor("db"), "the floor is stored");
    assertEquals(1, store.database("db").orElseThrow().attributes());
    assertEquals(0, store.staleLogEntries(), "the new life does not inherit the old one's list");
    assertEquals(1, store.changesSince("db", null, 0, 10, Integer.MAX_VALUE).deltas().size());
  }

  @Test
  @DisplayName("a store this server refuses to open (a newer format) is left unlocked: opening it again says the same, not 'locked'")
  void refusedOpenReleasesTheFolder() {
    store.close();
    jetbrains.exodus.env.Environment env = jetbrains.exodus.env.Environments.newInstance(dir.toFile());
    env.executeInExclusiveTransaction(txn -> env.openStore("$state", jetbrains.exodus.env.StoreConfig.WITHOUT_DUPLICATES, txn)
        .put(txn, jetbrains.exodus.bindings.StringBinding.stringToEntry("format"), jetbrains.exodus.bindings.StringBinding.stringToEntry("99")));
    env.close();
    for (int attempt = 0; attempt < 2; attempt++) {
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> Store.openXodus(dir, true, 8 << 20));
      assertTrue(e.getMessage().contains("newer than this server's"), e.getMessage());
    }
    // back to this server's format: the folder opens in this process, its data intact
    jetbrains.exodus.env.Environment again = jetbrains.exodus.env.Environments.newInstance(dir.toFile());
    again.executeInExclusiveTransaction(txn -> again.openStore("$state", jetbrains.exodus.env.StoreConfig.WITHOUT_DUPLICATES, txn)
        .put(txn, jetbrains.exodus.bindings.StringBinding.stringToEntry("format"),
            jetbrains.exodus.bindings.StringBinding.stringToEntry(Integer.toString(XodusStore.FORMAT))));
    again.close();
    store = Store.openXodus(dir, true, 8 << 20);
    assertTrue(store.database("db").isPresent());
  }

  private static String ts(int i) {
    return ts(1_700_000_000_000L, i);
  }

  private static String ts(long ms, int counter) {
    return new Hlc(ms, counter, "t").format();
  }

  private static JsonNode readTree(byte[] json) {
    try {
      return Json.MAPPER.readTree(json);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** A delta as read back from its wire encoding. */
  record DeltaView(String col, String id, String attr, JsonNode value, String ts, long seq) {
    Delta toDelta() {
      return new Delta(col, id, attr, value, ts, seq);
    }
  }
}
