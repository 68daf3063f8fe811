package dev.syncline.server.replication;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.ErrorCode;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.MessageCodec;
import dev.syncline.server.store.Digests;
import dev.syncline.server.store.RegisterPage;
import dev.syncline.server.store.Store;
import io.vertx.core.Context;
import java.util.Base64;
import java.util.BitSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One link between this server and a peer, after both proved they know the cluster secret. The
 * link is symmetric, whichever end dialed: each end serves its own feed ({@link FeedSource}),
 * applies the other's ({@link FeedSink}), answers digest and repair requests, and checks
 * digests itself ({@link DigestCheck}). Both ping; a link that hears nothing for three ping
 * intervals is dropped (the dialing end dials again).
 *
 * <p>Runs entirely on the link's event loop. Messages are JSON text frames; see PROTOCOL.md,
 * "Replication between servers".
 */
final class PeerLink implements Replication.LinkHandle {
  private static final Logger log = LoggerFactory.getLogger(PeerLink.class);

  /** Close code for a link dropped on purpose (silence, clock, a malformed frame). */
  private static final short CLOSE_GOING_AWAY = 1001;

  private final Replication replication;
  private final PeerSocket socket;
  private final Context context;
  private final String peer;
  private final LinkStatus status;
  private final FeedSource source;
  private final FeedSink sink;
  private final DigestCheck digests;
  private long lastHeard = System.currentTimeMillis();
  private long pingTimer = -1;
  private boolean closed;
  private boolean wasLive;

  PeerLink(Replication replication, PeerSocket socket, Context context, String peer, LinkStatus status) {
    this.replication = replication;
    this.socket = socket;
    this.context = context;
    this.peer = peer;
    this.status = status;
    this.source = new FeedSource(this);
    this.sink = new FeedSink(this);
    this.digests = new DigestCheck(this);
  }

  /** Asks for the peer's feed (from the stored cursors) and starts pinging and comparing digests. */
  void start() {
    status.linked(this);
    long every = replication.options().pingIntervalMs();
    pingTimer = context.owner().setPeriodic(every, id -> {
      if (sink.busy()) lastHeard = System.currentTimeMillis(); // reading is paused while this side applies
      lastHeard = Math.max(lastHeard, socket.lastReadMillis()); // a long message still arriving is not silence
      if (System.currentTimeMillis() - lastHeard > 3 * every) {
        fail("heard nothing from the peer for " + 3 * every + " ms");
      } else {
        send(Json.MAPPER.createObjectNode().put("type", "ping"));
      }
    });
    digests.start();
    context.owner().executeBlocking(() -> replication.store().peerCursors(peer), false).onComplete(ar -> {
      if (closed) return;
      if (ar.failed()) fail("cannot read the stored cursors: " + ar.cause());
      else sink.start(ar.result());
    });
  }

  @Override
  public void onText(String text) {
    if (closed) return;
    lastHeard = System.currentTimeMillis();
    JsonNode m;
    try {
      m = Json.MAPPER.readTree(text);
    } catch (Exception e) {
      fail("the peer sent a frame that is not JSON");
      return;
    }
    try {
      dispatch(m);
    } catch (IllegalArgumentException e) {
      // a field no server sends (PeerFields, MessageCodec's decoders): the peer's fault, said plainly
      fail("the peer sent a malformed " + m.path("type").asText() + ": " + e.getMessage());
    } catch (RuntimeException e) {
      log.error("link to {}: handling {} failed", peer, m.path("type").asText(), e);
      fail("handling a " + m.path("type").asText() + " message failed");
    }
  }

  private void dispatch(JsonNode m) {
    switch (m.path("type").asText()) {
      case "changes" -> sink.onChanges(MessageCodec.decodeChanges(m));
      case "feed.ack" -> source.onAck(m);
      case "subscribed" -> sink.onSubscribed(m);
      case "synced" -> sink.onSynced(m);
      case "reset" -> sink.onReset(m);
      case "error" -> {
        if (!m.hasNonNull("sid")) log.warn("link to {}: the peer reports {}", peer, m);
        else if (ErrorCode.NOT_FOUND.wire().equals(m.path("code").asText())) sink.onEnded(m); // destroyed there
        // its feed of a database failed there (a read failed): a new link resumes it from the stored cursor
        else fail("the peer's feed failed: " + m.path("message").asText());
      }
      case "feed" -> source.onFeed(m.get("cursors"));
      case "digest.get" -> answerDigest(m);
      case "digest" -> digests.onDigest(m);
      case "repair.get" -> answerRepair(m);
      case "repair" -> digests.onRepair(m);
      case "ping" -> send(Json.MAPPER.createObjectNode().put("type", "pong"));
      case "pong" -> { }
      default -> log.warn("link to {}: unknown message type {}", peer, m.path("type").asText());
    }
  }

