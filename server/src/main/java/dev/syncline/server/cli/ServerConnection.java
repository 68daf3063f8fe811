package dev.syncline.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A signed-in protocol connection to a running server, for commands run from a shell: each call
 * blocks until the server answers. Admin ops go over {@code /sync} exactly as any client sends
 * them, so the server checks and replicates them as usual.
 */
final class ServerConnection implements AutoCloseable {
  private static final long TIMEOUT_SECONDS = 30;

  private final Vertx vertx = Vertx.vertx();
  private final Remote remote;
  private final Map<Long, CompletableFuture<JsonNode>> waiting = new ConcurrentHashMap<>();
  private final AtomicLong rids = new AtomicLong();
  private final CompletableFuture<Void> closed = new CompletableFuture<>();
  // held for as long as the connection: Vert.x closes a client that is no longer referenced
  private io.vertx.core.http.WebSocketClient client;
  private WebSocket socket;
  private String token;

  private ServerConnection(Remote remote) {
    this.remote = remote;
  }

  /** Connects to {@code remote}'s server and signs in as its user. */
  static ServerConnection open(Remote remote) {
    ServerConnection c = new ServerConnection(remote);
    try {
      c.connect();
      JsonNode welcome = c.request(Json.MAPPER.createObjectNode().put("type", "hello").put("protocol", 1)
          .put("clientId", "cli-" + UUID.randomUUID().toString().substring(0, 8)));
      if (!welcome.path("type").asText().equals("welcome")) throw new CliException("the server said: " + welcome);
      JsonNode signedIn = c.request(Json.MAPPER.createObjectNode().put("type", "login")
          .put("username", remote.user()).put("password", remote.password()));
      c.token = signedIn.path("token").asText();
      return c;
    } catch (RuntimeException e) {
      c.close();
      throw e;
    }
  }

  /** Runs admin op {@code op} and returns its {@code data}; a refusal is a {@link CliException} with the server's words. */
  JsonNode admin(String op, ObjectNode args) {
    ObjectNode m = Json.MAPPER.createObjectNode().put("type", "admin").put("op", op);
    m.set("args", args);
    return request(m).path("data");
  }

  /** Signs in, runs one admin op, prints its answer as JSON; the exit code of a command that does only that. */
  static int runAndPrint(Remote remote, String op, ObjectNode args) {
    try (ServerConnection server = open(remote)) {
      Output.json(server.admin(op, args));
    }
    return 0;
  }

  /** The token the server gave at sign-in, for HTTP requests. */
  String token() {
    return token;
  }

  /**
   * {@code GET path} with the token, written to {@code file}, a new file; fails unless the answer
   * is 200. A download cut off, or refused while the server sends another (429) or starts (503),
   * fails with {@link CliException#retryAfterMs}: the same download may be asked for again.
   * Returns nothing; {@code created} is set once this call made the file (only then is a failed
   * one's file its own to delete).
   */
  void download(String path, Path file, java.util.concurrent.atomic.AtomicBoolean created) {
    // held, and closed here: Vert.x closes a client nobody references, whatever it is doing
    HttpClient http = vertx.createHttpClient(remote.withTrust(new HttpClientOptions()));
    RequestOptions request = new RequestOptions().setMethod(HttpMethod.GET).setAbsoluteURI(remote.httpUrl() + path)
        .putHeader("authorization", "Bearer " + token).setIdleTimeout(0);
    try {
      await(http.request(request).compose(req -> req.send()).compose(resp -> {
        if (resp.statusCode() != 200) return resp.body().compose(body -> Future.failedFuture(refused(path, resp.statusCode(), body)));
        resp.pause(); // until the file is open
        // a backup holds the token signing key and password hashes: its owner's only
        return vertx.fileSystem().open(file.toString(), new io.vertx.core.file.OpenOptions().setCreateNew(true).setPerms("rw-------"))
            .compose(out -> {
              created.set(true);
              return resp.pipeTo(out);
            });
      }), TimeUnit.HOURS.toSeconds(6));
    } finally {
      http.close();
    }
  }

  /** How long to wait before asking again after a download was cut off. */
  private static final long RETRY_CUT_OFF_MS = 1_000;
  /** The longest wait the server may ask for before a backup is asked for again. */
  private static final long RETRY_AFTER_MAX_MS = 60_000;

  /** A refusal in the server's words; one that says when to ask again (429: busy, 503: starting) may pass. */
  private static CliException refused(String path, int status, io.vertx.core.buffer.Buffer body) {
    String message = path + ": the server answered " + status + " " + body.toString().trim();
    if (status == 503) return CliException.passing(message, RETRY_CUT_OFF_MS);
    if (status != 429) return new CliException(message);
    long retryAfterMs;
    try {
      retryAfterMs = Json.MAPPER.readTree(body.getBytes()).path("retryAfterMs").asLong(RETRY_CUT_OFF_MS);
    } catch (IOException e) {
      retryAfterMs = RETRY_CUT_OFF_MS;
    }
    return CliException.busy(message, Math.min(RETRY_AFTER_MAX_MS, Math.max(RETRY_CUT_OFF_MS, retryAfterMs)));
  }

