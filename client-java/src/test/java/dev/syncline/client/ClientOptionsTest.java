package dev.syncline.client;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Options are checked when a client is made, and a refused client leaves nothing running")
class ClientOptionsTest {

  @Test
  @DisplayName("backoff, ping and connect timings must be positive, and the first backoff no longer than the cap")
  void timingsAreChecked() {
    try (EmbeddedServer server = EmbeddedServer.start()) {
      List<UnaryOperator<ClientOptions>> bad = List.of(
          o -> o.setBackoffInitialMs(0),
          o -> o.setBackoffMaxMs(-1),
          o -> o.setBackoffInitialMs(5000).setBackoffMaxMs(1000),
          o -> o.setPingIntervalMs(0),
          o -> o.setPingTimeoutMs(-5),
          o -> o.setConnectTimeoutMs(0),
          o -> o.setConnectTimeoutMs(1L << 40));
      for (UnaryOperator<ClientOptions> tweak : bad) {
        ClientOptions options = tweak.apply(new ClientOptions().setUrl(server.url()).setOffline(true));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SynclineClient.create(options));
        assertTrue(e.getMessage().matches("(backoff|ping|connectTimeout).*"), e.getMessage());
      }
      // the bounds themselves are fine
      SynclineClient fine = SynclineClient.create(new ClientOptions().setUrl(server.url()).setOffline(true)
          .setBackoffInitialMs(1000).setBackoffMaxMs(1000).setPingIntervalMs(1).setPingTimeoutMs(1).setConnectTimeoutMs(1));
      Await.result(fine.ready());
      Await.result(fine.close());
    }
  }

  @Test
  @DisplayName("create(options) with bad options (a URL the WebSocket client refuses too) closes the Vert.x it made for the client")
  void refusedClientLeaksNoVertx() {
    long before = vertxInstances();
    for (ClientOptions bad : List.of(new ClientOptions(), new ClientOptions().setUrl("http://not-a-socket"),
        // a ws:// URL the WebSocket client refuses: made, it would never connect, and never be ready or closed
        new ClientOptions().setUrl("ws://localhost:8080/sync "), new ClientOptions().setUrl("ws://local host/sync"),
        new ClientOptions().setUrl("ws://127.0.0.1:1/sync").setClientId("no spaces"),
        new ClientOptions().setUrl("ws://127.0.0.1:1/sync").setWriteQuorum(0))) {
      assertThrows(IllegalArgumentException.class, () -> SynclineClient.create(bad));
    }
    Await.until(() -> vertxInstances() <= before, () -> "no Vert.x left running: " + vertxInstances() + " now, " + before + " before");
  }

  // every Vert.x instance runs one blocked-thread checker until it is closed
  private static long vertxInstances() {
    return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("vertx-blocked-thread-checker")).count();
  }
}
