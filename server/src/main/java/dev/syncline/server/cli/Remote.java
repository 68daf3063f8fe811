package dev.syncline.server.cli;

import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.net.ClientOptionsBase;
import io.vertx.core.net.PemTrustOptions;
import java.net.URI;
import picocli.CommandLine.Option;

/** Where a running server is and who signs in to it: options shared by the commands that talk to one. */
final class Remote {
  static final String PASSWORD_ENV = "SYNCLINE_PASSWORD";

  @Option(names = "--url", paramLabel = "URL",
      description = "the server: http(s)://host:port or ws(s)://host:port/sync "
          + "(default $SYNCLINE_URL, else 127.0.0.1 on $SYNCLINE_PORT or 8080, with https if $SYNCLINE_TLS_CERT_FILE "
          + "is set: the server's own settings)")
  String url;

  @Option(names = "--user", paramLabel = "NAME", description = "an admin to sign in as (default admin)")
  String user = "admin";

  @Option(names = "--trust", paramLabel = "PEM",
      description = "certificate (PEM) to trust for https/wss, e.g. a self-signed server's own")
  String trust;

  private String password;

  /**
   * The certificate of a server configured by this environment with TLS (its container), when no
   * URL names another: the commands then reach it at the loopback with https, trusting it.
   */
  private static String ownCertificate(String url) {
    if (url != null || System.getenv("SYNCLINE_URL") != null) return null;
    String cert = System.getenv("SYNCLINE_TLS_CERT_FILE");
    return cert == null || cert.isBlank() ? null : cert;
  }

  /** The server's base as http(s)://host:port, however {@code --url} was written. */
  String httpUrl() {
    // beside a server configured by the environment (its container), the commands find it there too
    String local = ownCertificate(url) != null ? "https" : "http";
    String given = url != null ? url : System.getenv().getOrDefault("SYNCLINE_URL",
        local + "://127.0.0.1:" + System.getenv().getOrDefault("SYNCLINE_PORT", "8080"));
    URI u;
    try {
      u = URI.create(given.trim());
    } catch (IllegalArgumentException e) {
      throw new CliException("--url: not a URL: " + given);
    }
    String scheme = switch (String.valueOf(u.getScheme())) {
      case "http", "ws" -> "http";
      case "https", "wss" -> "https";
      default -> throw new CliException("--url: use http://, https://, ws:// or wss://, not " + given);
    };
    if (u.getHost() == null) throw new CliException("--url: no host in " + given);
    return scheme + "://" + u.getHost() + (u.getPort() >= 0 ? ":" + u.getPort() : "");
  }

  /** The server's WebSocket endpoint. */
  String syncUrl() {
    return httpUrl().replaceFirst("^http", "ws") + "/sync";
  }

  String user() {
    return user;
  }

  /** From {@code $SYNCLINE_PASSWORD}, else asked for on the terminal (once per command). */
  String password() {
    if (password == null) {
      String fromEnv = System.getenv(PASSWORD_ENV);
      password = fromEnv != null && !fromEnv.isEmpty() ? fromEnv : Prompt.secret("password for " + user, PASSWORD_ENV);
    }
    return password;
  }

  <O extends ClientOptionsBase> O withTrust(O options) {
    String own = ownCertificate(url);
    if (trust != null) {
      options.setTrustOptions(new PemTrustOptions().addCertPath(trust));
    } else if (own != null) {
      // the server's own certificate names its public host, not the loopback: trusted as itself
      options.setTrustOptions(new PemTrustOptions().addCertPath(own));
      if (options instanceof HttpClientOptions http) http.setVerifyHost(false);
      if (options instanceof WebSocketClientOptions ws) ws.setVerifyHost(false);
    }
    return options;
  }
}