  /** Closes the socket and this connection's Vert.x; never fails: what was asked has been done, or has failed already. */
  @Override
  public void close() {
    try {
      if (socket != null) await(socket.close(), TIMEOUT_SECONDS);
    } catch (RuntimeException e) {
      // closing anyway
    }
    try {
      await(vertx.close(), TIMEOUT_SECONDS);
    } catch (RuntimeException e) {
      // the process ends soon; a backup written is not undone by a failed close
    }
  }

  /** GET {@code url} without signing in; the status and the body. */
  static Map.Entry<Integer, String> get(Remote remote, String path) {
    Vertx vertx = Vertx.vertx();
    try {
      HttpClient http = vertx.createHttpClient(remote.withTrust(new HttpClientOptions()));
      return await(http.request(new RequestOptions().setAbsoluteURI(remote.httpUrl() + path))
          .compose(req -> req.send()).compose(resp -> resp.body().map(b -> Map.entry(resp.statusCode(), b.toString()))),
          TIMEOUT_SECONDS);
    } finally {
      vertx.close();
    }
  }

  private void connect() {
    WebSocketClientOptions options = remote.withTrust(new WebSocketClientOptions().setMaxMessageSize(64 << 20));
    client = vertx.createWebSocketClient(options);
    socket = await(client.connect(new WebSocketConnectOptions().setAbsoluteURI(remote.syncUrl())), TIMEOUT_SECONDS);
    socket.textMessageHandler(this::answered);
    socket.closeHandler(v -> {
      closed.complete(null);
      String said = "the server closed the connection" + (socket.closeReason() != null ? ": " + socket.closeReason() : "");
      // gone, going away, or failing for now may pass; a refusal (a policy, the protocol) would come again
      Short code = socket.closeStatusCode();
      boolean mayPass = code == null || code == 1001 || code == 1006 || code == 1011 || code == 1012 || code == 1013;
      CliException gone = mayPass ? CliException.passing(said, RETRY_CUT_OFF_MS) : new CliException(said);
      waiting.values().forEach(f -> f.completeExceptionally(gone));
    });
  }

  private JsonNode request(ObjectNode message) {
    long rid = rids.incrementAndGet();
    message.put("rid", rid);
    CompletableFuture<JsonNode> answer = new CompletableFuture<>();
    waiting.put(rid, answer);
    if (closed.isDone()) answer.completeExceptionally(CliException.passing("the server closed the connection", RETRY_CUT_OFF_MS));
    socket.writeTextMessage(message.toString());
    try {
      JsonNode a = answer.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      if (a.path("type").asText().equals("error")) {
        throw new CliException(a.path("code").asText() + ": " + a.path("message").asText());
      }
      return a;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException("interrupted");
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new CliException(e.getCause().getMessage());
    } catch (TimeoutException e) {
      throw new CliException("no answer from " + remote.syncUrl() + " within " + TIMEOUT_SECONDS + " s");
    } finally {
      waiting.remove(rid);
    }
  }

  private void answered(String text) {
    try {
      JsonNode m = Json.MAPPER.readTree(text);
      CompletableFuture<JsonNode> f = waiting.get(m.path("rid").asLong(-1));
      if (f != null) f.complete(m);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static <T> T await(Future<T> f, long seconds) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(seconds, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException("interrupted");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof CliException c) throw c;
      if (cutOff(cause)) throw CliException.passing(describe(cause), RETRY_CUT_OFF_MS);
      throw new CliException(describe(cause));
    } catch (TimeoutException e) {
      throw new CliException("no answer within " + seconds + " s");
    }
  }

  /**
   * A connection lost on the way, which may not be lost the next time: closed or reset by the other
   * side. Not a server that cannot be reached, a certificate refused, nor a file that cannot be
   * written: those fail again.
   */
  private static boolean cutOff(Throwable t) {
    // a reset is a SocketException; a refused connection is one too, but it fails again. Not any
    // IOException: writing the file (a full disk) fails with one
    return t instanceof io.vertx.core.http.HttpClosedException
        || t instanceof java.nio.channels.ClosedChannelException
        || t instanceof java.net.SocketException && !(t instanceof java.net.ConnectException)
        || t instanceof io.netty.handler.codec.http.websocketx.WebSocketHandshakeException && String.valueOf(t.getMessage()).contains("closed");
  }

  /** A connection failure in words: "connection refused: 127.0.0.1:8080" rather than a class name. */
  private static String describe(Throwable t) {
    String message = t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    if (t instanceof java.net.ConnectException || message.contains("Connection refused")) {
      return "cannot reach the server: " + message + " (is it running? see --url)";
    }
    if (t instanceof javax.net.ssl.SSLException || t.getCause() instanceof javax.net.ssl.SSLException) {
      return "TLS: " + message + " (give the server's certificate with --trust)";
    }
    return message;
  }
}
