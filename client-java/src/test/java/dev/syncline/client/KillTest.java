package dev.syncline.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("Killed with SIGKILL: a client app loses no stored edit; a server loses no acknowledged one")
class KillTest {

  @Test
  @DisplayName("a client JVM killed mid-edit, started again on its store: every edit it had stored reaches the server, and it pulls only what is new")
  void clientKilledMidEdit(@TempDir Path store) throws Exception {
    try (EmbeddedServer server = EmbeddedServer.start()) {
      SynclineClient loader = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      try {
        BlockingClient l = loader.blocking().ready();
        Collection base = l.db("app").col("base");
        for (int i = 0; i < 400; i++) base.doc("b" + i).set(Map.of("v", i));
        l.awaitSynced("app", Await.TIMEOUT);
      } finally {
        Await.result(loader.close());
      }
      Process app = javaProcess(ClientWriterMain.class.getName(), server.url(), store.toString(), "100000");
      int stored;
      try (BufferedReader out = new BufferedReader(new InputStreamReader(app.getInputStream(), StandardCharsets.UTF_8))) {
        stored = -1;
        for (String line; (line = out.readLine()) != null && stored < 300; ) {
          if (line.startsWith("stored ")) stored = Integer.parseInt(line.substring(7));
        }
        app.destroyForcibly(); // SIGKILL, in the middle of writing
        assertTrue(app.waitFor(30, TimeUnit.SECONDS));
      }
      assertTrue(stored >= 300, "the app stored edits before it was killed");

      SynclineClient again = SynclineClient.create(new ClientOptions().setUrl(server.url()).setStoreDirectory(store));
      try {
        BlockingClient c = again.blocking().ready();
        Collection edits = c.db("app").col("edits");
        for (int i = 0; i <= stored; i++) assertNotNull(edits.doc("e" + i).get(), "stored edit e" + i + " is in the replica");
        c.awaitSynced("app", Await.TIMEOUT);
        assertTrue(again.core().receivedDeltas < 400,
            "resumed from its cursor: " + again.core().receivedDeltas + " deltas, not the 400 it had");
      } finally {
        Await.result(again.close());
      }
      SynclineClient reader = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      try {
        reader.blocking().ready().awaitSynced("app", Await.TIMEOUT);
        Collection edits = reader.db("app").col("edits");
        for (int i = 0; i <= stored; i++) assertNotNull(edits.doc("e" + i).get(), "the server has e" + i);
      } finally {
        Await.result(reader.close());
      }
    }
  }

  @Test
  @DisplayName("a server killed and started again while a client writes: every edit the server acknowledged is kept, and every edit arrives")
  void serverKilledMidStream(@TempDir Path data) throws Exception {
    int port = freePort();
    Path config = Files.writeString(data.resolve("config.json"), "{\"adminPassword\":\"" + EmbeddedServer.ADMIN_PASSWORD
        + "\",\"newDatabasePolicy\":" + EmbeddedServer.OPEN + ",\"todoExample\":false,\"databases\":[\"app\"]}");
    String url = "ws://127.0.0.1:" + port + "/sync";
    Process server = startServer(port, data.resolve("store"), config);
    SynclineClient client = SynclineClient.create(new ClientOptions().setUrl(url).setBackoffMaxMs(300));
    Set<String> acked = ConcurrentHashMap.newKeySet();
    AtomicInteger written = new AtomicInteger();
    try {
      Await.result(client.ready());
      client.on(ClientEvent.DOC_RECORD, r -> acked.add(r.id()));
      Collection col = client.db("app").col("stream");
      client.blocking().awaitSynced("app", Await.TIMEOUT);
      List<io.vertx.core.Future<Void>> stores = new ArrayList<>();
      for (int i = 0; i < 600; i++) {
        stores.add(col.doc("s" + i).set(Map.of("v", i)));
        written.incrementAndGet();
        if (i == 200) {
          Await.until(() -> acked.size() >= 100, () -> "some acks before the kill");
          server.destroyForcibly();
          assertTrue(server.waitFor(30, TimeUnit.SECONDS));
        }
        if (i == 400) server = startServer(port, data.resolve("store"), config);
      }
      stores.forEach(Await::result);
      Set<String> ackedBeforeCheck = Set.copyOf(acked);
      client.blocking().awaitSynced("app", Await.TIMEOUT);
      Await.until(() -> acked.size() == 600, () -> "every edit acknowledged: " + acked.size());
      assertTrue(ackedBeforeCheck.size() >= 100);
    } finally {
      Await.result(client.close());
    }
    SynclineClient reader = SynclineClient.create(new ClientOptions().setUrl(url));
    try {
      reader.blocking().ready().awaitSynced("app", Await.TIMEOUT);
      assertEquals(600, reader.db("app").col("stream").all().size(), "the server holds every edit");
    } finally {
      Await.result(reader.close());
      server.destroyForcibly();
    }
  }

  private static Process startServer(int port, Path data, Path config) throws IOException, InterruptedException {
    Path jar = Path.of("..", "server", "target", "syncline-server.jar").toAbsolutePath().normalize();
    List<String> cmd = List.of(javaBin(), "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "-Xmx256m", "-jar", jar.toString(),
        "--port", Integer.toString(port), "--data", data.toString(), "--config", config.toString());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
        return p;
      } catch (IOException notYet) {
        if (!p.isAlive()) throw new IllegalStateException("the server exited");
        Thread.sleep(50);
      }
    }
    throw new IllegalStateException("the server did not listen within 30 s");
  }

  private static Process javaProcess(String mainClass, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(javaBin(), "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "-Xmx256m", "-cp",
        System.getProperty("java.class.path"), mainClass));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectErrorStream(true).start();
  }

  private static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
