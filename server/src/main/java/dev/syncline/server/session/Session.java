package dev.syncline.server.session;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.ClientMessage;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.ErrorCode;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.MessageCodec;
import dev.syncline.protocol.ProtocolException;
import dev.syncline.protocol.PushResult;
import dev.syncline.protocol.ServerMessage;
import dev.syncline.server.admin.AdminException;
import dev.syncline.server.auth.Auth;
import dev.syncline.server.auth.AuthChange;
import dev.syncline.server.auth.AuthException;
import dev.syncline.server.auth.Caller;
import dev.syncline.server.auth.ReadAccess;
import dev.syncline.server.auth.SystemDb;
import dev.syncline.server.commit.OverloadedException;
import dev.syncline.server.hub.Subscription;
import dev.syncline.server.replication.Replication;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.Merge;
import io.vertx.core.Future;
import dev.syncline.server.store.BatchOutcome;
import dev.syncline.server.store.CommittedDelta;
import dev.syncline.server.store.DatabaseInfo;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The protocol state of one WebSocket connection: decodes each message, checks it, and dispatches
 * it to the writer, the hub or admin. Runs entirely on the connection's event loop and never
 * blocks: pushes and admin writes return futures from the committer, catch-up reads run on
 * workers inside the hub, password checks on auth's workers.
 *
 * <p>A connection is anonymous until {@code hello.token}, {@code login} or {@code signup} names a
 * user. Every push is checked delta by delta against the policies, every subscription carries its
 * reader's access, and when the user or the policies change its subscriptions are re-checked.
 * When the token expires the connection is told and closed (1008).
 */
public final class Session {
  private static final Logger log = LoggerFactory.getLogger(Session.class);

  /** Close codes of RFC 6455 used by the protocol. */
  public static final short CLOSE_GOING_AWAY = 1001;
  public static final short CLOSE_PROTOCOL_ERROR = 1002;
  public static final short CLOSE_POLICY_VIOLATION = 1008;
  public static final short CLOSE_TOO_BIG = 1009;

  /** How long a client may leave over {@code socketWriteQueueBytes} of answers unread before it is not read either. */
  private static final long UNREAD_GRACE_NANOS = 100_000_000;
  /** Client messages between two looks at the socket's unsent bytes. */
  private static final int SOCKET_CHECK_EVERY = 16;

  /**
   * Ping and pong control frames a client may send per second, and at once. Vert.x answers each
   * ping with a pong before anything here sees it, so they are limited like messages: else a
   * client that sends pings and reads nothing piles up pongs without end.
   */
  static final int CONTROL_FRAMES_PER_SECOND = 50;
  static final int CONTROL_FRAMES_BURST = 200;

  /** Retry hint sent with {@code overloaded}. */
  private static final long OVERLOADED_RETRY_MS = 250;

  private final Connection connection;
  private final SessionServices services;
  private final Map<String, Subscription> subscriptions = new HashMap<>();
  private final TokenBucket badMessages;
  private final TokenBucket messages;
  private final TokenBucket controlFrames = new TokenBucket(CONTROL_FRAMES_BURST, CONTROL_FRAMES_PER_SECOND);
  private Caller caller = Caller.ANONYMOUS;
  /** Set when the connection is a peer server's replication link: its messages go there. */
  private Replication.LinkHandle link;
  private long expiryTimer = -1;
  private String clientId;
  /** After a hello answered {@code overloaded}: the next may not come before this (nanoTime); 0: none was. */
  private long helloAgainFrom;
  private int nextSid = 1;
  private boolean closed;
  /** Deltas of this connection's pushes not answered yet, and whether reading stopped for them. */
  private int unansweredDeltas;
  private long unansweredBytes;
  private boolean pausedForWriter;
  /** Set while the client leaves unread what it was sent (see {@link #checkSocket}). */
  private boolean pausedForSocket;
  /** When the socket was last found over its budget without draining since (nanoTime); -1: it drained. */
  private long fullSince = -1;
  private int sinceSocketCheck;
  private Hold hold = Hold.NONE;

  public Session(Connection connection, SessionServices services) {
    this.connection = connection;
    this.services = services;
    int bad = services.maxBadMessagesPerMinute();
    this.badMessages = new TokenBucket(bad, bad / 60.0);
    int rate = services.messagesPerSecond();
    this.messages = rate == 0 ? null : new TokenBucket(2.0 * rate, rate);
  }

