package dev.syncline.server.http;

import io.vertx.core.MultiMap;
import io.vertx.core.net.SocketAddress;

/**
 * The address a request comes from, for per-address sign-in lock-outs. Behind a reverse proxy
 * every socket comes from the proxy; with {@code trustProxy} the first address of the
 * {@code X-Forwarded-For} header names the client instead. Only turn that on behind a proxy that
 * sets the header, or clients could pick their own address.
 */
final class ClientAddress {
  private ClientAddress() {}

  static String of(SocketAddress remote, MultiMap headers, boolean trustProxy) {
    if (trustProxy) {
      String forwarded = headers.get("X-Forwarded-For");
      if (forwarded != null) {
        String first = forwarded.split(",", 2)[0].trim();
        if (!first.isEmpty() && first.length() <= 64) return first;
      }
    }
    return remote == null ? null : remote.hostAddress();
  }
}
