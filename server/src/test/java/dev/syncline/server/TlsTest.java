package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.testing.Cli;
import dev.syncline.server.testing.Cli.Result;
import dev.syncline.server.testing.Cluster;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SelfSignedCertificate;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("TLS: tls.certFile and tls.keyFile serve https and wss; peers link over wss")
class TlsTest {
  private static SelfSignedCertificate cert;

  @BeforeAll
  static void makeCertificate() {
    cert = SelfSignedCertificate.create("localhost"); // PEM files made for this test run
  }

  @Test
  @DisplayName("https answers with the certificate, wss syncs, plain http is not served")
  void httpsAndWss() throws Exception {
    try (TestServer server = TestServer.start(this::tls)) {
      HttpClient https = HttpClient.newBuilder().sslContext(trusting(cert.certificatePath())).build();
      HttpResponse<String> health = https.send(HttpRequest.newBuilder(URI.create(
          "https://localhost:" + server.port() + "/health")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, health.statusCode(), health.body());

      HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      assertThrows(java.io.IOException.class, () -> plain.send(HttpRequest.newBuilder(URI.create(
          "http://localhost:" + server.port() + "/health")).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString()));

      try (WsClient writer = wss(server.port()); WsClient reader = wss(server.port())) {
        assertEquals("welcome", writer.hello("tls-writer").path("type").asText());
        reader.hello("tls-reader");
        String sid = reader.request(sub("app", 0)).path("sid").asText();
        assertEquals("ack", writer.request(push("app", delta("c", "d1", "v", "secret", now(0, "tls-writer"))))
            .path("type").asText());
        JsonNode changes = reader.next(m -> m.path("type").asText().equals("changes") && m.path("sid").asText().equals(sid)
            && m.path("deltas").size() > 0);
        assertEquals("secret", changes.path("deltas").get(0).path("value").asText());
      }
    }
  }

  @Test
  @DisplayName("a peer dials wss:// trusting tls.trustFile, and data crosses")
  void peersOverWss() {
    try (Cluster c = Cluster.unlinked(2, false, cfg -> { })) {
      c.node(1).tweak(this::tls);
      c.node(1).start();
      c.node(0).tweak(cfg -> {
        cfg.peers = List.of("wss://localhost:" + c.node(1).port() + "/sync");
        cfg.tls.trustFile = cert.certificatePath();
      });
      c.node(0).start();
      try (WsClient w = c.node(0).connect("over-tls")) {
        w.request(push("app", delta("c", "d1", "v", 1, now(0, "over-tls"))));
      }
      try (WsClient reader = wss(c.node(1).port())) { // the TLS node speaks only wss
        reader.hello("tls-peer-reader");
        reader.request(sub("app", 0));
        JsonNode changes = reader.next(m -> m.path("type").asText().equals("changes") && m.path("deltas").size() > 0);
        assertEquals("d1", changes.path("deltas").get(0).path("id").asText());
      }
    }
  }

  @Test
  @DisplayName("the command line trusts a server's certificate with --trust, and says so without it")
  void cliTrust() throws Exception {
    try (TestServer server = TestServer.start(this::tls)) {
      String url = "https://localhost:" + server.port();
      Result trusted = Cli.run(Map.of(), "health", "--url", url, "--trust", cert.certificatePath());
      assertEquals(0, trusted.exit(), trusted.toString());
      Result untrusted = Cli.run(Map.of(), "health", "--url", url);
      assertEquals(1, untrusted.exit(), untrusted.toString());
      assertTrue(untrusted.err().contains("--trust"), untrusted.err());
    }
  }

  @Test
  @DisplayName("beside a server set up by its environment with TLS (the Docker image's health check), health needs no URL")
  void healthFromTheServersOwnSettings() throws Exception {
    try (TestServer server = TestServer.start(this::tls)) {
      Result ok = Cli.run(Map.of("SYNCLINE_PORT", Integer.toString(server.port()),
          "SYNCLINE_TLS_CERT_FILE", cert.certificatePath()), "health");
      assertEquals(0, ok.exit(), ok.toString());
      assertTrue(ok.out().contains("\"ok\""), ok.out());
      Result digest = Cli.run(Map.of("SYNCLINE_PORT", Integer.toString(server.port()),
          "SYNCLINE_TLS_CERT_FILE", cert.certificatePath(), "SYNCLINE_PASSWORD", TestServer.ADMIN_PASSWORD), "digest", "app");
      assertEquals(0, digest.exit(), "the commands that sign in too: " + digest);
      // a URL given names another server: its certificate is checked as usual
      Result other = Cli.run(Map.of("SYNCLINE_URL", "https://127.0.0.1:" + server.port(),
          "SYNCLINE_TLS_CERT_FILE", cert.certificatePath()), "health");
      assertEquals(1, other.exit(), other.toString());
    }
  }

  private void tls(dev.syncline.server.config.ServerConfig cfg) {
    cfg.tls.certFile = cert.certificatePath();
    cfg.tls.keyFile = cert.privateKeyPath();
  }

  private static WsClient wss(int port) {
    return WsClient.connect(new WebSocketClientOptions().setSsl(true)
            .setTrustOptions(new PemTrustOptions().addCertPath(cert.certificatePath())),
        new WebSocketConnectOptions().setAbsoluteURI("wss://localhost:" + port + "/sync"));
  }

  private static SSLContext trusting(String pem) throws Exception {
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    try (InputStream in = Files.newInputStream(Path.of(pem))) {
      ks.setCertificateEntry("server", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }
}
