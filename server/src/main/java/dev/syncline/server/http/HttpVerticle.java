package dev.syncline.server.http;

import dev.syncline.server.session.Session;
import dev.syncline.server.session.SessionServices;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.ServerWebSocketHandshake;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.FileSystemAccess;
import io.vertx.ext.web.handler.StaticHandler;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * One event loop's HTTP server: the {@code /sync} WebSocket, {@code /health} and static files.
 * One instance is deployed per event loop; they share the listening port.
 */
public final class HttpVerticle extends VerticleBase {
  /** The WebSocket path of PROTOCOL.md. */
  public static final String SYNC_PATH = "/sync";

  /** Where the build puts the todo example and the JavaScript SDK, on the classpath. */
  static final String BUNDLED_WEB_ROOT = "webroot";

  private final HttpSettings settings;
  private final SessionServices services;
  private final Supplier<JsonObject> health;
  private final Set<Session> sessions = new HashSet<>();
  private HttpServer server;

  public HttpVerticle(HttpSettings settings, SessionServices services, Supplier<JsonObject> health) {
    this.settings = settings;
    this.services = services;
    this.health = health;
  }

  @Override
  public Future<?> start() {
    HttpServerOptions options = new HttpServerOptions()
        .setHost(settings.host())
        .setPort(settings.port())
        .setMaxWebSocketMessageSize(settings.maxMessageBytes())
        .setMaxWebSocketFrameSize(settings.maxMessageBytes())
        .setPerMessageWebSocketCompressionSupported(settings.compression())
        .setPerFrameWebSocketCompressionSupported(false)
        .setRegisterWebSocketWriteHandlers(false)
        .setReadIdleTimeout(settings.readIdleTimeoutSeconds());
    Router router = Router.router(vertx);
    router.get("/health").handler(this::health);
    if (settings.staticDir() != null) {
      router.route("/*").handler(StaticHandler.create(FileSystemAccess.ROOT, settings.staticDir()));
    } else if (settings.bundledWebRoot()) {
      router.route("/*").handler(StaticHandler.create(BUNDLED_WEB_ROOT));
    }
    server = vertx.createHttpServer(options)
        .webSocketHandshakeHandler(this::handshake)
        .webSocketHandler(this::connected)
        .requestHandler(router);
    return server.listen();
  }

  /** The port this instance listens on. */
  public int port() {
    return server.actualPort();
  }

  public int connections() {
    return sessions.size();
  }

  private void handshake(ServerWebSocketHandshake handshake) {
    if (SYNC_PATH.equals(handshake.path())) handshake.accept();
    else handshake.reject(404);
  }

  private void connected(ServerWebSocket ws) {
    WebSocketConnection connection = new WebSocketConnection(ws, context, settings.socketWriteQueueBytes());
    Session session = new Session(connection, services);
    sessions.add(session);
    MessageAssembler assembler = new MessageAssembler(settings.maxMessageBytes(), new MessageAssembler.Receiver() {
      @Override
      public void text(String message) {
        session.onText(message);
      }

      @Override
      public void binary() {
        session.onBinary();
      }

      @Override
      public void close(short code, String reason) {
        connection.close(code, reason);
      }
    });
    ws.frameHandler(assembler::frame);
    ws.exceptionHandler(e -> {
      if (e instanceof CorruptedWebSocketFrameException violation) connection.closeAfterViolation(violation);
    });
    ws.closeHandler(v -> {
      connection.markClosed();
      session.onClose();
      sessions.remove(session);
    });
  }

  private void health(RoutingContext rc) {
    rc.response().putHeader("content-type", "application/json").end(health.get().encode());
  }

  /** Closes every connection with 1001, then stops listening. */
  @Override
  public Future<?> stop() {
    List<Session> open = new ArrayList<>(sessions);
    open.forEach(Session::goAway);
    return server.shutdown(5, java.util.concurrent.TimeUnit.SECONDS);
  }
}
