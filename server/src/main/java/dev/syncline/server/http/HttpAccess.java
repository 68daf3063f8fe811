package dev.syncline.server.http;

import dev.syncline.server.auth.Auth;
import dev.syncline.server.auth.AuthException;
import io.vertx.core.http.HttpServerRequest;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** Who may use the operator's HTTP endpoints: {@code /metrics} (per {@code metrics.access}) and {@code /backup} (admins). */
final class HttpAccess {
  /** A refusal that signing in would fix (401 rather than 403). */
  static final String SIGN_IN = "sign in:";

  private HttpAccess() {}

  /** Null when the request may read the metrics; else why not. */
  static String metrics(String access, HttpServerRequest request, Auth auth) {
    switch (access) {
      case "open":
        return null;
      case "local":
        // a reverse proxy on this machine forwards others' requests: those are not local
        return isLoopback(request.remoteAddress().hostAddress()) && !forwarded(request)
            ? null : "metrics are served to this machine only (metrics.access is local)";
      default:
        return admin(request, auth);
    }
  }

  /** Null when the request carries an admin's token ({@code Authorization: Bearer TOKEN}); else why not. */
  static String admin(HttpServerRequest request, Auth auth) {
    String header = request.getHeader("authorization");
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return SIGN_IN + " send an admin's token as Authorization: Bearer TOKEN";
    }
    if (auth == null) return SIGN_IN + " the server is starting";
    try {
      return auth.authenticate(header.substring(7).trim()).caller().isAdmin() ? null : "this is for admins";
    } catch (AuthException e) {
      return SIGN_IN + " " + e.getMessage();
    }
  }

  /** Headers by which proxies say they forward a request; each proxy sets some, not all (nginx: none unless told). */
  private static final java.util.List<String> PROXY_HEADERS =
      java.util.List.of("x-forwarded-for", "forwarded", "x-real-ip", "via", "x-forwarded-host", "x-forwarded-proto");

  private static boolean forwarded(HttpServerRequest request) {
    for (String h : PROXY_HEADERS) if (request.getHeader(h) != null) return true;
    return false;
  }

  private static boolean isLoopback(String address) {
    try {
      return address != null && InetAddress.getByName(address).isLoopbackAddress(); // a literal: no lookup
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