  /** The client's id, once it said hello. */
  public String clientId() {
    return clientId;
  }

  public int subscriptionCount() {
    return subscriptions.size();
  }

  public void onText(String text) {
    if (closed) return;
    if (link != null) {
      link.onText(text);
      return;
    }
    onClientText(text);
    // the socket is looked at every few messages: its answers grow by a few at most meanwhile
    if (++sinceSocketCheck >= SOCKET_CHECK_EVERY) {
      sinceSocketCheck = 0;
      checkSocket();
    }
  }

  /** A ping or pong control frame (WebSocket's, not the {@code ping} message): counted, and the socket looked at, as for messages. */
  public void onControlFrame() {
    if (closed) return;
    if (!controlFrames.take()) {
      close(CLOSE_POLICY_VIOLATION, "too many ping frames");
      return;
    }
    if (++sinceSocketCheck >= SOCKET_CHECK_EVERY) {
      sinceSocketCheck = 0;
      checkSocket();
    }
  }

  private void onClientText(String text) {
    ClientMessage message;
    try {
      message = MessageCodec.decodeClient(text, services.limits());
    } catch (ProtocolException e) {
      refuse(MessageCodec.ridOf(text), e.code(), e.getMessage());
      return;
    } catch (RuntimeException e) {
      // a decoder bug must not pass for the client's fault silently, nor reach the socket's handler
      log.warn("a message could not be decoded", e);
      refuse(MessageCodec.ridOf(text), ErrorCode.BAD_REQUEST, "message: could not be decoded");
      return;
    }
    if (clientId == null) {
      if (message instanceof ClientMessage.Hello hello) {
        onHello(hello);
      } else {
        send(ServerMessage.Error.of(message.rid(), ErrorCode.BAD_REQUEST, "the first message must be hello"));
        close(CLOSE_PROTOCOL_ERROR, "hello first");
      }
      return;
    }
    dispatch(message, text.length());
  }

  public void onBinary() {
    if (!closed) refuse(null, ErrorCode.BAD_REQUEST, "binary frames are not part of the protocol; send JSON text");
  }

  /** The socket closed: end every subscription. */
  public void onClose() {
    if (closed) return; // once: a session that closes itself hears its connection end after
    closed = true;
    if (link != null) link.closed();
    if (expiryTimer >= 0) services.vertx().cancelTimer(expiryTimer);
    expiryTimer = -1;
    subscriptions.values().forEach(Subscription::close);
    subscriptions.clear();
  }

  /** Server shutdown: tell the client to go elsewhere or come back later. */
  public void goAway() {
    close(CLOSE_GOING_AWAY, "server shutting down");
  }

  /** {@code chars}: the message's length as sent, what a push holds on the heap until answered. */
  private void dispatch(ClientMessage message, int chars) {
    if (messages != null && !messages.take()) {
      send(new ServerMessage.Error(message.rid(), ErrorCode.RATE_LIMITED, "too many messages; slow down",
          Math.max(1, messages.retryAfterMs()), null, null, null));
      // a client that ignores the hint is flooding: it spends the malformed-message budget
      if (!badMessages.take()) close(CLOSE_POLICY_VIOLATION, "too many messages");
      return;
    }
    if (message instanceof ClientMessage.Push push) onPush(push, chars);
    else if (message instanceof ClientMessage.Sub sub) onSub(sub);
    else if (message instanceof ClientMessage.Unsub unsub) onUnsub(unsub);
    else if (message instanceof ClientMessage.Ping ping) send(new ServerMessage.Pong(ping.rid()));
    else if (message instanceof ClientMessage.Admin admin) onAdmin(admin);
    else if (message instanceof ClientMessage.Hello hello) {
      refuse(hello.rid(), ErrorCode.BAD_REQUEST, "hello was already said on this connection");
    } else if (message instanceof ClientMessage.Login login) {
      signIn(login.rid(), services.auth().login(login.username(), login.password(), connection.remoteAddress()));
    } else if (message instanceof ClientMessage.Signup signup) {
      signIn(signup.rid(), services.auth().signup(signup.username(), signup.password(), connection.remoteAddress()));
    } else if (message instanceof ClientMessage.Renew renew) {
      try {
        signIn(renew.rid(), io.vertx.core.Future.succeededFuture(services.auth().renew(caller)));
      } catch (AuthException e) {
        send(errorOf(renew.rid(), e));
      }
    }
  }

