package dev.syncline.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.syncline.server.config.ServerConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("Sign-in across a cluster of two real servers")
class ClusterSignInTest {
  static final String CLUSTER_SECRET = "a cluster secret of at least 32 characters, for tests";

  @Test
  @DisplayName("a token from server A, shown to server B before A's users reach B, is kept: the client is welcomed once they do")
  void tokenWaitsForItsUser(@TempDir Path dir) throws InterruptedException {
    try (EmbeddedServer a = EmbeddedServer.start(c -> {
      c.clusterSecret = CLUSTER_SECRET;
      c.users.add(new ServerConfig.UserSpec("dave", "dave's long password", List.of()));
    })) {
      SynclineClient onA = SynclineClient.create(new ClientOptions().setUrl(a.url()).setStoreDirectory(dir));
      Await.result(onA.ready());
      Await.result(onA.login("dave", "dave's long password"));
      Await.result(onA.close());
      a.stop(); // b starts without ever having heard of dave
      try (EmbeddedServer b = EmbeddedServer.start(c -> {
        c.clusterSecret = CLUSTER_SECRET;
        c.peers.add(a.url());
      })) {
        // pings often: before the welcome none may be sent (the server would close: hello first)
        SynclineClient onB = SynclineClient.create(new ClientOptions().setUrl(b.url()).setStoreDirectory(dir).setPingIntervalMs(200));
        try {
          List<String> errors = new CopyOnWriteArrayList<>();
          onB.on(ClientEvent.ERROR, e -> errors.add(e.code()));
          Await.result(onB.ready());
          Await.until(() -> AdminConnection.admin(b.url(), "server.stats", "{}").path("connections").asInt() >= 2,
              () -> "the client connected to b");
          Thread.sleep(1500); // dave on his way: hellos said again, pings due meanwhile
          assertFalse(onB.status().online(), "not welcomed while b does not know dave");
          assertTrue(errors.isEmpty(), "nothing reported while waiting: " + errors);
          a.restart();
          Await.until(() -> onB.status().online(), () -> "welcomed on b once dave arrived from a; errors " + errors);
          assertEquals("dave", onB.user().id());
          assertTrue(errors.isEmpty(), "nothing reported: " + errors);
        } finally {
          Await.result(onB.close());
        }
      }
    }
  }
}
