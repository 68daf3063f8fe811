package dev.syncline.server.replication;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.MessageCodec;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.net.PemTrustOptions;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one link to a peer URL up: dials, proves this server knows the cluster secret
 * ({@code hello.peer}), checks the peer's proof in {@code welcome.peer}, and hands the socket to
 * a {@link PeerLink}. Whenever the link ends or cannot be made, it dials again after a capped,
 * jittered exponential backoff. A verticle, so the link lives on one event loop.
 */
final class Dialer extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(Dialer.class);
  private static final long FIRST_RETRY_MS = 100;
  private static final int SOCKET_WRITE_QUEUE_BYTES = 1 << 20;
  /** The smallest {@code maxMessageBytes} a server may have: the frame size for a peer that names none. */
  static final int MIN_FRAME_BYTES = 1024;

  private final Replication replication;
  private final String url;
  private final LinkStatus status;
  private WebSocketClient client;
  private ClientSocket socket;
  private PeerLink link;
  private int failures;
  private boolean stopping;
  /** Not dialing: the peer's own link to this server is up ({@link Replication#coveredByPeer}); {@link #wake} ends it. */
  private boolean standingDown;
  private long handshakeTimer = -1;

  Dialer(Replication replication, String url, LinkStatus status) {
    this.replication = replication;
    this.url = url;
    this.status = status;
  }

  @Override
  public Future<?> start() {
    WebSocketClientOptions options = new WebSocketClientOptions()
        .setMaxMessageSize(Replication.PEER_MESSAGE_BYTES).setMaxFrameSize(Replication.PEER_MESSAGE_BYTES).setConnectTimeout(5000).setClosingTimeout(3);
    String trust = replication.options().trustFile();
    if (trust != null) options.setTrustOptions(new PemTrustOptions().addCertPath(trust)); // wss:// URLs turn TLS on
    client = vertx.createWebSocketClient(options);
    dial();
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    if (socket != null) socket.close((short) 1001, "server shutting down");
    if (link != null) link.closed();
    return client.close();
  }

  private void dial() {
    if (stopping || standDownIfCovered()) return;
    status.state(status.state() == LinkStatus.State.REFUSED || status.state() == LinkStatus.State.CLOCK_AHEAD
        ? status.state() : LinkStatus.State.CONNECTING);
    // a peer that takes the connection and never answers the upgrade (frozen, or a proxy that
    // swallows it) must not hold the dial forever: the handshake has as long as the welcome
    var connect = new WebSocketConnectOptions().setAbsoluteURI(url).setTimeout(3 * replication.options().pingIntervalMs());
    client.connect(connect).onComplete(ar -> {
      if (ar.failed()) {
        status.problem(null, "cannot connect: " + ar.cause().getMessage());
        retry();
      } else {
        opened(ar.result());
      }
    });
  }

  private void opened(WebSocket ws) {
    if (stopping) {
      ws.close();
      return;
    }
    socket = new ClientSocket(ws, context, SOCKET_WRITE_QUEUE_BYTES);
    String nonce = PeerAuth.nonce();
    long time = System.currentTimeMillis();
    String me = replication.serverId();
    ObjectNode hello = Json.MAPPER.createObjectNode().put("type", "hello").put("protocol", MessageCodec.PROTOCOL_VERSION)
        .put("clientId", me);
    hello.putObject("peer").put("serverId", me).put("nonce", nonce).put("time", time)
        .put("proof", replication.auth().dialProof(me, nonce, time));
    ws.textMessageHandler(text -> welcomed(ws, text, nonce));
    ws.closeHandler(v -> closed());
    ws.exceptionHandler(e -> log.debug("link to {}: {}", url, e.toString()));
    socket.sendText(hello.toString());
    // a peer that takes the socket and never answers must not hold this link forever
    ClientSocket waiting = socket;
    handshakeTimer = vertx.setTimer(3 * replication.options().pingIntervalMs(), id -> {
      handshakeTimer = -1;
      if (link == null && socket == waiting) {
        status.problem(null, "no welcome from the peer");
        waiting.close((short) 1001, "no welcome");
      }
    });
  }

  /** The first answer: the peer's welcome and proof, or its refusal. */
  private void welcomed(WebSocket ws, String text, String nonce) {
    // a frame let through after the socket closed (ClientSocket.closed), or after the welcome
    if (socket == null || link != null || !socket.isOpen()) return;
    if (handshakeTimer >= 0) vertx.cancelTimer(handshakeTimer);
    handshakeTimer = -1;
    JsonNode m;
    try {
      m = Json.MAPPER.readTree(text);
    } catch (Exception e) {
      m = Json.MAPPER.createObjectNode();
    }
    JsonNode peer = m.path("peer");
    String peerId = peer.path("serverId").asText(null);
    // the id names the peer in stored keys ($peers), as the accepting side checks it
    if (!"welcome".equals(m.path("type").asText()) || !dev.syncline.protocol.Hlc.isValidOrigin(peerId)
        || !replication.auth().checkAccept(peerId, replication.serverId(), nonce, peer.path("proof").asText(null))) {
      String why = "error".equals(m.path("type").asText()) ? "the peer refused the link: " + m.path("message").asText()
          : "the peer did not prove it knows the cluster secret";
      log.warn("link to {} refused: {}", url, why);
      status.problem(LinkStatus.State.REFUSED, why);
      socket.close((short) 1008, "refused");
      return;
    }
    String why = peerId.equals(replication.serverId()) ? "the peer is this server itself"
        : replication.isForgotten(peerId) ? peerId + " " + Replication.FORGOTTEN : null;
    if (why != null) {
      if (replication.isForgotten(peerId)) replication.answeredAs(status, peerId); // known, so it holds nothing back
      log.warn("link to {} refused: {}", url, why);
      status.problem(LinkStatus.State.REFUSED, why);
      socket.close((short) 1008, "refused");
      return;
    }
    replication.answeredAs(status, peerId);
    // the peer reads frames of up to its maxMessageBytes, and messages of those up to PEER_MESSAGE_BYTES
    socket.frameBytes(m.path("limits").path("maxMessageBytes").asInt(MIN_FRAME_BYTES));
    link = replication.linked(socket, context, peerId, status);
    ws.textMessageHandler(link::onText);
    link.start();
    // forgotten since the check above: forget() may have looked for its link before there was one
    if (replication.isForgotten(peerId)) link.fail(peerId + " " + Replication.FORGOTTEN);
    // checked once this link is up: the peer's link, coming up at the same time, sees this one or is seen here
    else if (replication.coveredByPeer(status)) link.standDown();
  }

  private void closed() {
    try {
      if (socket != null) socket.closed();
      // only a link that got as far as caught up resets the backoff: one that fails soon after
      // each handshake (a clock ahead, a failing apply) is dialed ever more slowly
      if (link != null && link.wasLive()) failures = 0;
      if (link != null) link.closed();
    } finally {
      // whatever closing the link threw, this peer is dialed again
      link = null;
      socket = null;
      retry();
    }
  }

  private void retry() {
    if (stopping || standDownIfCovered()) return;
    long cap = replication.options().reconnectMaxMs();
    long backoff = Math.min(cap, FIRST_RETRY_MS << Math.min(failures, 20));
    failures++;
    long delay = Math.max(1, (long) (backoff * (0.5 + ThreadLocalRandom.current().nextDouble() / 2)));
    vertx.setTimer(delay, id -> dial());
  }

  /** Stands down, without a timer, while the peer's own link to this server covers this URL. */
  private boolean standDownIfCovered() {
    if (!replication.coveredByPeer(status)) return false;
    standingDown = true;
    failures = 0;
    status.state(LinkStatus.State.COVERED);
    return true;
  }

  /** The peer's link to this server ended: a dialer standing down for it dials again. Any thread. */
  void wake() {
    io.vertx.core.Context c = context;
    if (c == null) return; // not started yet: its first dial looks for itself
    c.runOnContext(v -> {
      if (!standingDown) return;
      standingDown = false;
      dial();
    });
  }

  /** The status of the URL this dialer keeps a link to. */
  LinkStatus status() {
    return status;
  }
}
