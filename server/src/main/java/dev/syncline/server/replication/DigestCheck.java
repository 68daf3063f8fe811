package dev.syncline.server.replication;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.MessageCodec;
import dev.syncline.protocol.Merge;
import dev.syncline.server.store.DatabaseDigest;
import dev.syncline.server.store.Digests;
import dev.syncline.server.store.WriteBatch;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compares this server's digests with the peer's, now and then, and repairs what differs.
 *
 * <p>Every {@code digestIntervalMs}, for each database whose feed from the peer is caught up,
 * this side asks for the peer's digest and compares it bucket by bucket with its own. Deltas in
 * flight make buckets differ for a moment, so a bucket is repaired only when it differed in two
 * comparisons in a row. Repair pulls the peer's registers of those buckets (whole documents, page
 * by page) and merges them like any replicated change: what wins here is stored and flows on.
 * The peer runs the same check the other way, so both end with the union.
 *
 * <p>Some differences no repair can mend: tombstones one side has purged and the other keeps
 * (it waits for a peer that is down), which repair pages leave out. A repair that changed nothing
 * marks its buckets, as they were (both sides' hashes), settled: they are not repaired again
 * until either side's hash of them changes, instead of every other round for good.
 */
final class DigestCheck {
  private static final Logger log = LoggerFactory.getLogger(DigestCheck.class);

  /** The last comparison of one database, for {@code server.stats}. */
  static final class Comparison {
    long at;
    boolean equal;
    int differing;
    int repairing;
    long repaired;
    /** Repairs started (each of one or more pages). */
    long repairs;
    BitSet previous = new BitSet();
    /** Per bucket a repair changed nothing in: both hashes as they were ("mine/theirs"); kept across links. */
    Map<Integer, String> settled;
  }

  private final PeerLink link;
  private final Map<String, Comparison> byDb = new HashMap<>();
  private long timer = -1;
  private long nextRid = 1;
  private boolean repairing;
  /** The repair page asked for and not answered yet (null: none): only that answer is merged. */
  private Asked asked;

  private record Asked(long rid, String db, BitSet buckets) {}

  /** The repair under way: its buckets' hashes as compared, and what it applied so far. */
  private Map<Integer, String> repairingHashes = Map.of();
  private long appliedByRepair;

  DigestCheck(PeerLink link) {
    this.link = link;
  }

  void start() {
    long every = link.replication().options().digestIntervalMs();
    if (every > 0) timer = link.context().owner().setPeriodic(every, id -> round());
  }

  void stop() {
    if (timer >= 0) link.context().owner().cancelTimer(timer);
  }

  Map<String, Comparison> comparisons() {
    return byDb;
  }

  /** {@code db} was destroyed here: its comparison goes with it (a new life of the name starts afresh). */
  void databaseDestroyed(String db) {
    byDb.remove(db);
  }

  /** One round: ask for the digest of every database caught up from the peer. */
  private void round() {
    if (repairing) return;
    for (FeedSink.DbFeed f : link.sink().databases().values()) {
      if (!f.synced || f.ignored || f.applied < f.peerHead) continue;
      link.send(Json.MAPPER.createObjectNode().put("type", "digest.get").put("rid", nextRid++).put("db", f.db));
    }
  }

  /** The peer's answer to {@code digest.get}. */
  void onDigest(JsonNode m) {
    String db = m.path("db").asText();
    JsonNode buckets = m.get("buckets");
    var mine = link.replication().store().digest(db);
    if (mine.isEmpty() || buckets == null || !buckets.isArray() || buckets.size() != Digests.BUCKETS) return;
    Comparison c = comparison(db);
    BitSet differing = new BitSet();
    BitSet mendable = new BitSet();
    Map<Integer, String> hashes = new HashMap<>();
    for (int i = 0; i < Digests.BUCKETS; i++) {
      String here = Digests.hex(mine.get().buckets()[i]);
      String there = buckets.get(i).asText();
      if (here.equals(there)) {
        c.settled.remove(i);
        continue;
      }
      differing.set(i);
      String pair = here + "/" + there;
      hashes.put(i, pair);
      if (!pair.equals(c.settled.get(i))) mendable.set(i);
    }
    c.at = System.currentTimeMillis();
    c.equal = differing.isEmpty();
    c.differing = differing.cardinality();
    BitSet twice = (BitSet) mendable.clone();
    twice.and(c.previous);
    c.previous = mendable;
    c.repairing = twice.cardinality();
    if (!twice.isEmpty() && !repairing) {
      log.info("digest of {} differs from {} in {} buckets twice in a row; repairing them", db, link.peer(), c.repairing);
      repairing = true;
      c.repairs++;
      c.previous = new BitSet(); // what this repair fixes must differ twice again before another
      Map<Integer, String> asCompared = new HashMap<>();
      twice.stream().forEach(i -> asCompared.put(i, hashes.get(i)));
      repairingHashes = asCompared;
      appliedByRepair = 0;
      requestPage(db, twice, null);
    }
  }

  private Comparison comparison(String db) {
    return byDb.computeIfAbsent(db, k -> {
      Comparison c = new Comparison();
      c.settled = link.replication().settledBuckets(link.peer(), db);
      return c;
    });
  }

  private void requestPage(String db, BitSet buckets, String after) {
    asked = new Asked(nextRid, db, buckets);
    ObjectNode m = Json.MAPPER.createObjectNode().put("type", "repair.get").put("rid", nextRid++).put("db", db);
    ArrayNode list = m.putArray("buckets");
    buckets.stream().forEach(list::add);
    if (after != null) m.put("after", after);
    link.send(m);
  }

  /**
   * One page of the peer's registers of the buckets asked for. Only the answer to the page this
   * side asked for is merged, and its database and buckets are the ones asked for: a page nobody
   * asked for (late, or made up) would otherwise drive this side's repair.
   */
  void onRepair(JsonNode m) {
    List<Delta> deltas = MessageCodec.decodeStoredDeltas(m.get("deltas")); // a malformed page drops the link, asked for or not
    Asked a = asked;
    if (a == null || !m.path("rid").isIntegralNumber() || m.path("rid").longValue() != a.rid()) return;
    asked = null;
    String db = a.db();
    link.refuseLocal(db, deltas);
    BitSet buckets = a.buckets();
    // the database was destroyed here since the page was asked for: nothing to repair
    if (link.replication().store().database(db).isEmpty() || !link.admit(deltas)) {
      repairing = false;
      return;
    }
    String after = m.path("after").asText(null);
    boolean more = m.path("more").asBoolean(false);
    boolean failed = m.path("failed").asBoolean(false); // the peer could not read its registers
    Comparison c = comparison(db);
    var applied = deltas.isEmpty() ? io.vertx.core.Future.<dev.syncline.server.store.BatchOutcome>succeededFuture(null)
        : link.replication().committer().replicate(WriteBatch.replicated(db, deltas, link.peer(), null));
    applied.onComplete(ar -> {
      if (ar.failed()) {
        repairing = false;
        log.error("repair of {} from {} failed", db, link.peer(), ar.cause());
        return;
      }
      if (ar.result() != null) {
        for (Merge.Outcome o : ar.result().outcomes()) {
          if (o == Merge.Outcome.APPLIED) {
            c.repaired++;
            appliedByRepair++;
          }
        }
      }
      if (more) {
        requestPage(db, buckets, after);
        return;
      }
      repairing = false;
      if (appliedByRepair == 0 && !failed) {
        // nothing here was older than the peer's: the difference is one repair cannot mend (see above)
        c.settled.putAll(repairingHashes);
        log.info("repair of {} from {} changed nothing; its {} buckets wait for a change", db, link.peer(), repairingHashes.size());
      }
    });
  }

  /** Answers {@code digest.get} with this server's digest of the database. */
  static ObjectNode digestAnswer(JsonNode rid, String db, DatabaseDigest d) {
    ObjectNode out = Json.MAPPER.createObjectNode().put("type", "digest");
    out.set("rid", rid);
    out.put("db", db);
    describe(out, d);
    return out;
  }

  /** {@code digest}, {@code buckets} and {@code head}: the shape of {@code db.digest}'s answer too. */
  static ObjectNode describe(ObjectNode out, DatabaseDigest d) {
    out.put("digest", d.digest());
    ArrayNode b = out.putArray("buckets");
    for (long v : d.buckets()) b.add(Digests.hex(v));
    out.put("head", d.head());
    return out;
  }
}