  private void answerDigest(JsonNode m) {
    String db = PeerFields.db(m); // a name no server sends fails the link, as elsewhere
    var digest = replication.store().digest(db);
    if (digest.isEmpty()) return; // no such database here (yet): nothing to compare
    send(DigestCheck.digestAnswer(m.get("rid"), db, digest.get()));
  }

  private void answerRepair(JsonNode m) {
    String db = PeerFields.db(m);
    BitSet buckets = new BitSet();
    ArrayNode asked = Json.MAPPER.createArrayNode();
    for (JsonNode b : m.path("buckets")) {
      // unanswered, the asking side would wait for this page for as long as the link lives
      if (!b.isInt() || b.intValue() < 0 || b.intValue() >= Digests.BUCKETS) throw new IllegalArgumentException("buckets: " + b + " is not a bucket");
      buckets.set(b.intValue());
      asked.add(b.intValue());
    }
    byte[] after = m.hasNonNull("after") ? Base64.getDecoder().decode(m.get("after").asText()) : null;
    int pageDeltas = replication.pageDeltas();
    int pageBytes = replication.pageBytes();
    long retention = replication.options().tombstoneRetentionMs();
    long purgeable = retention > 0 ? System.currentTimeMillis() - retention : 0;
    // the page's deltas are read on the worker too: a page is thousands, and one that cannot be
    // read (a corrupt store) fails the read, which is answered below, instead of the event loop
    context.owner().executeBlocking(() -> repairAnswer(m.get("rid"), db, asked,
            replication.store().registersInBuckets(db, buckets, after, pageDeltas, pageBytes, purgeable)), false)
        .onComplete(ar -> {
          if (closed) return;
          if (ar.succeeded()) {
            send(ar.result());
            return;
          }
          // always answered, an empty last page at worst, so the asking side's repair ends; marked
          // failed, so it does not take the empty page for buckets no repair can mend
          log.error("reading registers of {} for a repair failed", db, ar.cause());
          send(repairAnswer(m.get("rid"), db, asked, null).put("failed", true));
        });
  }

  /** The answer to a {@code repair.get}: {@code page}'s deltas, or none and no more when it is null. */
  private static ObjectNode repairAnswer(JsonNode rid, String db, ArrayNode buckets, RegisterPage page) {
    ObjectNode out = Json.MAPPER.createObjectNode().put("type", "repair");
    out.set("rid", rid);
    out.put("db", db);
    out.set("buckets", buckets);
    ArrayNode deltas = out.putArray("deltas");
    if (page == null) return out.put("more", false);
    for (byte[] d : page.deltas()) deltas.add(readTree(d));
    if (page.resumeKey() != null) out.put("after", Base64.getEncoder().encodeToString(page.resumeKey()));
    return out.put("more", page.more());
  }

  private static JsonNode readTree(byte[] json) {
    try {
      return Json.MAPPER.readTree(json);
    } catch (java.io.IOException e) {
      throw new IllegalStateException("corrupt stored delta", e);
    }
  }

  // ---- state ----

  /** A database of the peer became caught up, or started catching up again: the link's state follows. */
  void syncStateChanged() {
    LinkStatus.State s = status.state();
    if (s != LinkStatus.State.CATCHING_UP && s != LinkStatus.State.LIVE) return;
    if (sink.allSynced()) {
      status.state(LinkStatus.State.LIVE);
      wasLive = true;
    } else {
      status.state(LinkStatus.State.CATCHING_UP);
    }
  }

  /** Whether this link was ever caught up with its peer (the dialer backs off less after one that was). */
  boolean wasLive() {
    return wasLive;
  }

