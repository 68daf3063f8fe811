package dev.syncline.server.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.syncline.server.testing.Cli;
import dev.syncline.server.testing.Cli.Result;
import dev.syncline.server.testing.TestServer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Start-up mistakes are told in one line naming the fix, before anything is created or printed")
class StartupErrorsTest {

  @Test
  @DisplayName("a port in use: one line, no data folder made, no admin password printed")
  void portInUse() throws Exception {
    Path data = Files.createTempDirectory("syncline-start").resolve("data");
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
      Result r = Cli.run(Map.of(), "--port", String.valueOf(taken.getLocalPort()), "--data", data.toString());
      assertOneLine(r, "syncline: port " + taken.getLocalPort() + " is in use: pick another with --port");
    }
    assertFalse(Files.exists(data), "nothing is created by a start that fails");
  }

  @Test
  @DisplayName("an address this machine does not have: one line pointing at --host (epoll and NIO word it differently)")
  void hostNotHere() throws Exception {
    Path data = Files.createTempDirectory("syncline-start").resolve("data");
    Result r = Cli.run(Map.of(), "--host", "192.0.2.1", "--port", "0", "--data", data.toString()); // TEST-NET-1, RFC 5737
    assertOneLine(r, null);
    assertTrue(r.err().startsWith("syncline: cannot listen on 192.0.2.1:0: ") && r.err().strip().endsWith("(check --host)"), r.toString());
    assertFalse(Files.exists(data), "nothing is created by a start that fails");
  }

  @Test
  @DisplayName("a data folder held by a running server: one line naming it")
  void folderLocked() throws Exception {
    try (TestServer running = TestServer.start()) {
      Result r = Cli.run(Map.of(), "--port", "0", "--data", running.dataDir().toString());
      assertOneLine(r, "syncline: data folder " + running.dataDir().toAbsolutePath().normalize()
          + " is in use by another running server: stop it, or pick another folder with --data");
      assertTrue(running.server().vertx() != null && running.admin(dev.syncline.server.testing.Deltas.admin("db.list",
          dev.syncline.server.testing.Deltas.args())).path("type").asText().equals("result"), "the running server is unharmed");
    }
  }

  @Test
  @DisplayName("a misspelled key, a wrong type, broken JSON, a missing file, a bad variable: one line each")
  void badConfig() throws Exception {
    Path dir = Files.createTempDirectory("syncline-start");
    Path data = dir.resolve("data");
    Path config = dir.resolve("syncline.json");

    Files.writeString(config, "{\"prot\": 9000}");
    assertOneLine(run(config, data, Map.of()), "syncline: unknown config key prot (" + config + "): did you mean port?");

    Files.writeString(config, "{\"port\": \"many\"}");
    Result type = run(config, data, Map.of());
    assertOneLine(type, null);
    assertTrue(type.err().contains("port") && type.err().contains("whole number"), type.err());

    Files.writeString(config, "{\n  \"port\": 9000\n  \"host\": \"x\"\n}");
    Result broken = run(config, data, Map.of());
    assertOneLine(broken, null);
    assertTrue(broken.err().contains(config.toString()) && broken.err().contains("line 3"), broken.err());

    assertOneLine(run(dir.resolve("missing.json"), data, Map.of()), null);

    Files.writeString(config, "{}");
    Result env = run(config, data, Map.of("SYNCLINE_DURABILITY", "sometimes"));
    assertOneLine(env, null);
    assertTrue(env.err().contains("durability"), env.err());

    Result tls = run(config, data, Map.of("SYNCLINE_TLS_CERT_FILE", dir.resolve("nope.pem").toString(),
        "SYNCLINE_TLS_KEY_FILE", dir.resolve("nope.key").toString()));
    assertOneLine(tls, null);
    assertTrue(tls.err().contains("tls.certFile"), tls.err());

    assertFalse(Files.exists(data), "nothing is created by a start that fails");
  }

  @Test
  @DisplayName("--verbose adds the stack trace")
  void verbose() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
      Result r = Cli.run(Map.of(), "--port", String.valueOf(taken.getLocalPort()), "--verbose",
          "--data", Files.createTempDirectory("syncline-start").resolve("data").toString());
      assertEquals(1, r.exit(), r.toString());
      assertTrue(r.err().contains("is in use") && r.err().contains("\tat "), r.toString());
    }
  }

  @Test
  @DisplayName("a TLS key that is not the certificate's: one line naming tls.keyFile, nothing served")
  void tlsKeyOfAnotherCertificate() throws Exception {
    Path data = Files.createTempDirectory("syncline-start").resolve("data");
    io.vertx.core.net.SelfSignedCertificate one = io.vertx.core.net.SelfSignedCertificate.create("localhost");
    io.vertx.core.net.SelfSignedCertificate other = io.vertx.core.net.SelfSignedCertificate.create("localhost");
    try {
      Result r = Cli.run(Map.of(), "--port", "0", "--data", data.toString(),
          "--tls-cert", one.certificatePath(), "--tls-key", other.privateKeyPath());
      assertOneLine(r, null);
      assertTrue(r.err().contains("tls.keyFile " + other.privateKeyPath() + " is not the private key of the certificate"), r.toString());
      assertFalse(Files.exists(data), "nothing is created by a start that fails");
    } finally {
      one.delete();
      other.delete();
    }
  }

  private static Result run(Path config, Path data, Map<String, String> env) throws Exception {
    return Cli.run(env, "--port", "0", "--data", data.toString(), "--config", config.toString());
  }

  /** Exit 1; standard error is exactly one line (the expected one, when given); nothing on standard output. */
  private static void assertOneLine(Result r, String expected) {
    assertEquals(1, r.exit(), r.toString());
    assertEquals(1, r.err().lines().count(), "one line: " + r);
    if (expected != null) assertEquals(expected, r.err().strip());
    assertTrue(r.err().startsWith("syncline: "), r.toString());
    assertEquals("", r.out().strip(), "nothing printed on standard output: " + r);
    assertFalse((r.out() + r.err()).toLowerCase().contains("password"), "no password printed: " + r);
  }
}
