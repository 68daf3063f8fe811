package dev.syncline.server.replication;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * What {@code server.stats} says about one peer: one per dialed URL, and one per peer that dialed
 * in. It outlives connections, so a link that keeps failing shows why.
 */
final class LinkStatus {
  enum State {
    CONNECTING("connecting"), CATCHING_UP("catching-up"), LIVE("live"), REFUSED("refused"),
    CLOCK_AHEAD("clock-ahead"), DISCONNECTED("disconnected"),
    /** No link of its own while the peer's link to this server is up: one link per pair of servers. */
    COVERED("covered");

    final String wire;

    State(String wire) {
      this.wire = wire;
    }
  }

  private final String url;
  private final boolean dialed;
  private volatile String peer;
  private volatile boolean heardFrom;
  private volatile State state;
  private volatile long since = System.currentTimeMillis();
  private volatile String lastError;
  private volatile long connects;
  private volatile PeerLink link;

  LinkStatus(String url, String peer, boolean dialed) {
    this.url = url;
    this.peer = peer;
    this.dialed = dialed;
    this.state = dialed ? State.CONNECTING : State.DISCONNECTED;
  }

  String url() {
    return url;
  }

  /** Whether this server dials the peer (else the peer dialed in). */
  boolean dialed() {
    return dialed;
  }

  String peer() {
    return peer;
  }

  /** The peer answered as {@code id} in this run (not only known from a stored answer). */
  void answeredAs(String id) {
    this.peer = id;
    this.heardFrom = true;
  }

  /** Whether the peer answered in this run: a dialed URL's stored id may be another server's by now. */
  boolean heardFrom() {
    return heardFrom;
  }

  State state() {
    return state;
  }

  void state(State next) {
    if (next != state) since = System.currentTimeMillis();
    state = next;
  }

  PeerLink link() {
    return link;
  }

  void linked(PeerLink l) {
    link = l;
    connects++;
    state(State.CATCHING_UP);
  }

  /** A link ended; a state of trouble (refused, clock ahead) stays until a link is up again. */
  void unlinked(PeerLink l) {
    if (link != l) return; // an older link of this peer, ending after a newer one came up: the state is the newer's
    link = null;
    if (state == State.CATCHING_UP || state == State.LIVE) state(dialed ? State.CONNECTING : State.DISCONNECTED);
  }

  /** Something went wrong; {@code next} null keeps the state. */
  void problem(State next, String why) {
    lastError = why;
    if (next != null) state(next);
  }

  /** How long {@link #describe} waits for the link's own event loop before answering without its figures. */
  static final long DESCRIBE_WAIT_MS = 1000;

  /**
   * The entry for {@code server.stats}, read on the link's own event loop; completed on the
   * caller's. If that loop does not answer within {@link #DESCRIBE_WAIT_MS}, the entry goes
   * without the link's figures, marked {@code figuresMissing}.
   */
  Future<ObjectNode> describe() {
    ObjectNode out = Json.MAPPER.createObjectNode();
    if (url != null) out.put("url", url);
    out.put("direction", dialed ? "dial" : "accept").put("peer", peer).put("state", state.wire).put("since", since)
        .put("connects", connects);
    if (lastError != null) out.put("lastError", lastError);
    PeerLink l = link;
    if (l == null) return Future.succeededFuture(out);
    Promise<ObjectNode> done = Promise.promise();
    ObjectNode missing = out.deepCopy().put("figuresMissing", true); // made here: the link's loop copies out meanwhile
    // completed back on the caller's loop: what it chains (a /metrics answer, a server.stats
    // frame) writes to a connection of that loop
    Context caller = Vertx.currentContext();
    l.context().runOnContext(v -> {
      ObjectNode withLink = out.deepCopy();
      l.describe(withLink);
      answer(caller, done, withLink);
    });
    // not a Vert.x timer: one set here belongs to the caller's context, and is cancelled with its
    // verticle, and any event loop, the link's among them, may be too busy to run it
    CompletableFuture.delayedExecutor(DESCRIBE_WAIT_MS, TimeUnit.MILLISECONDS)
        .execute(() -> answer(caller, done, missing));
    return done.future();
  }

  private static void answer(Context caller, Promise<ObjectNode> done, ObjectNode entry) {
    if (done.future().isComplete()) return;
    if (caller == null) {
      done.tryComplete(entry);
      return;
    }
    try {
      caller.runOnContext(v -> done.tryComplete(entry));
    } catch (RejectedExecutionException e) {
      done.tryComplete(entry); // its Vert.x is closed: nobody reads the answer on that loop any more
    }
  }
}
