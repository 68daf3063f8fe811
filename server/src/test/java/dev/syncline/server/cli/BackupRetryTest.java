package dev.syncline.server.cli;

import static dev.syncline.server.testing.Deltas.admin;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.syncline.server.testing.Cli;
import dev.syncline.server.testing.Cli.Result;
import dev.syncline.server.testing.Cluster;
import dev.syncline.server.testing.TcpProxy;
import dev.syncline.server.testing.TestServer;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("syncline backup, when the download cannot be had at once")
class BackupRetryTest {

  @Test
  @DisplayName("waits while another backup is sent (429), then writes its own")
  void waitsForAnotherBeingSent() throws Exception {
    try (TestServer server = TestServer.start()) {
      Path zip = newZipTarget();
      Result r = backupRefusedOnce(server, zip, () -> { });
      assertEquals(0, r.exit(), r.toString());
      assertTrue(r.err().contains("429") && r.err().contains("trying again"), "said it waits: " + r.err());
      assertWholeBackup(zip);
    }
  }

  @Test
  @DisplayName("leaves alone a file of the target's name that another made while it waited: it fails, and deletes only what it made")
  void deletesOnlyWhatItMade() throws Exception {
    try (TestServer server = TestServer.start()) {
      Path zip = newZipTarget();
      // another run of the same command, say
      Result r = backupRefusedOnce(server, zip, () -> Files.writeString(zip, "another run's backup"));
      assertEquals(1, r.exit(), r.toString());
      assertEquals("another run's backup", Files.readString(zip), "not deleted by the run that did not make it");
    }
  }

  /** What {@code syncline backup} does once its first try was refused (429), then {@code meanwhile} ran, then the way was free. */
  private static Result backupRefusedOnce(TestServer server, Path zip, Meanwhile meanwhile) throws Exception {
    String token = BackupOverSlowLinkTest.fill(server);
    try (Socket slow = BackupOverSlowLinkTest.requestBackup(server, token)) {
      InputStream in = slow.getInputStream();
      assertTrue(in.read(new byte[1024]) > 0, "the other backup is being sent");
      int before = connections(server);
      CompletableFuture<Result> cli = CompletableFuture.supplyAsync(() -> backup(server.port(), zip));
      // the other backup holds the one slot (it is read no further) until the CLI signed in,
      // asked, and closed its connection: that first try was refused
      Cluster.await(() -> connections(server) > before, Duration.ofSeconds(60), () -> "the CLI signed in");
      Cluster.await(() -> connections(server) == before, Duration.ofSeconds(60), () -> "the CLI's first try ended");
      meanwhile.run();
      in.transferTo(java.io.OutputStream.nullOutputStream());
      return cli.join();
    }
  }

  private interface Meanwhile {
    void run() throws Exception;
  }

  @Test
  @DisplayName("asks again for a download cut off on the way, and leaves no part of the first")
  void triesAgainAfterACut() throws Exception {
    try (TestServer server = TestServer.start(); TcpProxy proxy = TcpProxy.to(server.port())) {
      BackupOverSlowLinkTest.fill(server);
      Path zip = newZipTarget();
      // the ~12 MB zip takes 12 s; slowly enough that the credit the throttle saves while the zip
      // is made (a few seconds on a slow machine) does not let the whole of it through at once
      proxy.throttle(1_000_000);
      CompletableFuture<Result> cli = CompletableFuture.supplyAsync(() -> backup(proxy.port(), zip));
      Cluster.await(() -> size(zip) > 1_000_000, Duration.ofSeconds(60), () -> "the download under way");
      proxy.reset(); // as a dropped connection would
      proxy.throttle(0);
      Result r = cli.join();
      assertEquals(0, r.exit(), r.toString());
      assertTrue(r.err().contains("trying again"), "said it tries again: " + r.err());
      assertWholeBackup(zip);
    }
  }

  @Test
  @DisplayName("does not try again what would fail the same way: a wrong password")
  void doesNotRetryARefusal() throws Exception {
    try (TestServer server = TestServer.start()) {
      Path zip = newZipTarget();
      Result r = Cli.run(Map.of("SYNCLINE_URL", "http://127.0.0.1:" + server.port(), "SYNCLINE_PASSWORD", "wrong"),
          "backup", zip.toString());
      assertEquals(1, r.exit(), r.toString());
      assertFalse(r.err().contains("trying again"), r.err());
      assertFalse(Files.exists(zip));
    }
  }

  /** A .zip target in a folder of its own, not made yet. */
  private static Path newZipTarget() throws java.io.IOException {
    return Files.createTempDirectory("syncline-retry").resolve("b.zip");
  }

  private static Result backup(int port, Path zip) {
    try {
      return Cli.run(Map.of("SYNCLINE_URL", "http://127.0.0.1:" + port, "SYNCLINE_PASSWORD", TestServer.ADMIN_PASSWORD),
          "backup", zip.toString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Open WebSocket connections, as the server counts them (the admin's own included). */
  private static int connections(TestServer server) {
    return server.admin(admin("server.stats", null)).path("data").path("connections").asInt();
  }

  private static long size(Path file) {
    try {
      return Files.exists(file) ? Files.size(file) : 0;
    } catch (java.io.IOException e) {
      return 0; // deleted meanwhile
    }
  }

  /** A zip that opens, with the server id and the store's files. */
  private static void assertWholeBackup(Path zip) throws Exception {
    try (ZipFile z = new ZipFile(zip.toFile())) {
      assertTrue(z.getEntry("server-id") != null, "the server id");
      assertTrue(z.stream().anyMatch(e -> e.getName().startsWith("store/")), "the store's files");
    }
  }
}
