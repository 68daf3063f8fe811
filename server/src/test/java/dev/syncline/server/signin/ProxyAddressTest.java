package dev.syncline.server.signin;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.syncline.server.testing.TestServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The per-address lock-out behind a reverse proxy: X-Forwarded-For counts only when trusted. */
@DisplayName("Per-address lock-out: the forwarded address with trustProxy, the socket's without")
class ProxyAddressTest {
  static final HttpClient HTTP = HttpClient.newHttpClient();

  /** As through a proxy that appends the client's address ({@code forwardedFor}) to what the client sent. */
  static int login(TestServer server, String forwardedFor, String username, String password) throws Exception {
    return login(server, "192.0.2.99", forwardedFor, username, password);
  }

  static int login(TestServer server, String sentByClient, String forwardedFor, String username, String password) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/auth/login"))
        .header("X-Forwarded-For", sentByClient + ", " + forwardedFor)
        .POST(HttpRequest.BodyPublishers.ofString("{\"username\":\"" + username + "\",\"password\":\"" + password + "\"}"))
        .build();
    return HTTP.send(request, HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  static TestServer start(boolean trustProxy) {
    return TestServer.start(c -> {
      c.trustProxy = trustProxy;
      c.loginFailuresPerAddress = 2;
      c.loginFailuresPerUser = 100;
      c.lockoutBaseMs = 60_000;
    });
  }

  @Test
  @DisplayName("with trustProxy, guesses from one forwarded address lock that address only")
  void trustedForwardedAddress() throws Exception {
    try (TestServer server = start(true)) {
      assertEquals(401, login(server, "198.51.100.1", "ghost1", "guess"));
      assertEquals(401, login(server, "198.51.100.1", "ghost2", "guess"));
      assertEquals(429, login(server, "198.51.100.1", "admin", TestServer.ADMIN_PASSWORD), "that address is locked");
      assertEquals(200, login(server, "198.51.100.2", "admin", TestServer.ADMIN_PASSWORD), "another client behind the proxy is not");
    }
  }

  @Test
  @DisplayName("IPv6 addresses count by their /64: guesses from many addresses of one network lock it, not another network")
  void ipv6CountsByNetwork() throws Exception {
    try (TestServer server = start(true)) {
      assertEquals(401, login(server, "2001:db8:1:2::1", "ghost1", "guess"));
      assertEquals(401, login(server, "2001:db8:1:2:ffff:0:0:2", "ghost2", "guess"));
      assertEquals(429, login(server, "2001:db8:1:2::3", "admin", TestServer.ADMIN_PASSWORD), "the /64 is locked");
      assertEquals(200, login(server, "2001:db8:1:3::1", "admin", TestServer.ADMIN_PASSWORD), "the next /64 is not");
      assertEquals(200, login(server, "::ffff:198.51.100.9", "admin", TestServer.ADMIN_PASSWORD), "nor an IPv4 client");
    }
  }

  @Test
  @DisplayName("with trustProxy, an address the client writes into the header itself counts for nothing: the proxy's entry, the last, does")
  void clientWrittenEntriesAreIgnored() throws Exception {
    try (TestServer server = start(true)) {
      assertEquals(401, login(server, "203.0.113.1", "198.51.100.7", "ghost1", "guess"));
      assertEquals(401, login(server, "203.0.113.2", "198.51.100.7", "ghost2", "guess"));
      assertEquals(429, login(server, "203.0.113.3", "198.51.100.7", "admin", TestServer.ADMIN_PASSWORD), "198.51.100.7 is locked");
    }
  }

  @Test
  @DisplayName("without trustProxy the header is ignored: a client can't dodge the lock-out by naming another address")
  void untrustedHeaderIsIgnored() throws Exception {
    try (TestServer server = start(false)) {
      assertEquals(401, login(server, "198.51.100.1", "ghost1", "guess"));
      assertEquals(401, login(server, "198.51.100.2", "ghost2", "guess"));
      assertEquals(429, login(server, "198.51.100.3", "admin", TestServer.ADMIN_PASSWORD), "the socket's address is locked");
    }
  }
}
