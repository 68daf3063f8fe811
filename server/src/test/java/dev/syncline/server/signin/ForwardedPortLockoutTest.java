package dev.syncline.server.signin;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.syncline.server.testing.TestServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** A proxy that writes the client as IPv4:port (Azure Application Gateway does) must not give each connection its own lock-out. */
class ForwardedPortLockoutTest {
  static final HttpClient HTTP = HttpClient.newHttpClient();

  static int login(TestServer server, String forwardedFor, String username, String password) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/auth/login"))
        .header("X-Forwarded-For", forwardedFor)
        .POST(HttpRequest.BodyPublishers.ofString("{\"username\":\"" + username + "\",\"password\":\"" + password + "\"}"))
        .build();
    return HTTP.send(request, HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  @Test
  @DisplayName("with trustProxy, one IPv4 client written with a source port is one address: its guesses lock it whatever port each came from")
  void ipv4WithPortIsOneAddress() throws Exception {
    try (TestServer server = TestServer.start(c -> {
      c.trustProxy = true;
      c.loginFailuresPerAddress = 2;
      c.loginFailuresPerUser = 100;
      c.lockoutBaseMs = 60_000;
    })) {
      // as with IPv6, where "[2001:db8:1:3::7]:51234" already counts as its /64
      assertEquals(401, login(server, "198.51.100.7:40001", "ghost1", "guess"));
      assertEquals(401, login(server, "198.51.100.7:40002", "ghost2", "guess"));
      assertEquals(429, login(server, "198.51.100.7:40003", "admin", TestServer.ADMIN_PASSWORD),
          "198.51.100.7 failed twice (loginFailuresPerAddress = 2): it is locked, from any source port");
    }
  }
}
