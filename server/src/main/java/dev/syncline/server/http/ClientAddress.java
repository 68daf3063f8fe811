package dev.syncline.server.http;

import io.vertx.core.MultiMap;
import io.vertx.core.net.SocketAddress;

/**
 * The address a request comes from, for per-address sign-in lock-outs and sign-up budgets.
 * Behind a reverse proxy every socket comes from the proxy; with {@code trustProxy} the last
 * address of {@code X-Forwarded-For} names the client instead: the one the proxy added. Entries
 * before it are whatever the client sent (proxies append to the header), so they are not used.
 * Only turn that on behind a proxy that sets the header, or clients could pick their own address.
 */
final class ClientAddress {
  private ClientAddress() {}

  static String of(SocketAddress remote, MultiMap headers, boolean trustProxy) {
    if (trustProxy) {
      java.util.List<String> lines = headers.getAll("X-Forwarded-For"); // a proxy may add a line of its own
      if (!lines.isEmpty()) {
        String line = lines.get(lines.size() - 1);
        String last = line.substring(line.lastIndexOf(',') + 1).trim();
        if (!last.isEmpty() && last.length() <= 64) return last;
      }
    }
    return remote == null ? null : remote.hostAddress();
  }
}
