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

  /** {@code GET path} with the token, written to {@code file}; fails unless the answer is 200. */
  void download(String path, Path file) {
    HttpClient http = vertx.createHttpClient(remote.withTrust(new HttpClientOptions()));
    RequestOptions request = new RequestOptions().setMethod(HttpMethod.GET).setAbsoluteURI(remote.httpUrl() + path)
        .putHeader("authorization", "Bearer " + token).setIdleTimeout(0);
    await(http.request(request).compose(req -> req.send()).compose(resp -> {
      if (resp.statusCode() != 200) {
        return resp.body().compose(body -> Future.failedFuture(new CliException(path + ": the server answered "
            + resp.statusCode() + " " + body.toString().trim())));
      }
      resp.pause(); // until the file is open
      // a backup holds the token signing key and password hashes: its owner's only
      return vertx.fileSystem().open(file.toString(), new io.vertx.core.file.OpenOptions().setCreateNew(true).setPerms("rw-------"))
          .compose(out -> resp.pipeTo(out));
    }), TimeUnit.HOURS.toSeconds(6));
  }

  @Override
  public void close() {
    try {
      if (socket != null) await(socket.close(), TIMEOUT_SECONDS);
    } catch (RuntimeException e) {
      // closing anyway
    }
    await(vertx.close(), TIMEOUT_SECONDS);
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
      CliException gone = new CliException("the server closed the connection"
          + (socket.closeReason() != null ? ": " + socket.closeReason() : ""));
      waiting.values().forEach(f -> f.completeExceptionally(gone));
    });
  }

  private JsonNode request(ObjectNode message) {
    long rid = rids.incrementAndGet();
    message.put("rid", rid);
    CompletableFuture<JsonNode> answer = new CompletableFuture<>();
    waiting.put(rid, answer);
    if (closed.isDone()) answer.completeExceptionally(new CliException("the server closed the connection"));
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
      throw new CliException(describe(cause));
    } catch (TimeoutException e) {
      throw new CliException("no answer within " + seconds + " s");
    }
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