  // ---- sign-in ----

  private void signIn(JsonNode rid, io.vertx.core.Future<Auth.SignedIn> attempt) {
    attempt.onComplete(ar -> {
      if (closed) return;
      if (ar.succeeded()) {
        Auth.SignedIn s = ar.result();
        if (services.auth().refresh(s.caller()) == null) { // disabled or deleted while it was checked: no token
          send(ServerMessage.Error.of(rid, ErrorCode.UNAUTHENTICATED, "the account was disabled or deleted, or its password changed"));
          return;
        }
        // the subscriptions it reads otherwise now are reset before the token (see become)
        if (become(s)) send(new ServerMessage.Token(rid, s.token(), s.expiresAt(), s.caller().info()));
      } else if (ar.cause() instanceof AuthException e) {
        send(errorOf(rid, e));
      } else if (ar.cause() instanceof OverloadedException e) {
        send(overloaded(rid, e));
      } else {
        log.error("sign-in failed", ar.cause());
        send(ServerMessage.Error.of(rid, ErrorCode.INTERNAL, "sign-in failed"));
      }
    });
  }

  /**
   * The connection is now {@code s.caller()} until its token expires; open subscriptions are
   * re-checked, and those that start over send their reset at once (so it goes before a
   * sign-in's token). False when the user was signed out instead.
   */
  private boolean become(Auth.SignedIn s) {
    // as the directory has it now: a change of this user made while the sign-in was under way (an
    // admin disabling a new account) was told to the connection while it was someone else
    Caller now = services.auth().refresh(s.caller());
    if (now == null) {
      signOut("the account was disabled or deleted, or its password changed");
      return false;
    }
    caller = now;
    if (expiryTimer >= 0) services.vertx().cancelTimer(expiryTimer);
    long in = Math.max(1, s.expiresAt() - System.currentTimeMillis());
    expiryTimer = services.vertx().setTimer(in, id -> {
      expiryTimer = -1;
      signOut("token expired");
    });
    for (Subscription sub : List.copyOf(subscriptions.values())) {
      recheck(sub);
      sub.sendOwedReset(); // also one owed from before (a policy change while the socket was busy)
    }
    return true;
  }

  /**
   * Users or policies changed (called on this connection's loop). When it is this connection's
   * user: a deleted or disabled user, or one with a new password, is signed out and disconnected;
   * new roles re-check every subscription. Otherwise only subscriptions to databases whose
   * policies changed are re-checked.
   */
  public void authChanged(AuthChange change) {
    if (closed || clientId == null) return;
    if (caller.signedIn() && change.users().contains(caller.user())) {
      Caller now = services.auth().refresh(caller);
      if (now == null) {
        signOut("the account was disabled or deleted, or its password changed");
        return;
      }
      caller = now;
      List.copyOf(subscriptions.values()).forEach(this::recheck);
      return;
    }
    for (Subscription s : List.copyOf(subscriptions.values())) if (change.databases().contains(s.db())) recheck(s);
  }

  /** Re-checks one subscription's access; may end it (its database gone), so callers iterate a copy of the map. */
  private void recheck(Subscription s) {
    ReadAccess access = services.auth().readAccess(caller, s.db(), s.cols());
    s.accessChanged(access.filter(), access::epoch);
  }

  private void signOut(String why) {
    send(ServerMessage.Error.of(null, ErrorCode.UNAUTHENTICATED, why));
    close(CLOSE_POLICY_VIOLATION, why);
  }

  private static ServerMessage.Error overloaded(JsonNode rid, OverloadedException e) {
    return new ServerMessage.Error(rid, ErrorCode.OVERLOADED, e.getMessage(), OVERLOADED_RETRY_MS, null, null, null);
  }

  private static ServerMessage.Error errorOf(JsonNode rid, AuthException e) {
    return new ServerMessage.Error(rid, e.code(), e.getMessage(), e.retryAfterMs(), null, null, null);
  }

