package dev.syncline.server.replication;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.Json;
import dev.syncline.server.auth.SystemDb;
import dev.syncline.server.hub.Subscription;
import dev.syncline.server.store.CommittedDelta;
import dev.syncline.server.store.DatabaseInfo;
import dev.syncline.server.store.ReadFilter;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The sending half of a link: this server's change feed of every database, for the peer. Each
 * database is one hub subscription (catch-up from the peer's cursor, then live, with the hub's
 * rules for slow sockets), opened for every database there is and every one created later. The
 * peer confirms what it applied with {@code feed.ack}.
 */
final class FeedSource {
  private final PeerLink link;
  private final Map<String, Subscription> byDb = new HashMap<>();
  /** The epoch each database is served at, so a database is not offered twice. */
  private final Map<String, String> servedEpoch = new HashMap<>();
  private Runnable stopListening = () -> { };
  private int nextSid = 1;
  private boolean closed;

  FeedSource(PeerLink link) {
    this.link = link;
  }

  /** The peer asked for the feed, from its cursors ({@code {db: {epoch, seq}}}). */
  void onFeed(JsonNode cursors) {
    if (closed || !byDb.isEmpty()) return;
    if (cursors != null && !cursors.isNull() && !cursors.isObject()) throw new IllegalArgumentException("cursors: not an object");
    // listening first: a database created while the others are opened is not missed
    stopListening = link.replication().hub().onDatabaseCreated(
        db -> link.context().runOnContext(v -> open(db, 0, null)));
    for (DatabaseInfo info : link.replication().store().databases()) {
      JsonNode c = cursors == null ? null : cursors.get(info.name());
      // what no server sends (a negative or fractional seq, an epoch that is not one) fails the link
      open(info.name(), c == null ? 0 : PeerFields.count(c, "seq"), c == null ? null : PeerFields.token(c, "epoch"));
    }
  }

  private void open(String db, long since, String epoch) {
    if (closed) return;
    var info = link.replication().store().database(db);
    if (info.isEmpty() || info.get().epoch().equals(servedEpoch.get(db))) return;
    if (link.replication().awaitingPolicy(db)) return; // offered once its policy is here (Replication#policyArrived)
    Subscription before = byDb.remove(db);
    if (before != null) before.close(); // a database destroyed and created again: the new life from 0
    String sid = "f" + nextSid++;
    // announced with the life the hub follows: a destroy and a create since the look above replace it
    Subscription s = link.replication().hub().subscribe(sid, db, null, since, epoch, link.socket(),
        new PeerFilter(link.peer(), link.replication().localCollections(db)), DatabaseInfo::epoch, true, life -> {
          servedEpoch.put(db, life.epoch());
          var subscribed = Json.MAPPER.createObjectNode().put("type", "subscribed").put("sid", sid).put("db", db)
              .put("head", life.head()).put("epoch", life.epoch()).put("createdAt", life.createdAt());
          // where the peer finds this database's policy (stored before it was created, or brought before it was offered)
          if (!db.equals(SystemDb.NAME)) {
            link.replication().store().database(SystemDb.NAME).ifPresent(system -> subscribed.put("systemHead", system.head()));
          }
          link.send(subscribed);
        });
    // null: destroyed since the look above, and nothing offered (the destroy reaches the peer as a change of $system)
    if (s == null) return;
    byDb.put(db, s);
    // ended by the hub (its database destroyed here): let go of it, or a long-lived link keeps
    // every database it ever served. Not one opened since for a new life of the name
    s.onEnded(() -> {
      if (byDb.remove(db, s)) servedEpoch.remove(db);
    });
  }

  /**
   * The peer applied {@code db} (of this server's {@code epoch}) through {@code seq}; its own head was
   * {@code head}. An ack of a database or a life this server no longer has is late, and dropped; one
   * past this server's head cannot be true, and would count the peer as holding writes it does not
   * (quorum, purge horizon).
   */
  void onAck(JsonNode m) {
    String db = PeerFields.db(m);
    String epoch = PeerFields.token(m, "epoch");
    long seq = PeerFields.count(m, "seq");
    long head = PeerFields.count(m, "head");
    // "" (or absent) when the peer has no such database
    String headEpoch = m.has("headEpoch") ? PeerFields.tokenOrEmpty(m, "headEpoch") : "";
    var info = link.replication().store().database(db);
    if (info.isEmpty() || !info.get().epoch().equals(epoch)) return;
    if (seq > info.get().head()) throw new IllegalArgumentException("seq: " + seq + " is past this server's head " + info.get().head());
    link.replication().acked(link.peer(), db, epoch, seq, head, headEpoch);
  }

  void close() {
    closed = true;
    stopListening.run();
    byDb.values().forEach(Subscription::close);
    byDb.clear();
  }

  /**
   * What a peer is sent: everything but this server's local collections, and, live, not the
   * changes that came from that very peer (it has them; in a ring they would only come back as
   * duplicates).
   */
  record PeerFilter(String peer, Set<String> localCollections) implements ReadFilter {
    @Override
    public boolean needsOwner(String col) {
      return false;
    }

    @Override
    public boolean allows(String col, String attr, String owner) {
      return !localCollections.contains(col);
    }

    @Override
    public boolean allowsLive(CommittedDelta d) {
      return !peer.equals(d.source()) && allows(d.delta().col(), d.delta().attr(), null);
    }

    @Override
    public boolean seesOwnerChange(String col, String from, String to) {
      return false;
    }
  }
}
