package dev.syncline.server.replication;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.HlcClock;
import dev.syncline.protocol.Json;
import dev.syncline.server.auth.SystemDb;
import dev.syncline.server.commit.Committer;
import dev.syncline.server.hub.Hub;
import dev.syncline.server.store.DatabaseInfo;
import dev.syncline.server.store.PeerAck;
import dev.syncline.server.store.PeerCursor;
import dev.syncline.server.store.Store;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Replication between servers: the public face of this package.
 *
 * <h2>Links</h2>
 * A server dials each of its {@code peers} ({@link Dialer}) and accepts links from servers that
 * name it; either way a link ({@link PeerLink}) replicates both ways over one WebSocket. A star is
 * every spoke naming the hub; a ring is every server naming the next. Both ends prove they know
 * the cluster secret before anything else is sent ({@link PeerAuth}). Two servers that dial each
 * other keep one link: the one dialed by the smaller server id; the other's dialer stands down
 * while that link is up ({@link #coveredByPeer}).
 *
 * <h2>Apply</h2>
 * What a peer sends goes through the committer like a client's push, merged by the same rule: a
 * delta that wins gets a seq here and flows on to this server's subscribers and other peers; one
 * that loses or was seen before stops. That ends loops in a ring by itself; a link also does not
 * send a peer back what came from it.
 *
 * <h2>Quorum and purging</h2>
 * Peers confirm what they applied ({@code feed.ack}); {@link #awaitQuorum} holds a push's ack
 * until enough servers hold it. Confirmations are also stored (every second), and tombstones are
 * purged only once every known peer has confirmed them and this server holds everything those
 * peers had when they did ({@link #purgeHorizon}), so purging never brings anything back.
 */
public final class Replication {
  private static final Logger log = LoggerFactory.getLogger(Replication.class);
  private static final long SAVE_ACKS_EVERY_MS = 1000;

  /** The text handler and end of an accepted link. */
  public interface LinkHandle {
    void onText(String text);

    void closed();
  }

  /**
   * The largest message one server takes from another, in either direction: above any page or
   * single delta a server sends (its {@code maxMessageBytes} is at most 16 MiB), so a link never
   * fails on a message it can neither take nor skip. Only a proven peer gets this much.
   */
  public static final int PEER_MESSAGE_BYTES = 64 << 20;

  private final Vertx vertx;
  private final String serverId;
  private final ReplicationOptions options;
  private final Store store;
  private final Committer committer;
  private final Hub hub;
  private final HlcClock clock;
  private final Map<String, Set<String>> localCollections;
  private final int pageDeltas;
  private final int pageBytes;
  private final PeerAuth auth;
  private final Quorum quorum;
  private final List<LinkStatus> dialed = new CopyOnWriteArrayList<>();
  private final List<Dialer> dialers = new CopyOnWriteArrayList<>();
  private final Map<String, LinkStatus> accepted = new ConcurrentHashMap<>();
  /** Servers forgotten for good ({@link #forget}): their links are refused. */
  private final Set<String> forgotten = ConcurrentHashMap.newKeySet();
  /** Servers whose links were refused, by the id they claimed: shown in stats, never counted as peers. */
  private final Map<String, LinkStatus> refused = new ConcurrentHashMap<>();
  /** Latest ack per (peer, db), from links and from the store; and those not stored yet. */
  private final Map<String, PeerAck> acks = new ConcurrentHashMap<>();
  private final Map<String, PeerAck> unsaved = new ConcurrentHashMap<>();
  /** How far this server has applied each peer's feed, by (peer, db): the live sinks' view, ahead of the stored cursors. */
  private final Map<String, PeerCursor> applied = new ConcurrentHashMap<>();
  /** Cursors moved by frames without data, not stored yet (see {@link #cursorMoved}). */
  private final Map<String, PeerCursor> unsavedCursors = new ConcurrentHashMap<>();
  private final List<String> deployments = new ArrayList<>();
  private long saveTimer = -1;
  /** Whether a database has a policy of its own stored here. */
  private final Predicate<String> policyStored;
  /**
   * Databases a peer brought (or offered again) before this server could hold the policies it has
   * there: until the peer's {@code $system} is applied here through {@link PolicyWait#systemSeq}
   * of that life of it (it holds them, if there are any), clients are told the database is not here yet, and it is
   * not offered to other peers. Any one of a database's waits, met, ends them all.
   */
  private final Map<String, Set<PolicyWait>> awaitingPolicy = new ConcurrentHashMap<>();

  /**
   * The peer's {@code $system} head when it offered the database, and that {@code $system}'s epoch
   * there: its policy there, if any, is at or below it. A seq means nothing in another life.
   */
  private record PolicyWait(String peer, String systemEpoch, long systemSeq) {}

  public Replication(Vertx vertx, String serverId, ReplicationOptions options, Store store, Committer committer, Hub hub,
      HlcClock clock, Map<String, Set<String>> localCollections, int pageDeltas, int pageBytes, Predicate<String> policyStored,
      List<Store.PolicyWaitRecord> storedWaits, Set<String> forgottenPeers) {
    this.vertx = vertx;
    this.forgotten.addAll(forgottenPeers);
    this.policyStored = policyStored;
    // databases still waiting for a peer's policies when this server stopped wait on, from the first client
    for (Store.PolicyWaitRecord w : storedWaits) {
      awaitingPolicy.computeIfAbsent(w.db(), k -> ConcurrentHashMap.newKeySet()).add(new PolicyWait(w.peer(), w.systemEpoch(), w.systemSeq()));
    }
    this.serverId = serverId;
    this.options = options;
    this.store = store;
    this.committer = committer;
    this.hub = hub;
    this.clock = clock;
    this.localCollections = localCollections;
    this.pageDeltas = pageDeltas;
    this.pageBytes = pageBytes;
    this.auth = options.clusterSecret() == null ? null : new PeerAuth(options.clusterSecret());
    this.quorum = new Quorum(vertx);
    // a wait belongs to the life of the database it was for: a new life is judged by its own offer
    hub.onDatabaseDestroyed(this::policiesHere);
    hub.onDatabaseDestroyed(this::forgetDatabase);
  }

  /** Loads what peers confirmed before, starts dialing, and saves confirmations as they come. Blocking reads: call at start-up. */
  public Future<Void> start() {
    for (PeerAck a : store.peerAcks()) {
      if (forgotten.contains(a.peer())) continue; // stored by a save that raced its forgetting
      // a peer may have dialed in already: what it confirmed since stays
      if (acks.putIfAbsent(a.peer() + '\0' + a.db(), a) == null) quorum.confirmed(a.peer(), a.db(), a.epoch(), a.seq());
    }
    committer.purgeHorizon(this::purgeHorizon);
    saveTimer = vertx.setPeriodic(SAVE_ACKS_EVERY_MS, id -> saveAcks());
    List<Future<String>> started = new ArrayList<>();
    Map<String, String> answeredAs = store.dialedPeers();
    for (String url : options.peers()) {
      // known by the id it answered with before, a peer that is down now holds back purging by what
      // it confirmed, not all of it; and one forgotten since holds back nothing
      LinkStatus status = new LinkStatus(url, answeredAs.get(url), true);
      dialed.add(status);
      Dialer dialer = new Dialer(this, url, status);
      dialers.add(dialer);
      started.add(vertx.deployVerticle(dialer).onSuccess(deployments::add));
    }
    if (!options.peers().isEmpty()) log.info("replicating with {}", options.peers());
    return Future.join(started).mapEmpty();
  }

  /** Closes every link (dialed ones first stop dialing) and stores the last confirmations. */
  public Future<Void> stop() {
    if (saveTimer >= 0) vertx.cancelTimer(saveTimer);
    List<Future<Void>> undeployed = new ArrayList<>();
    for (String id : deployments) undeployed.add(vertx.undeploy(id));
    return Future.join(undeployed).transform(ar -> {
      saveAcks();
      return Future.succeededFuture();
    });
  }

  // ---- links ----

  /**
   * A {@code hello} with {@code peer}: a server dialing in. Checks its proof; when it holds, sends
   * the welcome (with this server's proof) and returns the link. Otherwise answers
   * {@code unauthenticated}, closes the socket with 1008, and returns null. Call on the socket's loop.
   */
  public LinkHandle accept(PeerSocket socket, String dialer, JsonNode peer, JsonNode rid, ObjectNode welcome) {
    String nonce = peer.path("nonce").asText("");
    String why = null;
    String told = "peer link refused";
    if (auth == null) why = "this server has no clusterSecret: it takes no peer links";
    else if (dialer.equals(serverId)) why = "a server cannot link to itself";
    else if (!auth.checkDial(dialer, nonce, peer.path("time").asLong(), peer.path("proof").asText(null), System.currentTimeMillis())) {
      why = "wrong cluster secret (or a replayed or stale hello)";
    } else if (forgotten.contains(dialer)) {
      // told, since it proved it is of the cluster: its operator has to give it a new identity
      why = FORGOTTEN;
      told += ": " + dialer + " " + FORGOTTEN;
    }
    if (why != null) {
      // a hello is cheap to send, and anyone may send one: the log and the list stay bounded
      long now = System.currentTimeMillis();
      if (auth != null && now - lastRefusalLogged >= 1000) {
        lastRefusalLogged = now;
        log.warn("refused a peer link from {} ({}): {}", socket.remoteAddress(), dialer, why);
      } else {
        log.debug("refused a peer link from {} ({}): {}", socket.remoteAddress(), dialer, why);
      }
      ObjectNode error = Json.MAPPER.createObjectNode().put("type", "error");
      if (rid != null) error.set("rid", rid);
      socket.sendText(error.put("code", "unauthenticated").put("message", told).toString());
      socket.close((short) 1008, "peer link refused");
      if (auth != null) noteRefused(dialer, why); // without a clusterSecret no server would link: nothing to diagnose
      return null;
    }
    welcome.putObject("peer").put("serverId", serverId).put("proof", auth.acceptProof(serverId, dialer, nonce));
    socket.sendText(welcome.toString());
    refused.remove(dialer);
    LinkStatus status = accepted.computeIfAbsent(dialer, p -> new LinkStatus(null, p, false));
    PeerLink link = linked(socket, Vertx.currentContext(), dialer, status);
    link.start();
    log.info("accepted a peer link from {} ({})", dialer, socket.remoteAddress());
    // forgotten since the check above: forget() may have looked for its link before there was one
    if (forgotten.contains(dialer)) link.fail(dialer + " " + FORGOTTEN);
    else standDownCoveredDials(dialer);
    return link;
  }

  /**
   * Whether the URL of {@code dialedStatus} stands down: the server there has a smaller id, and its
   * own link to this server is up. Of two servers that dial each other, both keep the link the
   * smaller id dialed; the other dialer dials again once that link ends, so a cut of it heals
   * from either side. Only once the URL answered in this run: the id stored from an earlier run
   * may be another server's by now, still linked here while someone else answers at the URL.
   */
  boolean coveredByPeer(LinkStatus dialedStatus) {
    String peer = dialedStatus.peer();
    if (peer == null || !dialedStatus.heardFrom() || peer.compareTo(serverId) >= 0) return false;
    LinkStatus in = accepted.get(peer);
    return in != null && in.link() != null;
  }

  /** {@code peer}'s link to this server is up: a link this server dialed to it, if up too, stands down. */
  private void standDownCoveredDials(String peer) {
    for (LinkStatus out : dialed) {
      PeerLink l = out.link();
      // checked after the accepted link is up: a dialed link coming up at the same time sees it, or is seen here
      if (l != null && peer.equals(out.peer()) && coveredByPeer(out)) l.context().runOnContext(v -> l.standDown());
    }
  }

  /** A link ended: if it was a peer's link to this server, a dialer standing down for it dials again. */
  void unlinked(LinkStatus status) {
    if (status.dialed()) return;
    for (Dialer d : dialers) if (status.peer().equals(d.status().peer())) d.wake();
  }

  /** The latest {@value #MAX_REFUSED} refused dialers, for {@code server.stats.peers}: an older one makes room. */
  private synchronized void noteRefused(String dialer, String why) {
    refused.remove(dialer);
    refusedOrder.remove(dialer);
    while (refusedOrder.size() >= MAX_REFUSED) refused.remove(refusedOrder.removeFirst());
    refusedOrder.addLast(dialer);
    refused.computeIfAbsent(dialer, p -> new LinkStatus(null, p, false)).problem(LinkStatus.State.REFUSED, why);
  }

  private static final int MAX_REFUSED = 100;
  private final java.util.ArrayDeque<String> refusedOrder = new java.util.ArrayDeque<>();
  private volatile long lastRefusalLogged;

  /** Why a link with a forgotten peer is refused. */
  static final String FORGOTTEN = "was forgotten here (peer.forget): it rejoins only under a new serverId, from an empty data folder";

  /** The peer dialed at {@code status}'s URL answered as {@code peer}: noted, and stored if that is news. */
  void answeredAs(LinkStatus status, String peer) {
    boolean news = !peer.equals(status.peer());
    status.answeredAs(peer);
    if (!news) return;
    committer.execute(s -> {
      s.saveDialedPeer(status.url(), peer);
      return null;
    }).onFailure(e -> log.warn("could not store that {} is {}", status.url(), peer, e));
  }

  /** Whether {@code peer} was forgotten ({@link #forget}): a link with it is refused. */
  boolean isForgotten(String peer) {
    return forgotten.contains(peer);
  }

  /** Whether a link with {@code peer}, dialed or accepted, is up now. */
  public boolean linkedTo(String peer) {
    LinkStatus in = accepted.get(peer);
    if (in != null && in.link() != null) return true;
    for (LinkStatus out : dialed) if (peer.equals(out.peer()) && out.link() != null) return true;
    return false;
  }

  PeerLink linked(PeerSocket socket, Context context, String peer, LinkStatus status) {
    return new PeerLink(this, socket, context, peer, status);
  }

  /** The token-signing key every server of a cluster derives from its shared secret when no {@code jwtSecret} is set. */
  public static String signingKeyFor(String clusterSecret) {
    return PeerAuth.jwtKey(clusterSecret);
  }

  /** Whether this server takes peer links at all (it has a cluster secret). */
  public boolean acceptsPeers() {
    return auth != null;
  }

  /** Per peer and database, the buckets a repair could not change (see DigestCheck): kept while this server runs. */
  private final Map<String, Map<Integer, String>> settledBuckets = new ConcurrentHashMap<>();

  /** The settled buckets of {@code db} with {@code peer}, for its links' digest checks (each link's loop uses it in turn). */
  Map<Integer, String> settledBuckets(String peer, String db) {
    return settledBuckets.computeIfAbsent(peer + '\0' + db, k -> new ConcurrentHashMap<>());
  }

  /** How long after its token was issued a user not known here may still be on its way from a peer, all peers linked. */
  static final long USER_ARRIVAL_WINDOW_MS = 10 * 60_000;

  /**
   * Whether a user this server has not heard of, whose token (signed with the cluster's key) was
   * issued at {@code issuedAtMs}, may yet arrive from a peer: it was made there recently, or a
   * peer this server knows of is not linked now and may hold it.
   */
  public boolean userMayArrive(long issuedAtMs) {
    if (!acceptsPeers()) return false;
    return System.currentTimeMillis() - issuedAtMs < USER_ARRIVAL_WINDOW_MS || !allPeersLinked();
  }

  /** Whether this server is in a cluster and some peer it knows of is not linked now. */
  public boolean cutOffFromAPeer() {
    return acceptsPeers() && !allPeersLinked();
  }

  private boolean allPeersLinked() {
    // a link either way will do: of two servers that dial each other, one link stands down
    for (LinkStatus out : dialed) if (out.link() == null && (out.peer() == null || !linkedTo(out.peer()))) return false;
    for (LinkStatus in : accepted.values()) if (!linkedTo(in.peer())) return false;
    for (PeerAck a : acks.values()) if (!forgotten.contains(a.peer()) && !linkedTo(a.peer())) return false;
    return true;
  }

  // ---- confirmations, quorum, purge ----

  /**
   * A peer confirmed it applied {@code db} of {@code epoch} through {@code seq}; its own head of
   * that database was {@code peerHead}, of its epoch {@code peerEpoch}.
   */
  void acked(String peer, String db, String epoch, long seq, long peerHead, String peerEpoch) {
    if (forgotten.contains(peer)) return; // an ack still on its way from the link forget() is closing
    PeerAck a = new PeerAck(peer, db, epoch, seq, peerHead, peerEpoch);
    String key = peer + '\0' + db;
    acks.put(key, a);
    unsaved.put(key, a);
    quorum.confirmed(peer, db, epoch, seq);
    if (forgotten.contains(peer)) { // forgotten meanwhile (forget() runs on another thread): undone here too
      acks.remove(key, a);
      unsaved.remove(key, a);
      quorum.forget(peer);
    }
  }

  /**
   * This server holds everything of {@code peer}'s {@code db} (of the peer's {@code epoch})
   * through {@code seq}, durably. A new epoch starts over.
   */
  void applied(String peer, String db, String epoch, long seq) {
    String key = peer + '\0' + db;
    PeerCursor kept = applied.merge(key, new PeerCursor(peer, db, epoch, seq),
        (old, now) -> old.epoch().equals(now.epoch()) && old.seq() > now.seq() ? old : now);
    // not of a database this server does not hold: one destroyed here goes on being fed (empty
    // frames, subscribed) until the destroy reaches the peer, and forgetDatabase has run by then.
    // Looked at after the merge: the store lets go of the database before forgetDatabase runs
    if (store.database(db).isEmpty()) applied.remove(key, kept);
    if (db.equals(SystemDb.NAME)) {
      // the peer's users and policies are durable here through seq: the policies it had for a database it offered are too
      awaitingPolicy.forEach((name, waits) -> {
        if (waits.stream().anyMatch(w -> w.peer().equals(peer) && w.systemEpoch().equals(epoch) && w.systemSeq() <= seq)) {
          policiesHere(name);
        }
      });
    }
  }

  /**
   * A link says {@code peer}'s {@code $system} is of life {@code epoch}, at {@code head}. A wait for
   * a seq of another life of it (the peer was restored, or restarted without fsyncs since) would
   * end on a seq that means nothing in this one, early or never: it waits for this life's head
   * instead, where the policies the peer has now are. Stored in the same step, as in {@link #offered}.
   */
  void systemLife(String peer, String epoch, long head) {
    for (String db : awaitingPolicy.keySet()) {
      awaitingPolicy.computeIfPresent(db, (k, waits) -> {
        if (waits.removeIf(w -> w.peer().equals(peer) && !w.systemEpoch().equals(epoch))) {
          waits.add(new PolicyWait(peer, epoch, head));
          committer.execute(s -> {
            s.savePolicyWait(db, peer, epoch, head);
            return null;
          });
        }
        return waits;
      });
    }
  }

  /**
   * {@code peer}'s feed of {@code db} starts over under {@code epoch}. A cursor of the old epoch
   * not stored yet is dropped: stored after the new epoch's first data, it would replace that
   * cursor, and the next link would download the database again from 0.
   */
  void feedReset(String peer, String db, String epoch) {
    applied(peer, db, epoch, 0);
    unsavedCursors.computeIfPresent(peer + '\0' + db, (k, c) -> c.epoch().equals(epoch) ? c : null);
  }

  /**
   * A peer's feed cursor moved without data to store with it (empty frames, {@code synced}): it is
   * stored within a second, so a restart does not go back further than that.
   */
  void cursorMoved(PeerCursor c) {
    unsavedCursors.put(c.peer() + '\0' + c.db(), c);
  }

  private void saveAcks() {
    if (unsaved.isEmpty() && unsavedCursors.isEmpty()) return;
    List<PeerAck> batch = new ArrayList<>(unsaved.values());
    batch.forEach(a -> unsaved.remove(a.peer() + '\0' + a.db(), a));
    List<PeerCursor> cursors = new ArrayList<>(unsavedCursors.values());
    cursors.forEach(c -> unsavedCursors.remove(c.peer() + '\0' + c.db(), c));
    committer.execute(s -> {
      // not those of a peer forgotten since they were taken: stored after its forgetting, they
      // would count it again after a restart and hold purging back until it was forgotten again
      s.savePeerAcks(batch.stream().filter(a -> !forgotten.contains(a.peer()) && acks.containsKey(a.peer() + '\0' + a.db())).toList());
      // an ack that raced its database's destroy (the store did not keep it): not kept here either
      batch.stream().filter(a -> s.database(a.db()).isEmpty()).forEach(a -> {
        acks.remove(a.peer() + '\0' + a.db(), a);
        quorum.forget(a.peer(), a.db(), a.epoch());
      });
      // after the data writes queued before: a stored cursor never passes stored data; and not
      // one of an epoch the feed has left since it was taken (it would replace the new epoch's)
      s.saveCursors(cursors.stream().filter(c -> {
        PeerCursor now = applied.get(c.peer() + '\0' + c.db());
        return now != null && now.epoch().equals(c.epoch());
      }).toList());
      return null;
    }).onFailure(e -> log.warn("storing peer confirmations failed", e));
  }

  /**
   * {@code db} was destroyed here, and the store dropped the peers' cursors and acks of it with it:
   * they go from memory too, or every database ever destroyed would stay in the maps. On the writer.
   */
  private void forgetDatabase(String db) {
    Predicate<String> of = key -> key.endsWith('\0' + db);
    acks.keySet().removeIf(of);
    unsaved.keySet().removeIf(of);
    applied.keySet().removeIf(of);
    unsavedCursors.keySet().removeIf(of);
    settledBuckets.keySet().removeIf(of);
    quorum.forgetDatabase(db);
    // what each link compared of it: on the link's own loop, the only one that touches it
    List<LinkStatus> statuses = new ArrayList<>(dialed);
    statuses.addAll(accepted.values());
    for (LinkStatus s : statuses) {
      PeerLink l = s.link();
      if (l != null) l.context().runOnContext(v -> l.digests().databaseDestroyed(db));
    }
  }

  /** The write quorum pushes wait for unless they ask for their own. */
  public int writeQuorum() {
    return options.writeQuorum();
  }

  /**
   * How many servers could ever hold a write: this one, every peer it knows by id (linked now or
   * before) and has not forgotten, and every dialed peer not yet reached.
   */
  public int clusterSize() {
    java.util.Set<String> ids = new java.util.HashSet<>(accepted.keySet());
    for (PeerAck a : acks.values()) ids.add(a.peer());
    int unknown = 0;
    for (LinkStatus s : dialed) {
      // a URL last known as a forgotten server and not heard from since may be a new server now
      if (s.peer() == null || (!s.heardFrom() && forgotten.contains(s.peer()))) unknown++;
      else ids.add(s.peer());
    }
    ids.remove(serverId);
    ids.removeAll(forgotten); // one still in the peers setting is dialed, and refused
    return 1 + ids.size() + unknown;
  }

  /**
   * Completes, on the caller's context, with how many servers hold {@code db} through
   * {@code seq}: at least {@code w}, or fewer once {@code quorumTimeoutMs} has passed.
   */
  public Future<Integer> awaitQuorum(String db, long seq, int w) {
    var info = store.database(db);
    if (info.isEmpty()) return Future.succeededFuture(1);
    return quorum.await(db, info.get().epoch(), seq, w, options.quorumTimeoutMs());
  }

  /**
   * The highest seq of {@code db} that purging may reach: what every known peer confirmed, counted
   * only for peers whose own changes up to their confirmation this server has applied (so
   * nothing older can still arrive from them). Everything without peers. Called on the writer thread.
   */
  long purgeHorizon(String db) {
    var info = store.database(db);
    if (info.isEmpty()) return 0;
    Map<String, PeerAck> byPeer = new HashMap<>();
    for (PeerAck a : acks.values()) if (a.db().equals(db)) byPeer.put(a.peer(), a);
    boolean unknownPeer = dialed.stream().anyMatch(s -> s.peer() == null);
    java.util.Set<String> peers = new java.util.HashSet<>();
    for (PeerAck a : acks.values()) peers.add(a.peer());
    peers.addAll(accepted.keySet());
    dialed.forEach(s -> { if (s.peer() != null) peers.add(s.peer()); });
    peers.removeAll(forgotten);
    if (peers.isEmpty()) return unknownPeer ? 0 : Long.MAX_VALUE;
    if (unknownPeer) return 0;
    long horizon = Long.MAX_VALUE;
    for (String p : peers) {
      PeerAck a = byPeer.get(p);
      if (a == null || !a.epoch().equals(info.get().epoch())) return 0;
      PeerCursor mine = applied.get(p + '\0' + db);
      if (mine == null) mine = store.peerCursors(p).get(db);
      // everything the peer held when it confirmed, of that same life of its database, is here
      if (mine == null || !mine.epoch().equals(a.peerEpoch()) || mine.seq() < a.peerHead()) return 0;
      horizon = Math.min(horizon, a.seq());
    }
    return horizon;
  }

  /**
   * Forgets a peer that is gone for good: its confirmations no longer hold back purging or count for
   * quorum, and it may not link again. Its values for tombstones purged since would come back, and
   * its acks would count again: a server that returns must rejoin under a new server id, with an
   * empty data folder. Call only while it has no link here ({@link #linkedTo}).
   */
  public Future<Boolean> forget(String peer) {
    forgotten.add(peer);
    // a link that came up just before (the caller checked there was none) ends now
    List<LinkStatus> statuses = new ArrayList<>(dialed);
    if (accepted.get(peer) != null) statuses.add(accepted.get(peer));
    for (LinkStatus s : statuses) {
      PeerLink l = s.link();
      if (l != null && peer.equals(s.peer())) l.context().runOnContext(v -> l.fail(peer + " " + FORGOTTEN));
    }
    boolean known = acks.keySet().removeIf(k -> k.startsWith(peer + '\0')) | accepted.remove(peer) != null;
    // gone for good, its $system never arrives: what waited only for it is opened (an admin sets its policies)
    for (String db : awaitingPolicy.keySet()) endWait(db, waits -> waits.removeIf(w -> w.peer().equals(peer)) && waits.isEmpty());
    unsaved.keySet().removeIf(k -> k.startsWith(peer + '\0'));
    unsavedCursors.keySet().removeIf(k -> k.startsWith(peer + '\0'));
    applied.keySet().removeIf(k -> k.startsWith(peer + '\0'));
    quorum.forget(peer);
    return committer.execute(s -> {
      s.forgetPeer(peer);
      return known;
    });
  }

  // ---- databases ----

  /**
   * A peer offers database {@code db}, made when its {@code $system} (of epoch {@code systemEpoch}) head was {@code systemSeq}; this
   * link has applied that {@code $system} through {@code systemApplied}. Makes the database here if
   * {@code exists} is false, and offers it to the other peers. Unless this server has that
   * {@code $system} already, it waits for those policies first: the policy for new databases may
   * open it wider than the peer's admin did. A new database waits even when its own policy is here:
   * its collections' policies may come later in the same {@code $system}. One that is here waits
   * only when it has no stored policy (one made without a policy, or before waits were stored).
   */
  void offered(String db, long createdAt, boolean exists, String peer, String systemEpoch, long systemSeq, long systemApplied) {
    boolean wait = systemSeq > systemApplied && (!exists || !policyStored.test(db));
    Future<Optional<DatabaseInfo>> made;
    if (wait) {
      // in memory before the database is there for anyone to see; stored before it is made, so a
      // restart keeps it; both in one step, so the store's waits change in the order memory's do
      List<Future<Optional<DatabaseInfo>>> queued = new ArrayList<>(1);
      awaitingPolicy.compute(db, (k, waits) -> {
        Set<PolicyWait> w = waits != null ? waits : ConcurrentHashMap.newKeySet();
        w.add(new PolicyWait(peer, systemEpoch, systemSeq));
        queued.add(committer.execute(s -> {
          s.savePolicyWait(db, peer, systemEpoch, systemSeq);
          return exists ? Optional.<DatabaseInfo>empty() : createUnlessDestroyed(s, db, createdAt);
        }));
        return w;
      });
      made = queued.get(0);
    } else if (!exists) {
      made = committer.execute(s -> createUnlessDestroyed(s, db, createdAt));
    } else {
      return;
    }
    made.onSuccess(created -> {
      if (created.isEmpty()) {
        // not made, as a destroy ended that life: this offer's wait goes too, or it would hide a
        // later life (another peer's wait, for a life it offers, stays)
        if (wait && !exists && store.database(db).isEmpty()) {
          PolicyWait mine = new PolicyWait(peer, systemEpoch, systemSeq);
          endWait(db, waits -> waits.remove(mine) && waits.isEmpty());
        }
        return; // or made meanwhile, and offered by whoever made it
      }
      log.info("created database {} (it exists on a peer{})", db, awaitingPolicy(db) ? "; its policies are on their way" : "");
      // offered now, unless its policies are still awaited (then once they are here)
      if (!awaitingPolicy(db)) hub.databaseCreated(db);
    });
  }

  /**
   * Makes the peer's life of {@code db} here, unless a destroy committed since the offer was read
   * (one from another peer's {@code $system}, queued before this) ends that life: then the link
   * finds the database missing, links again, and that offer is ignored. Made anyway, it would
   * start after the destroy and be offered to every server as a new life.
   */
  private static Optional<DatabaseInfo> createUnlessDestroyed(Store s, String db, long createdAt) {
    String floor = s.floor(db);
    if (floor != null && createdAt <= Hlc.msOf(floor)) return Optional.empty();
    return s.createDatabase(db, createdAt);
  }

  /**
   * Whether clients are told {@code db} is not here yet: a peer brought it, and the policies it
   * has there have not arrived.
   */
  public boolean awaitingPolicy(String db) {
    return awaitingPolicy.containsKey(db);
  }

  /**
   * The policies of {@code db} are here (a peer's {@code $system} through the head it named, or an
   * admin's {@code db.create} on this server): it is open to clients, and offered to the other peers.
   */
  public void policiesHere(String db) {
    endWait(db, waits -> true);
  }

  /**
   * Ends {@code db}'s wait if {@code ends} says so (it may change the waits first): in memory and,
   * in the same step, in the store; then the database is open and offered to the other peers.
   */
  private void endWait(String db, Predicate<Set<PolicyWait>> ends) {
    boolean[] ended = {false};
    awaitingPolicy.computeIfPresent(db, (k, waits) -> {
      if (!ends.test(waits)) return waits;
      committer.execute(s -> {
        s.dropPolicyWaits(db);
        return null;
      });
      ended[0] = true;
      return null;
    });
    if (ended[0] && store.database(db).isPresent()) hub.databaseCreated(db);
  }

  Set<String> localCollections(String db) {
    return localCollections.getOrDefault(db, Set.of());
  }

  // ---- stats ----

  /** {@code server.stats.peers}: one entry per dialed URL and per peer that dialed in. */
  public Future<ArrayNode> stats() {
    List<Future<ObjectNode>> entries = new ArrayList<>();
    dialed.forEach(s -> entries.add(s.describe()));
    accepted.values().forEach(s -> entries.add(s.describe()));
    refused.values().forEach(s -> entries.add(s.describe()));
    return Future.all(entries).map(all -> {
      ArrayNode out = Json.MAPPER.createArrayNode();
      for (Future<ObjectNode> f : entries) {
        ObjectNode entry = f.result();
        // a peer's link in that this server's own link to it covers: not a link that is down
        if ("disconnected".equals(entry.path("state").asText()) && linkedTo(entry.path("peer").asText())) {
          entry.put("state", LinkStatus.State.COVERED.wire);
        }
        // a link that is down: what the peer confirmed still says how far behind it is
        if (!entry.has("databases") && entry.hasNonNull("peer")) {
          ObjectNode dbs = Json.MAPPER.createObjectNode();
          describeConfirmedOnly(entry.get("peer").asText(), dbs);
          if (!dbs.isEmpty()) entry.set("databases", dbs);
        }
        out.add(entry);
      }
      return out;
    });
  }

  /** {@link #describeConfirmed} for each database held here that {@code peer} confirmed something of and {@code dbs} lacks. */
  void describeConfirmedOnly(String peer, ObjectNode dbs) {
    for (String db : quorum.databasesConfirmedBy(peer)) {
      if (!dbs.has(db) && store.database(db).isPresent()) describeConfirmed(peer, db, dbs.putObject(db));
    }
  }

  /**
   * What {@code peer} confirmed of {@code db} here, and how far that is behind this server's head:
   * unlike the peer's own lag, it counts what is stuck on the way (a cut link, a full socket). A
   * confirmation of an earlier life of the database counts as nothing of this one.
   */
  void describeConfirmed(String peer, String db, ObjectNode out) {
    Quorum.Confirmed c = quorum.confirmedBy(peer, db);
    if (c == null) return;
    out.put("confirmed", c.seq());
    store.database(db).ifPresent(i -> out.put("unconfirmedDeltas",
        Store.seqsBetween(i.epoch().equals(c.epoch()) ? c.seq() : 0, i.head())));
  }

  /** True when every dialed link, or the peer's link that covers it, is up and caught up with its peer (true without peers). */
  public boolean caughtUp() {
    return dialed.stream().allMatch(s -> {
      if (s.state() == LinkStatus.State.LIVE) return true;
      LinkStatus in = s.state() == LinkStatus.State.COVERED ? accepted.get(s.peer()) : null; // once: forget() may remove it
      return in != null && in.state() == LinkStatus.State.LIVE;
    });
  }

  // ---- for the links ----

  String serverId() {
    return serverId;
  }

  ReplicationOptions options() {
    return options;
  }

  PeerAuth auth() {
    return auth;
  }

  Store store() {
    return store;
  }

  Committer committer() {
    return committer;
  }

  Hub hub() {
    return hub;
  }

  HlcClock clock() {
    return clock;
  }

  int pageDeltas() {
    return pageDeltas;
  }

  int pageBytes() {
    return pageBytes;
  }
}