  private void onHello(ClientMessage.Hello hello) {
    if (hello.protocol() != MessageCodec.PROTOCOL_VERSION) {
      send(ServerMessage.Error.of(hello.rid(), ErrorCode.UNSUPPORTED_PROTOCOL,
          "this server speaks protocol " + MessageCodec.PROTOCOL_VERSION));
      close(CLOSE_PROTOCOL_ERROR, "unsupported protocol");
      return;
    }
    if (helloAgainFrom != 0 && System.nanoTime() - helloAgainFrom < 0) {
      close(CLOSE_POLICY_VIOLATION, "hello again before retryAfterMs");
      return;
    }
    if (hello.peer() != null) {
      acceptPeer(hello);
      return;
    }
    Auth.SignedIn signedIn = null;
    if (hello.token() != null) {
      try {
        signedIn = services.auth().authenticate(hello.token(), services.replication()::userMayArrive);
      } catch (AuthException e) {
        send(errorOf(hello.rid(), e));
        if (e.code() != ErrorCode.OVERLOADED) {
          close(CLOSE_POLICY_VIOLATION, "bad token");
        } else {
          // the user is on its way from a peer: the client says hello again on this connection, not sooner
          helloAgainFrom = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(e.retryAfterMs() / 2);
        }
        return;
      }
    }
    clientId = hello.clientId();
    if (signedIn != null) become(signedIn);
    send(new ServerMessage.Welcome(hello.rid(), MessageCodec.PROTOCOL_VERSION, services.serverId(),
        System.currentTimeMillis(), caller.info(), services.limits()));
  }

