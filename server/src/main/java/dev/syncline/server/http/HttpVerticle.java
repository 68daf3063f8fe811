package dev.syncline.server.http;

import dev.syncline.protocol.ErrorCode;
import dev.syncline.server.admin.Backups;
import dev.syncline.server.auth.Auth;
import dev.syncline.server.auth.AuthException;
import dev.syncline.server.session.Session;
import dev.syncline.server.session.SessionServices;
import io.netty.handler.codec.compression.DecompressionException;
import io.netty.handler.codec.compression.ZlibCodecFactory;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketServerExtensionHandler;
import io.netty.handler.codec.http.websocketx.extensions.compression.PerMessageDeflateServerExtensionHandshaker;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.FileSystemAccess;
import io.vertx.ext.web.handler.StaticHandler;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One event loop's HTTP server: the {@code /sync} WebSocket, {@code /health} and static files.
 * One instance is deployed per event loop; they share the listening port.
 *
 * <p>It listens before the store is open, so a taken port fails a start before anything is
 * created; until {@link #attach} hands it the server's services, {@code /sync} and sign-in answer
 * 503.
 */
public final class HttpVerticle extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(HttpVerticle.class);
  /** The WebSocket path of PROTOCOL.md. */
  public static final String SYNC_PATH = "/sync";

  /** Where the build puts the todo example and the JavaScript SDK, on the classpath. */
  static final String BUNDLED_WEB_ROOT = "webroot";

  /** The admin page, on the classpath; served at {@code /admin/} whatever is served at {@code /}. */
  static final String ADMIN_WEB_ROOT = "admin";

  /** The admin page talks only to this server and is never framed: it holds an admin's sign-in. */
  private static final String ADMIN_CSP = "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
      + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

  /** Largest {@code POST /auth/login} body. */
  private static final int LOGIN_BODY_LIMIT = 4096;

  private final HttpSettings settings;
  private final Supplier<JsonObject> health;
  private final Supplier<Future<String>> metrics;
  private SessionServices services; // null until attach(); read and written on this verticle's event loop
  private Backups backups;
  private final Set<Session> sessions = new HashSet<>();
  private HttpServer server;

  public HttpVerticle(HttpSettings settings, Supplier<JsonObject> health, Supplier<Future<String>> metrics) {
    this.settings = settings;
    this.health = health;
    this.metrics = metrics;
  }

  /** Starts serving sessions, sign-ins and backups. */
  public Future<Void> attach(SessionServices services, Backups backups) {
    io.vertx.core.Promise<Void> attached = io.vertx.core.Promise.promise();
    context.runOnContext(v -> {
      this.services = services;
      this.backups = backups;
      // users or policies changed: every session on this loop re-checks itself, in order with live
      // changes (through the hub, so a change committed after this one reaches it under the new rules)
      Executor inCommitOrder = services.hub().inCommitOrder();
      services.auth().onChange(change -> inCommitOrder.execute(() -> {
        for (Session s : List.copyOf(sessions)) {
          try {
            s.authChanged(change);
          } catch (RuntimeException e) {
            log.error("re-checking a session after a change of users or policies failed", e); // the others still are
          }
        }
      }));
      attached.complete();
    });
    return attached.future();
  }

  @Override
  public Future<?> start() {
    HttpServerOptions options = new HttpServerOptions()
        .setHost(settings.host())
        // one listener per event loop, all on one port. For "any free port" each would bind a
        // port of its own with 0, and every client would reach the first one's loop only; Vert.x
        // gives listeners on the same negative port one shared free port instead
        .setPort(settings.port() == 0 ? -1 : settings.port())
        .setMaxWebSocketMessageSize(settings.maxMessageBytes())
        .setMaxWebSocketFrameSize(settings.maxMessageBytes())
        .setPerMessageWebSocketCompressionSupported(settings.compression())
        .setPerFrameWebSocketCompressionSupported(false)
        .setRegisterWebSocketWriteHandlers(false)
        // every response is written on its connection's event loop, so the HTTP connection needs no
        // cross-thread write queue; that queue (a 4 KB array) stayed alive beside each WebSocket
        .setStrictThreadMode(true)
        .setReadIdleTimeout(settings.readIdleTimeoutSeconds());
    if (settings.tls()) {
      options.setSsl(true).setKeyCertOptions(new PemKeyCertOptions()
          .setCertPath(settings.tlsCertFile()).setKeyPath(settings.tlsKeyFile()));
    }
    Router router = Router.router(vertx);
    router.route().handler(this::refuseOtherUpgrades);
    router.get("/health").handler(this::health);
    if (settings.metricsAccess() != null) router.get("/metrics").handler(this::metrics);
    router.get("/backup").handler(this::refuseUntilAttached).handler(this::backup);
    // the body handler must come first (Vert.x Web refuses it after another handler)
    // no file uploads: by default Vert.x keeps each uploaded file in ./file-uploads for good
    router.post("/auth/login").handler(BodyHandler.create(false).setBodyLimit(LOGIN_BODY_LIMIT)).handler(this::refuseUntilAttached)
        .handler(this::login)
        .failureHandler(rc -> {
          if (rc.statusCode() == 413) problem(rc, 413, ErrorCode.BAD_REQUEST, "the body is larger than " + LOGIN_BODY_LIMIT + " bytes", null);
          else if (rc.statusCode() == 400) problem(rc, 400, ErrorCode.BAD_REQUEST, "a bad request", null);
          else { // a fault of ours, not the request's
            log.error("POST /auth/login failed", rc.failure());
            problem(rc, 500, ErrorCode.INTERNAL, "sign-in failed", null);
          }
        });
    router.getWithRegex("/admin").handler(rc -> rc.redirect("/admin/")); // its modules are imported relative to /admin/
    router.route("/admin/*").handler(HttpVerticle::adminHeaders);
    router.route("/admin/sdk/*").handler(StaticHandler.create(BUNDLED_WEB_ROOT + "/sdk").setCachingEnabled(false));
    router.route("/admin/*").handler(StaticHandler.create(ADMIN_WEB_ROOT).setCachingEnabled(false));
    if (settings.staticDir() != null) {
      ownStaticFiles(router, Path.of(settings.staticDir()).toAbsolutePath().toString());
    } else if (settings.bundledWebRoot()) {
      router.route("/*").handler(HttpVerticle::revalidated).handler(StaticHandler.create(BUNDLED_WEB_ROOT));
    }
    // the WebSocket endpoint is served before the router, whose request wrapper would hide the raw socket
    server = vertx.createHttpServer(options).requestHandler(request -> {
      if (SYNC_PATH.equals(request.path())) upgrade(request);
      else router.handle(request);
    });
    if (settings.compression()) server.connectionHandler(this::boundInflation);
    return server.listen();
  }

  /** Vert.x names the WebSocket extension handler of each HTTP connection's pipeline so. */
  private static final String EXTENSIONS = "webSocketExtensionHandler";

  /**
   * Vert.x sets permessage-deflate up to inflate a frame without limit before anyone sees its size:
   * a few hundred KB of zeros become a GB on the heap. Its handshaker is replaced, with the same
   * settings, by one that stops inflating a frame past maxMessageBytes (no one, peers included,
   * may send a larger frame); the connection is then closed with 1009, as for any message too large.
   */
  private void boundInflation(io.vertx.core.http.HttpConnection connection) {
    io.netty.channel.ChannelPipeline pipeline = VertxInternals.pipeline(connection);
    if (pipeline.get(EXTENSIONS) == null) return;
    pipeline.replace(EXTENSIONS, EXTENSIONS, new WebSocketServerExtensionHandler(new PerMessageDeflateServerExtensionHandshaker(
        HttpServerOptions.DEFAULT_WEBSOCKET_COMPRESSION_LEVEL, ZlibCodecFactory.isSupportingWindowSizeAndMemLevel(),
        PerMessageDeflateServerExtensionHandshaker.MAX_WINDOW_SIZE, HttpServerOptions.DEFAULT_WEBSOCKET_ALLOW_SERVER_NO_CONTEXT,
        HttpServerOptions.DEFAULT_WEBSOCKET_PREFERRED_CLIENT_NO_CONTEXT, settings.maxMessageBytes() + 1)));
  }

  /**
   * A folder of one's own at {@code /}, and the bundled JavaScript SDK at {@code /sdk/} unless the
   * folder has an {@code sdk/} of its own (looked up per request, like everything here). The
   * folder may change while the server runs, so nothing about it is cached: a file added later is
   * served at once, where StaticHandler's cache would keep answering 404 for it, and browsers
   * are not told to keep files for a day.
   */
  private void ownStaticFiles(Router router, String dir) {
    StaticHandler bundledSdk = StaticHandler.create(BUNDLED_WEB_ROOT + "/sdk");
    String ownSdk = Path.of(dir, "sdk").toString();
    router.route("/sdk/*").handler(HttpVerticle::revalidated).handler(rc -> vertx.fileSystem().exists(ownSdk).onComplete(ar -> {
      if (ar.succeeded() && ar.result()) rc.next();
      else bundledSdk.handle(rc);
    }));
    // no dot files: an .env or .git in the folder served is not for the web
    router.route("/*").handler(StaticHandler.create(FileSystemAccess.ROOT, dir).setCachingEnabled(false).setIncludeHidden(false));
  }

  /** The port this instance listens on. */
  public int port() {
    return server.actualPort();
  }

  public int connections() {
    return sessions.size();
  }

  private void refuseUntilAttached(RoutingContext rc) {
    if (services == null) starting(rc.request());
    else rc.next();
  }

  /** 503 while the store opens: clients retry, as after any failed connection. */
  private static void starting(HttpServerRequest request) {
    request.response().setStatusCode(503).putHeader("retry-after", "1").end("the server is starting");
  }

  /** A WebSocket upgrade is answered at {@value #SYNC_PATH} only. */
  private void refuseOtherUpgrades(RoutingContext rc) {
    if (isUpgrade(rc.request()) && !SYNC_PATH.equals(rc.request().path())) rc.response().setStatusCode(404).end();
    else rc.next();
  }

  /**
   * {@value #SYNC_PATH}: the WebSocket handshake, for RFC 6455's version 13 only. Anything else
   * gets 426 naming what to send (RFC 6455 §4.4), rather than an older draft's framing.
   */
  private void upgrade(HttpServerRequest request) {
    if (!isUpgrade(request)) {
      request.response().setStatusCode(426).putHeader("upgrade", "websocket").putHeader("sec-websocket-version", "13")
          .end("this is the WebSocket endpoint: open it with a WebSocket client");
    } else if (!"13".equals(request.getHeader("sec-websocket-version"))) {
      request.response().setStatusCode(426).putHeader("sec-websocket-version", "13").end("WebSocket version 13 only");
    } else if (services == null) {
      starting(request);
    } else {
      request.toWebSocket().onSuccess(this::connected); // a failed handshake was answered by Vert.x
    }
  }

  private static boolean isUpgrade(HttpServerRequest request) {
    String upgrade = request.getHeader("upgrade");
    return upgrade != null && upgrade.equalsIgnoreCase("websocket");
  }

  private void connected(ServerWebSocket ws) {
    WebSocketConnection connection = new WebSocketConnection(ws, context, settings.socketWriteQueueBytes(), settings.maxMessageBytes(),
        settings.trustProxy(), settings.readIdleTimeoutSeconds());
    Session session = new Session(connection, services);
    sessions.add(session);
    // the session ends when either side decides to close, not when the TCP connection goes
    connection.onEnd(() -> {
      session.onClose();
      sessions.remove(session);
    });
    MessageAssembler assembler = new MessageAssembler(connection::messageLimit, new MessageAssembler.Receiver() {
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
    ws.frameHandler(frame -> {
      if (frame.isClose()) connection.peerClosing();
      else if (!connection.isOpen()) return; // held back by a pause and let through at the end: nobody reads it now
      else if (frame.isPing() || frame.type() == io.vertx.core.http.WebSocketFrameType.PONG) session.onControlFrame();
      else assembler.frame(frame);
    });
    ws.exceptionHandler(e -> {
      if (e instanceof CorruptedWebSocketFrameException violation) {
        connection.closeAfterViolation(violation);
      } else if (e instanceof DecompressionException && String.valueOf(e.getMessage()).contains("maximum size")) {
        // a frame inflating past maxMessageBytes (see boundInflation): Netty's zlib decoders say so
        connection.closeAfterViolation(new CorruptedWebSocketFrameException(WebSocketCloseStatus.MESSAGE_TOO_BIG,
            "message larger than " + settings.maxMessageBytes() + " bytes"));
      } else if (e instanceof DecompressionException || isPlainCodecException(e) || isPlainCodecException(e.getCause())) {
        // what else the inflater refuses: no deflate stream, or one that inflates to nothing (a plain
        // CodecException from Netty's deflate decoder, perhaps wrapped); not a TLS failure
        connection.closeAfterViolation(new CorruptedWebSocketFrameException(WebSocketCloseStatus.INVALID_PAYLOAD_DATA,
            "a compressed frame that does not inflate"));
      }
    });
    ws.closeHandler(v -> connection.socketClosed());
  }

  private static boolean isPlainCodecException(Throwable e) {
    return e != null && e.getClass() == io.netty.handler.codec.CodecException.class;
  }

  /**
   * {@code POST /auth/login} with {@code {"username","password"}}: the same sign-in as the
   * {@code login} message, for clients that want a token before opening a socket. 200 with
   * {@code {token, expiresAt, user}}; 400, 401 or 429 with {@code {code, message, retryAfterMs?}}.
   */
  private static boolean hasLoneSurrogate(String s) {
    return s.codePoints().anyMatch(cp -> cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE); // a pair is one code point
  }

  private void login(RoutingContext rc) {
    com.fasterxml.jackson.databind.JsonNode body;
    try {
      // the protocol's own reader, as for the login message: a duplicate key is refused, not the last one taken
      body = rc.body().buffer() == null ? null : dev.syncline.protocol.Json.MAPPER.readTree(rc.body().buffer().getBytes());
    } catch (java.io.IOException | RuntimeException e) {
      body = null;
    }
    String u = body != null && body.path("username").isTextual() ? body.path("username").textValue() : null;
    String p = body != null && body.path("password").isTextual() ? body.path("password").textValue() : null;
    // lengths in characters (code points), as the login message counts them; no lone surrogates, as there
    if (u == null || p == null || u.isEmpty() || p.isEmpty() || u.codePointCount(0, u.length()) > 256
        || p.codePointCount(0, p.length()) > 1024 || hasLoneSurrogate(u) || hasLoneSurrogate(p)) {
      problem(rc, 400, ErrorCode.BAD_REQUEST, "a JSON object with username (1 to 256) and password (1 to 1024)", null);
      return;
    }
    String address = ClientAddress.of(rc.request().remoteAddress(), rc.request().headers(), settings.trustProxy());
    services.auth().login(u, p, address).onComplete(ar -> {
      if (ar.succeeded()) {
        Auth.SignedIn s = ar.result();
        JsonObject out = new JsonObject().put("token", s.token()).put("expiresAt", s.expiresAt())
            .put("user", new JsonObject().put("id", s.caller().user()).put("roles", new JsonArray(s.caller().info().roles())));
        rc.response().putHeader("content-type", "application/json").putHeader("cache-control", "no-store").end(out.encode());
      } else if (ar.cause() instanceof AuthException e) {
        int status = e.code() == ErrorCode.RATE_LIMITED ? 429 : e.code() == ErrorCode.UNAUTHENTICATED ? 401 : 400;
        problem(rc, status, e.code(), e.getMessage(), e.retryAfterMs());
      } else {
        problem(rc, 500, ErrorCode.INTERNAL, "sign-in failed", null);
      }
    });
  }

  private static void problem(RoutingContext rc, int status, ErrorCode code, String message, Long retryAfterMs) {
    JsonObject out = new JsonObject().put("code", code.wire()).put("message", message);
    if (retryAfterMs != null) {
      out.put("retryAfterMs", retryAfterMs);
      rc.response().putHeader("retry-after", Long.toString((retryAfterMs + 999) / 1000));
    }
    rc.response().setStatusCode(status).putHeader("content-type", "application/json").end(out.encode());
  }

  /**
   * The bundled page and SDK change only when the server is upgraded, but StaticHandler tells
   * browsers to keep them a day without asking ("immutable"): after an upgrade a page would load an
   * old app beside a new server, or old and new SDK modules mixed. Browsers ask each time instead,
   * and get a 304 while the file is unchanged.
   */
  private static void revalidated(RoutingContext rc) {
    rc.addHeadersEndHandler(v -> rc.response().headers().set("cache-control", "no-cache"));
    rc.next();
  }

  /** The admin page: always the running server's own (no stale copy after an upgrade), never in a frame. */
  private static void adminHeaders(RoutingContext rc) {
    rc.response().putHeader("cache-control", "no-cache").putHeader("content-security-policy", ADMIN_CSP)
        .putHeader("x-content-type-options", "nosniff").putHeader("referrer-policy", "no-referrer");
    rc.next();
  }

  /** {@code GET /metrics}: Prometheus text, to whom {@code metrics.access} allows. */
  private void metrics(RoutingContext rc) {
    if (refused(rc, HttpAccess.metrics(settings.metricsAccess(), rc.request(), services == null ? null : services.auth()))) {
      return;
    }
    metrics.get().onComplete(ar -> {
      if (ar.failed()) rc.response().setStatusCode(500).end();
      else rc.response().putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8").end(ar.result());
    });
  }

  /** When to ask again for a backup while one is made: they take seconds to minutes. */
  private static final long BACKUP_RETRY_MS = 5_000;
  /** How long a backup download may take nothing when {@code readIdleTimeoutSeconds} is 0 (off). */
  private static final int BACKUP_STALL_SECONDS = 300;

  /** {@code GET /backup}, for admins: a zip of the live store (see {@link Backups}), deleted once sent. */
  private void backup(RoutingContext rc) {
    if (refused(rc, HttpAccess.admin(rc.request(), services == null ? null : services.auth()))) return;
    Future<Path> made = backups.make();
    if (made == null) {
      problem(rc, 429, ErrorCode.RATE_LIMITED, "a backup is being made or sent; one at a time", BACKUP_RETRY_MS);
      return;
    }
    // the client sends nothing while the zip is made and sent, which may take far longer than
    // readIdleTimeoutSeconds: that would cut the backup off. The timeout applies again once the
    // answer is sent. The server does not close the connection itself: a Vert.x client that has
    // paused the answer (a pipe to a slow disk) loses its end to a close right behind it
    var connection = rc.request().connection();
    VertxInternals.stopReadIdleTimeout(connection);
    rc.addEndHandler(v -> VertxInternals.restoreReadIdleTimeout(connection, settings.readIdleTimeoutSeconds()));
    made.onComplete(ar -> {
      if (ar.failed()) {
        log.error("a backup failed", ar.cause()); // the details (paths, I/O errors) stay in the log
        problem(rc, 500, ErrorCode.INTERNAL, "the backup failed; the server's log says why", null);
        return;
      }
      Path file = ar.result();
      // asked again: making it took seconds to minutes, and the token may have been revoked meanwhile
      // (its admin disabled, demoted or given a new password); the zip holds the password hashes
      if (refused(rc, HttpAccess.admin(rc.request(), services.auth()))) {
        backups.done(file);
        return;
      }
      try {
        // a client that stops taking it would hold the one backup slot, and the zip on the data disk, for good
        // (also with no idle timeout for the rest: then after the default's 300 s)
        int stall = settings.readIdleTimeoutSeconds() > 0 ? settings.readIdleTimeoutSeconds() : BACKUP_STALL_SECONDS;
        VertxInternals.closeWhenSendingStalls(connection, stall);
        String name = "syncline-" + services.serverId() + "-" + java.time.LocalDate.now() + ".zip";
        rc.response().putHeader("content-type", "application/zip")
            .putHeader("content-disposition", "attachment; filename=\"" + name + "\"")
            .sendFile(file.toString())
            .onComplete(sent -> {
              backups.done(file);
              VertxInternals.stopSendStallTimeout(connection);
            });
      } catch (RuntimeException e) { // whatever went wrong, the slot and the zip are given back
        backups.done(file);
        throw e;
      }
    });
  }

  /** Answers a refusal (401 when signing in would help, else 403); false when there is none. */
  private static boolean refused(RoutingContext rc, String refusal) {
    if (refusal == null) return false;
    boolean signIn = refusal.startsWith(HttpAccess.SIGN_IN);
    if (signIn) rc.response().putHeader("www-authenticate", "Bearer");
    rc.response().setStatusCode(signIn ? 401 : 403).putHeader("content-type", "text/plain").end(refusal);
    return true;
  }

  /** 200 while serving; 503 while starting or stopping, so a load balancer sends no one here. */
  private void health(RoutingContext rc) {
    JsonObject h = health.get();
    rc.response().setStatusCode("ok".equals(h.getString("status")) ? 200 : 503)
        .putHeader("content-type", "application/json").end(h.encode());
  }

  /** Closes every connection with 1001, then stops listening. */
  @Override
  public Future<?> stop() {
    List<Session> open = new ArrayList<>(sessions);
    open.forEach(Session::goAway);
    return server.shutdown(5, java.util.concurrent.TimeUnit.SECONDS);
  }
}