  /**
   * Checks deltas from the peer (a feed frame or a repair page) against this server's clock and
   * moves the clock past them; false (and the link dropped as {@code clock-ahead}) when one is
   * too far ahead to apply.
   */
  boolean admit(java.util.List<dev.syncline.protocol.Delta> deltas) {
    // timestamps order as strings, and the clock keeps only the greatest it receives: one will do
    String latest = null;
    for (var d : deltas) if (latest == null || d.ts().compareTo(latest) > 0) latest = d.ts();
    if (latest == null) return true;
    if (dev.syncline.protocol.Hlc.msOf(latest) > System.currentTimeMillis() + replication.options().maxClockSkewMs()) {
      clockAhead(latest);
      return false;
    }
    replication.clock().receive(latest);
    return true;
  }

  /**
   * A correct peer never sends a delta of this server's local collections (its own secrets, such
   * as the token signing key): one drops the link.
   */
  void refuseLocal(String db, java.util.List<dev.syncline.protocol.Delta> deltas) {
    var local = replication.localCollections(db);
    if (local.isEmpty()) return;
    for (var d : deltas) {
      if (local.contains(d.col())) throw new IllegalArgumentException("col: " + d.col() + " of " + db + " is each server's own");
    }
  }

  /** The peer sent a delta too far ahead of this server's clock: drop the link, dial again later. */
  void clockAhead(String ts) {
    log.warn("link to {}: a delta stamped {} is more than {} ms ahead of this server's clock; not applied, retrying later",
        peer, ts, replication.options().maxClockSkewMs());
    status.problem(LinkStatus.State.CLOCK_AHEAD, "a delta stamped " + ts + " is ahead of this server's clock");
    close();
  }

  /**
   * The peer's own link to this server is up, and wins (see {@link Replication#coveredByPeer}):
   * this one closes, cleanly, and its dialer stands down while the other is up.
   */
  void standDown() {
    if (closed) return;
    log.info("link to {} stands down: {}'s own link to this server covers it", peer, peer);
    status.state(LinkStatus.State.COVERED);
    socket.close((short) 1000, "covered by the peer's own link");
    closed();
  }

  /** Something went wrong on this link: drop it (the dialing end dials again). */
  void fail(String why) {
    if (closed) return;
    log.warn("link to {} dropped: {}", peer, why);
    status.problem(null, why);
    close();
  }

  private void close() {
    socket.close(CLOSE_GOING_AWAY, "link reset");
    closed();
  }

  boolean isClosed() {
    return closed;
  }

  /** The socket closed, or this end closed it. */
  @Override
  public void closed() {
    if (closed) return;
    closed = true;
    if (pingTimer >= 0) context.owner().cancelTimer(pingTimer);
    digests.stop();
    source.close();
    status.unlinked(this);
    replication.unlinked(status);
  }

  /** Per database: how far behind the peer this side is, what the peer confirmed, and the last digest comparison. */
  void describe(ObjectNode out) {
    out.put("framesApplying", sink.framesApplying()).put("framesWaiting", sink.framesWaiting());
    ObjectNode dbs = out.putObject("databases");
    long now = System.currentTimeMillis();
    sink.databases().forEach((db, f) -> {
      ObjectNode d = dbs.putObject(db);
      long lag = Store.seqsBetween(f.applied, f.peerHead);
      d.put("applied", f.applied).put("peerHead", f.peerHead).put("lagDeltas", lag)
          .put("lagMs", lag == 0 ? 0 : now - f.caughtUpAt).put("synced", f.synced).put("resumedFrom", f.resumedFrom);
      replication.describeConfirmed(peer, db, d);
      DigestCheck.Comparison cmp = digests.comparisons().get(db);
      if (cmp != null) {
        d.putObject("digest").put("at", cmp.at).put("equal", cmp.equal).put("differingBuckets", cmp.differing)
            .put("repairingBuckets", cmp.repairing).put("repairedRegisters", cmp.repaired).put("repairs", cmp.repairs)
            .put("settledBuckets", cmp.settled.size());
      }
    });
    // databases the peer has not offered back yet (new here, or waiting for their policies): still behind
    replication.describeConfirmedOnly(peer, dbs);
  }

  // ---- for the feed halves ----

  void send(JsonNode message) {
    if (!closed) socket.sendText(message.toString());
  }

  Replication replication() {
    return replication;
  }

  PeerSocket socket() {
    return socket;
  }

  Context context() {
    return context;
  }

  String peer() {
    return peer;
  }

  FeedSink sink() {
    return sink;
  }

  DigestCheck digests() {
    return digests;
  }
}