  /** Another server dialing in to replicate: if it proves it knows the cluster secret, the link takes the connection over. */
  private void acceptPeer(ClientMessage.Hello hello) {
    ObjectNode welcome;
    try {
      welcome = (ObjectNode) Json.MAPPER.readTree(MessageCodec.encode(new ServerMessage.Welcome(hello.rid(),
          MessageCodec.PROTOCOL_VERSION, services.serverId(), System.currentTimeMillis(), null, services.limits())));
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
    Replication.LinkHandle accepted = services.replication().accept(new PeerConnection(connection), hello.clientId(),
        hello.peer(), hello.rid(), welcome);
    if (accepted == null) return; // refused, answered and closed
    connection.allowMessagesUpTo(Replication.PEER_MESSAGE_BYTES);
    clientId = hello.clientId();
    link = accepted;
  }

  // ---- push ----

  private void onPush(ClientMessage.Push push, int chars) {
    if (push.db().startsWith("$")) {
      answerPush(ServerMessage.Error.of(push.rid(), ErrorCode.FORBIDDEN, "db: " + push.db() + " is reserved"));
      return;
    }
    Optional<DatabaseInfo> db = database(push.db());
    if (db.isEmpty()) {
      answerPush(ServerMessage.Error.of(push.rid(), ErrorCode.NOT_FOUND, "no database " + push.db()));
      return;
    }
    Replication replication = services.replication();
    int w = push.w() == 0 ? replication.writeQuorum() : push.w();
    if (w > 1 && w > replication.clusterSize()) {
      answerPush(ServerMessage.Error.of(push.rid(), ErrorCode.BAD_REQUEST, "w: " + w + " servers cannot hold this write: "
          + replication.clusterSize() + " server(s) of this cluster are known here"));
      return;
    }
    int n = push.deltas().size();
    PushResult[] refused = new PushResult[n];
    List<Delta> accepted = new ArrayList<>(push.deltas());
    Screened screened = screen(push, refused, accepted);
    int acceptedCount = screened.accepted();
    if (acceptedCount == 0) {
      answerPush(new ServerMessage.Ack(push.rid(), push.db(), db.get().head(), results(refused, null, 0)));
      return;
    }
    holdUntilAnswered(acceptedCount, chars);
    int held = acceptedCount;
    services.committer().push(push.db(), accepted, caller.user(), services.auth().writeGuard(caller, push.db()))
        .onSuccess(outcome -> takeInStoredTimes(outcome, screened.latest())) // before the ack, which the handlers below send
        .compose(outcome -> w <= 1 || outcome.missing() || !holdsAny(outcome) ? Future.succeededFuture(new Held(outcome, w))
            : replication.awaitQuorum(push.db(), outcome.head(), w).map(servers -> new Held(outcome, servers)))
        .onComplete(ar -> {
      answered(held, chars);
      if (ar.succeeded()) {
        BatchOutcome outcome = ar.result().outcome();
        if (outcome.missing()) {
          answerPush(ServerMessage.Error.of(push.rid(), ErrorCode.NOT_FOUND, "no database " + push.db()));
        } else {
          int servers = ar.result().servers();
          answerPush(new ServerMessage.Ack(push.rid(), push.db(), outcome.head(), results(refused, outcome, servers < w ? servers : 0)));
        }
      } else if (ar.cause() instanceof OverloadedException e) {
        answerPush(overloaded(push.rid(), e));
      } else {
        answerPush(ServerMessage.Error.of(push.rid(), ErrorCode.INTERNAL, "the write could not be stored"));
      }
    });
  }

  /**
   * The server's clock takes in the latest ts the push stored, before it is acknowledged, so a
   * destroy or other server write after the ack is stamped later than it. Only what was stored:
   * deltas the policy refused must not move the clock (up to maxClockSkewMs ahead), or anyone
   * could push every later server timestamp into the future. {@code latest} is the push's latest
   * ts: when that one was stored, it is taken without looking further.
   */
  private void takeInStoredTimes(BatchOutcome outcome, String latest) {
    String stored = null;
    for (CommittedDelta d : outcome.committed()) {
      String ts = d.delta().ts();
      if (ts.equals(latest)) {
        stored = ts;
        break;
      }
      if (stored == null || ts.compareTo(stored) > 0) stored = ts;
    }
    if (stored != null) services.clock().receive(stored);
  }

  /** How many of a push's deltas {@link #screen} let through, and the latest ts among them (null if none). */
  private record Screened(int accepted, String latest) {}

  /**
   * Refuses the deltas of a push that the decoder rejected, that carry another origin's ts, or
   * that are too far ahead of the server's clock: their {@code refused} slot is filled and their
   * {@code accepted} one emptied. The loop is a method of its own so that the JIT compiles it, not
   * all of {@code onPush} with it, while a long push runs (on-stack replacement), and then compiles
   * {@code onPush} once more whole: in {@code writes-100} that was two compilations of 0.4-0.5 s.
   */
  private Screened screen(ClientMessage.Push push, PushResult[] refused, List<Delta> accepted) {
    long now = System.currentTimeMillis();
    long maxMs = now + services.limits().maxClockSkewMs();
    int acceptedCount = 0;
    String latest = null; // the clock needs only the push's latest ts: one parse and one lock per push
    for (int i = 0; i < refused.length; i++) {
      ProtocolException reject = push.rejects().get(i);
      Delta d = accepted.get(i);
      if (reject != null) {
        refused[i] = PushResult.refused(reject.code(), reject.getMessage());
      } else if (!isOwnOrigin(d.ts())) {
        refused[i] = PushResult.refused(ErrorCode.BAD_REQUEST, "ts: its ORIGIN must be this connection's clientId, " + clientId);
        accepted.set(i, null);
      } else if (Hlc.msOf(d.ts()) > maxMs) {
        refused[i] = PushResult.clockSkew("ts is " + (Hlc.msOf(d.ts()) - now) + " ms ahead of the server clock", now);
        accepted.set(i, null);
      } else {
        // valid timestamps order as strings: MS and COUNTER are fixed-width, so the latest sorts last
        if (latest == null || d.ts().compareTo(latest) > 0) latest = d.ts();
        acceptedCount++;
      }
    }
    return new Screened(acceptedCount, latest);
  }

  /**
   * Counts a push's deltas and bytes until its answer; past {@code maxUnansweredDeltas} or
   * {@code maxUnansweredBytes} the connection is not read until both are down to half. A client that sends faster than the writer commits then waits in
   * TCP, and its pushes wait as bytes in socket buffers instead of decoded deltas on the heap, where
   * every young collection copies them again: in {@code writes-100} (100,000 deltas in flight) GC
   * pauses fell from ~1.5 s to ~0.5 s of a 5-7 s run with the default bound, a full group's worth.
   */
  private void holdUntilAnswered(int deltas, int chars) {
    unansweredDeltas += deltas;
    unansweredBytes += chars;
    if (!pausedForWriter && (unansweredDeltas >= services.maxUnansweredDeltas() || unansweredBytes >= services.maxUnansweredBytes())) {
      pausedForWriter = true;
      services.metrics().pushesPaused();
      readWhenAllowed();
    }
  }

  private void answered(int deltas, int chars) {
    unansweredDeltas -= deltas;
    unansweredBytes -= chars;
    if (pausedForWriter && unansweredDeltas <= services.maxUnansweredDeltas() / 2
        && unansweredBytes <= services.maxUnansweredBytes() / 2) {
      pausedForWriter = false;
      readWhenAllowed();
    }
  }

  /**
   * Holds back a client that leaves its answers unread (pongs, acks, errors), which would otherwise
   * pile up on the server's heap without bound: once more than {@code socketWriteQueueBytes} stay
   * unsent for {@link #UNREAD_GRACE_NANOS}, its requests wait in TCP until it reads. The grace
   * spares a client that reads: a pipelining writer's acks fill the budget for a moment each group
   * commit. Called every {@link #SOCKET_CHECK_EVERY} messages; a look per message cost
   * {@code writes-1} ~13% (bench/README.md, nineteenth pass). Subscriptions hold back on their own.
   */
  private void checkSocket() {
    if (!pausedForSocket && !closed && connection.writeQueueFull()) {
      long now = System.nanoTime();
      if (fullSince < 0) {
        fullSince = now;
        connection.whenDrained(() -> {
          fullSince = -1;
          if (pausedForSocket) {
            pausedForSocket = false;
            readWhenAllowed();
          }
        });
      } else if (now - fullSince > UNREAD_GRACE_NANOS) {
        pausedForSocket = true;
      }
    }
    readWhenAllowed();
  }

  /**
   * Reads the socket only while neither the writer nor the socket ({@link #checkSocket}) holds this
   * client back. Held for the writer, it is never idle: it may be waiting on the server alone.
   */
  private void readWhenAllowed() {
    Hold hold = pausedForWriter ? Hold.WRITER : pausedForSocket ? Hold.SOCKET : Hold.NONE;
    if (hold == this.hold) return;
    this.hold = hold;
    switch (hold) {
      case WRITER -> connection.pause();
      case SOCKET -> connection.pauseUntilRead();
      case NONE -> connection.resume();
    }
  }

  /** Why the socket is not read, if it is not. */
  private enum Hold { NONE, WRITER, SOCKET }

  /** Sends a push's answer, counted for {@code /metrics}. */
  private void answerPush(ServerMessage answer) {
    if (answer instanceof ServerMessage.Ack ack) services.metrics().pushAcked(ack.results());
    else if (answer instanceof ServerMessage.Error e) services.metrics().pushRefused(e.code());
    if (!closed && connection.isOpen()) connection.sendSoon(answer);
  }

  /** A committed push and how many servers hold it. */
  private record Held(BatchOutcome outcome, int servers) {}

  /** One result per pushed delta; {@code shortOfQuorum} > 0: only that many servers held the stored ones in time. */
  private static List<PushResult> results(PushResult[] refused, BatchOutcome outcome, int shortOfQuorum) {
    List<PushResult> out = new ArrayList<>(refused.length);
    for (int i = 0; i < refused.length; i++) {
      if (refused[i] != null) out.add(refused[i]);
      else if (outcome.outcomes().get(i) == null) out.add(FORBIDDEN_DELTA); // the policy refused it
      else if (shortOfQuorum > 0) out.add(PushResult.quorumTimeout(shortOfQuorum, "held by " + shortOfQuorum
          + " server(s) when the quorum timed out; it is stored here and still replicates, a resend is safe"));
      else out.add(PushResult.of(outcome.outcomes().get(i)));
    }
    return out;
  }

  /** Whether a timestamp's ORIGIN is this connection's clientId: a client writes only as itself. */
  private boolean isOwnOrigin(String ts) {
    return ts.length() == 19 + clientId.length() && ts.startsWith(clientId, 19);
  }

  /**
   * Whether the push has anything for other servers to hold: a delta applied, stored before (a
   * retry after quorum_timeout waits again) or superseded (the newer value may be on this server
   * alone). Every delta refused by the policy: nothing to wait for.
   */
  private static boolean holdsAny(BatchOutcome outcome) {
    for (Merge.Outcome o : outcome.outcomes()) if (o != null) return true;
    return false;
  }

  /** A database as clients see it: one a peer brought is not here until its policy is (see Replication#awaitingPolicy). */
  private Optional<DatabaseInfo> database(String name) {
    return services.replication().awaitingPolicy(name) ? Optional.empty() : services.store().database(name);
  }

  private static final PushResult FORBIDDEN_DELTA =
      PushResult.refused(ErrorCode.FORBIDDEN, "the policy does not let you write this document");

  // ---- subscriptions ----

  private void onSub(ClientMessage.Sub sub) {
    if (subscriptions.size() >= services.limits().maxSubscriptions()) {
      send(ServerMessage.Error.of(sub.rid(), ErrorCode.TOO_LARGE,
          "at most " + services.limits().maxSubscriptions() + " subscriptions per connection"));
      return;
    }
    if (sub.db().startsWith("$") && !sub.db().equals(SystemDb.NAME)) {
      send(ServerMessage.Error.of(sub.rid(), ErrorCode.FORBIDDEN, "db: " + sub.db() + " is reserved"));
      return;
    }
    Optional<DatabaseInfo> db = database(sub.db());
    if (db.isEmpty()) {
      send(ServerMessage.Error.of(sub.rid(), ErrorCode.NOT_FOUND, "no database " + sub.db()));
      return;
    }
    // roles as they are now: a change already published but not yet told to this connection
    // (authChanged is on its way) must not open a subscription under the old roles
    Caller now = services.auth().refresh(caller);
    if (now == null) {
      signOut("the account was disabled or deleted, or its password changed");
      return;
    }
    caller = now;
    ReadAccess access = services.auth().readAccess(caller, sub.db(), sub.cols());
    if (access.nothing(sub.cols())) {
      send(ServerMessage.Error.of(sub.rid(), ErrorCode.FORBIDDEN,
          caller.signedIn() ? "the policy does not let you read " + sub.db() : "sign in to read " + sub.db()));
      return;
    }
    String sid = "s" + nextSid++;
    var cols = sub.cols() == null ? null : java.util.Set.copyOf(new LinkedHashSet<>(sub.cols()));
    // announced with the life the hub follows: a destroy and a create since the look above replace it
    Subscription s = services.hub().subscribe(sid, sub.db(), cols, sub.since(), sub.epoch(), connection,
        access.filter(), access::epoch, false,
        info -> send(new ServerMessage.Subscribed(sub.rid(), sid, sub.db(), info.head(), access.epoch(info))));
    if (s == null) {
      send(ServerMessage.Error.of(sub.rid(), ErrorCode.NOT_FOUND, "no database " + sub.db())); // destroyed since the look above
      return;
    }
    subscriptions.put(sid, s);
    s.onEnded(() -> subscriptions.remove(sid, s)); // destroyed or failed: no longer this connection's
  }

  private void onUnsub(ClientMessage.Unsub unsub) {
    Subscription s = subscriptions.remove(unsub.sid());
    if (s == null) {
      send(ServerMessage.Error.of(unsub.rid(), ErrorCode.NOT_FOUND, "no subscription " + unsub.sid()));
      return;
    }
    s.close();
    send(new ServerMessage.Ok(unsub.rid()));
  }

  // ---- admin ----

  private void onAdmin(ClientMessage.Admin admin) {
    services.admin().handle(caller, admin.op(), admin.args()).onComplete(ar -> {
      if (ar.succeeded()) {
        send(new ServerMessage.Result(admin.rid(), ar.result()));
      } else if (ar.cause() instanceof AdminException e) {
        send(new ServerMessage.Error(admin.rid(), e.code(), e.getMessage(), e.retryAfterMs(), null, null, null));
      } else if (ar.cause() instanceof AuthException e) {
        send(errorOf(admin.rid(), e)); // e.g. rate_limited while too many passwords are being hashed
      } else if (ar.cause() instanceof OverloadedException e) {
        send(overloaded(admin.rid(), e));
      } else {
        log.error("admin op {} failed", admin.op(), ar.cause());
        send(ServerMessage.Error.of(admin.rid(), ErrorCode.INTERNAL, "admin op failed"));
      }
    });
  }

  // ---- errors and output ----

  /** Answers a bad message; a connection that keeps sending them is closed with 1008. */
  private void refuse(JsonNode rid, ErrorCode code, String message) {
    if (clientId == null) {
      send(ServerMessage.Error.of(rid, code, message));
      close(CLOSE_PROTOCOL_ERROR, "hello first");
      return;
    }
    send(ServerMessage.Error.of(rid, code, message));
    if (!badMessages.take()) close(CLOSE_POLICY_VIOLATION, "too many malformed messages");
  }

  private void send(ServerMessage message) {
    if (!closed && connection.isOpen()) connection.send(message);
  }

  private void close(short code, String reason) {
    if (closed) return;
    onClose();
    connection.close(code, reason);
  }
}
