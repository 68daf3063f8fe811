package dev.syncline.server.replication;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.ServerMessage;
import dev.syncline.server.auth.SystemDb;
import dev.syncline.server.store.BatchOutcome;
import dev.syncline.server.store.PeerCursor;
import dev.syncline.server.store.WriteBatch;
import io.vertx.core.Future;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The receiving half of a link: applies the peer's change feed to this server.
 *
 * <h2>Order and cursors</h2>
 * Each {@code changes} frame becomes one replicated batch for the committer, carrying the
 * peer's cursor {@code (peer, db, epoch, seq)}, which the store writes in the same transaction
 * as the deltas: after a crash the feed resumes exactly where the stored data ends. Batches
 * are pipelined (at most {@link #WINDOW} in flight; past that the socket stops being read) and
 * confirmed to the peer ({@code feed.ack}) strictly in frame order, each once it is durable.
 * An empty frame (the peer committed nothing this side should see) moves the cursor without a
 * data write of its own: it is stored within a second, coalesced ({@code Replication#cursorMoved}).
 *
 * <h2>Clocks</h2>
 * A frame holding a delta more than {@code maxClockSkewMs} ahead of this server's clock is not
 * applied and does not move the clock: the link reports {@code clock-ahead} and is dropped, and
 * the next connection offers the same frame again, until the clocks agree.
 */
final class FeedSink {
  private static final Logger log = LoggerFactory.getLogger(FeedSink.class);

  /** Frames applied concurrently before the socket is paused. */
  static final int WINDOW = 8;
  /**
   * Frames waiting to be confirmed in order before the socket is paused: frames without data are
   * not applied, but wait behind those that are, so a peer could queue them without end.
   */
  static final int MAX_WAITING = 1024;

  /** One database of the peer's feed, as this side knows it. */
  static final class DbFeed {
    final String db;
    String epoch;
    /** Last seq confirmed (durable here). */
    long applied;
    /** The peer's head, as far as its frames told. */
    long peerHead;
    boolean synced;
    /** When {@link #applied} last reached {@link #peerHead}. */
    long caughtUpAt = System.currentTimeMillis();
    /** The peer's database is an older life of one destroyed here: its frames are ignored. */
    boolean ignored;
    /** The stored cursor this link started from (0: from the beginning). */
    long resumedFrom;
    /** The seq of the last changes or synced frame of this life: a feed's seqs never go back. */
    long lastFrameSeq;
    /** The cursor of the last frame handed to the committer in this life (or the stored one resumed from). */
    long lastQueued;

    DbFeed(String db, String epoch, long head) {
      this.db = db;
      this.epoch = epoch;
      this.peerHead = head;
    }
  }

  /** A frame on its way to being confirmed, in arrival order. */
  private static final class Frame {
    final DbFeed feed;
    final String epoch;
    final long seq;
    /** The peer's {@code synced}: once everything before it is durable, the database is caught up. */
    final boolean synced;
    boolean done;
    /** No data of its own: the cursor it moves is stored later, coalesced (see Replication#cursorMoved). */
    boolean empty;
    long head;

    Frame(DbFeed feed, String epoch, long seq, boolean synced) {
      this.feed = feed;
      this.epoch = epoch;
      this.seq = seq;
      this.synced = synced;
    }
  }

  private final PeerLink link;
  private final Map<String, DbFeed> bySid = new HashMap<>();
  private final Map<String, DbFeed> byDb = new HashMap<>();
  private final ArrayDeque<Frame> unconfirmed = new ArrayDeque<>();
  private Map<String, PeerCursor> cursors = Map.of();
  private int inFlight;
  private boolean paused;

  FeedSink(PeerLink link) {
    this.link = link;
  }

  /** Asks the peer for its feed, from where this server's stored cursors end. */
  void start(Map<String, PeerCursor> stored) {
    this.cursors = stored;
    ObjectNode m = Json.MAPPER.createObjectNode().put("type", "feed");
    ObjectNode c = m.putObject("cursors");
    stored.forEach((db, cur) -> c.putObject(db).put("epoch", cur.epoch()).put("seq", cur.seq()));
    link.send(m);
  }

  Map<String, DbFeed> databases() {
    return byDb;
  }

  /** True once every database the peer offered is caught up (and it offered at least its $system). */
  boolean allSynced() {
    if (byDb.isEmpty()) return false;
    for (DbFeed f : byDb.values()) if (!f.synced && !f.ignored) return false;
    return true;
  }

  void onSubscribed(JsonNode m) {
    String sid = PeerFields.token(m, "sid");
    String db = PeerFields.db(m);
    String epoch = PeerFields.token(m, "epoch");
    long createdAt = PeerFields.count(m, "createdAt");
    // a database made in the future would outlive any destroy (see below)
    if (createdAt > System.currentTimeMillis() + link.replication().options().maxClockSkewMs()) {
      throw new IllegalArgumentException("createdAt: ahead of this server's clock");
    }
    DbFeed f = new DbFeed(db, epoch, PeerFields.count(m, "head"));
    PeerCursor stored = cursors.get(db);
    DbFeed before = byDb.get(db);
    if (before != null && before.epoch.equals(epoch)) f.applied = before.applied;
    else if (stored != null && stored.epoch().equals(epoch)) f.applied = stored.seq();
    f.resumedFrom = stored != null && stored.epoch().equals(epoch) ? stored.seq() : 0;
    f.lastQueued = before != null && before.epoch.equals(epoch) ? before.lastQueued : f.resumedFrom;
    bySid.put(sid, f);
    byDb.put(db, f);
    if (db.equals(SystemDb.NAME)) link.replication().systemLife(link.peer(), epoch, f.peerHead);
    link.replication().applied(link.peer(), db, epoch, f.applied);
    link.syncStateChanged();
    boolean exists = link.replication().store().database(db).isPresent();
    if (!exists) {
      String floor = link.replication().store().floor(db);
      if (floor != null && createdAt <= Hlc.msOf(floor)) {
        f.ignored = true; // a life of it destroyed here; the peer destroys it when that reaches it
        return;
      }
    }
    if (!db.equals(SystemDb.NAME)) {
      // the peer's $system head when it offered this database holds its policies there, if any
      // (a peer of an older version does not say: nothing to wait for)
      long systemHead = m.has("systemHead") ? PeerFields.count(m, "systemHead") : 0;
      DbFeed system = byDb.get(SystemDb.NAME);
      // $system is offered first on a link: its life is known here ("" only from a source that does not)
      link.replication().offered(db, createdAt, exists, link.peer(), system == null ? "" : system.epoch, systemHead,
          system == null ? 0 : system.applied);
    }
  }

  void onReset(JsonNode m) {
    DbFeed f = bySid.get(m.path("sid").asText());
    if (f == null) return;
    String epoch = PeerFields.token(m, "epoch");
    // the epoch subscribed named, whose life was judged then (a cursor of another epoch is reset
    // at once): an ignored feed stays ignored. Relinking would only get the same answer again,
    // and drop the link for every database each time, until the destroy reached the peer
    if (f.ignored && epoch.equals(f.epoch)) return;
    if (f.ignored || link.replication().store().database(f.db).isEmpty()) {
      // a new life of a database this server does not hold (or ignored): whether to take it
      // depends on when that life began, which a new link's subscribed tells
      link.fail("the peer's database " + f.db + " started a new life; linking again to learn it");
      return;
    }
    f.epoch = epoch;
    f.applied = 0;
    f.lastFrameSeq = 0;
    f.lastQueued = 0;
    f.synced = false;
    if (f.db.equals(SystemDb.NAME)) link.replication().systemLife(link.peer(), epoch, f.peerHead);
    link.replication().feedReset(link.peer(), f.db, f.epoch);
    link.syncStateChanged();
  }

  void onSynced(JsonNode m) {
    DbFeed f = bySid.get(m.path("sid").asText());
    if (f == null || f.ignored) return;
    long seq = frameSeq(f, PeerFields.count(m, "seq"));
    f.peerHead = Math.max(f.peerHead, seq);
    confirmInOrder(new Frame(f, f.epoch, seq, true));
  }

  /**
   * A frame's seq: it is stored as the feed's cursor with the frame's deltas, so one that went back
   * would have them sent again, and the purge horizon trusts it.
   */
  private static long frameSeq(DbFeed f, long seq) {
    if (seq < f.lastFrameSeq) throw new IllegalArgumentException("seq: " + seq + " after " + f.lastFrameSeq + " in the same feed");
    f.lastFrameSeq = seq;
    return seq;
  }

  /** The peer's database is gone (destroyed there): its subscription ended. */
  void onEnded(JsonNode m) {
    DbFeed f = bySid.remove(m.path("sid").asText());
    if (f != null && byDb.get(f.db) == f) byDb.remove(f.db);
    link.syncStateChanged(); // it may have been the last one not caught up
  }

  void onChanges(ServerMessage.Changes m) {
    DbFeed f = bySid.get(m.sid());
    if (f == null || f.ignored) return;
    if (!m.db().equals(f.db)) throw new IllegalArgumentException("db: " + m.db() + " is not subscription " + m.sid() + "'s " + f.db);
    long seq = frameSeq(f, m.seq());
    List<Delta> deltas = m.deltas();
    link.refuseLocal(f.db, deltas);
    if (!link.admit(deltas)) return;
    f.peerHead = Math.max(f.peerHead, seq);
    Frame frame = new Frame(f, f.epoch, seq, false);
    if (deltas.isEmpty()) {
      confirmInOrder(frame);
      return;
    }
    unconfirmed.add(frame);
    inFlight++;
    pauseOrResume();
    // stored only after the frame before it: if that one's commit fails, the next link resumes before it
    Future<BatchOutcome> applied = link.replication().committer().replicate(
        WriteBatch.fromFeed(f.db, deltas, link.peer(), new PeerCursor(link.peer(), f.db, f.epoch, seq), f.lastQueued));
    f.lastQueued = seq;
    applied.onComplete(ar -> {
      inFlight--;
      if (ar.failed()) {
        log.error("applying changes of {} from {} failed", f.db, link.peer(), ar.cause());
        link.fail("applying changes failed");
        return;
      }
      if (ar.result().missing()) {
        // destroyed here meanwhile: whether the peer's life is older (ignored) or newer (created
        // again here) depends on when it began, which a new link's subscribed tells
        link.fail("the database " + f.db + " was destroyed here meanwhile; linking again to learn the peer's life of it");
        return;
      }
      frame.done = true;
      frame.head = ar.result().head();
      drain();
    });
  }

  private void confirmInOrder(Frame frame) {
    frame.done = true;
    frame.empty = true;
    unconfirmed.add(frame);
    drain();
  }

  /** Reading pauses while too many frames are applied or wait, and resumes once half have gone. */
  private void pauseOrResume() {
    if (!paused && (inFlight >= WINDOW || unconfirmed.size() >= MAX_WAITING)) {
      paused = true;
      link.socket().pause();
    } else if (paused && inFlight < WINDOW / 2 && unconfirmed.size() < MAX_WAITING / 2) {
      paused = false;
      link.socket().resume();
    }
  }

  /** Frames being applied and frames waiting to be confirmed in order, for {@code server.stats}. */
  int framesApplying() {
    return inFlight;
  }

  int framesWaiting() {
    return unconfirmed.size();
  }

  /** True while frames are being applied: the socket may be paused, so silence says nothing. */
  boolean busy() {
    return inFlight > 0;
  }

  /** Confirms, in arrival order, every frame that is durable. */
  private void drain() {
    try {
      confirmDone();
    } finally {
      pauseOrResume();
    }
  }

  private void confirmDone() {
    if (link.isClosed()) {
      // its frames are durable, each with its cursor; what they would tell now (applied, sync
      // state) is the next link's to tell, which may be of another life of the peer's database
      unconfirmed.clear();
      return;
    }
    while (!unconfirmed.isEmpty() && unconfirmed.peek().done) {
      Frame fr = unconfirmed.poll();
      DbFeed f = fr.feed;
      // reset since, or the peer's database began a new life on this link (a new subscribed, a new
      // feed): this frame belongs to the old one, whose cursor must not replace the new one's
      DbFeed current = byDb.get(f.db);
      if (!fr.epoch.equals(f.epoch) || f.ignored || (current != null && !current.epoch.equals(f.epoch))) continue;
      f.applied = Math.max(f.applied, fr.seq);
      link.replication().applied(link.peer(), f.db, f.epoch, f.applied);
      if (fr.empty) link.replication().cursorMoved(new PeerCursor(link.peer(), f.db, f.epoch, f.applied));
      if (f.applied >= f.peerHead) f.caughtUpAt = System.currentTimeMillis();
      var mine = link.replication().store().database(f.db);
      long head = fr.head > 0 ? fr.head : mine.map(i -> i.head()).orElse(0L);
      link.send(Json.MAPPER.createObjectNode().put("type", "feed.ack").put("db", f.db).put("epoch", fr.epoch)
          .put("seq", fr.seq).put("head", head).put("headEpoch", mine.map(i -> i.epoch()).orElse("")));
      if (fr.synced) {
        f.synced = true; // everything the peer had when it said so is durable here
        link.syncStateChanged();
      }
    }
  }
}
