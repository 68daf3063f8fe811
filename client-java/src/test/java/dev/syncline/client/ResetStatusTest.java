package dev.syncline.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.ServerWebSocket;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** What {@code status.synced} says while a {@code reset} is caught up, against a scripted server (the real one resets when access changes). */
class ResetStatusTest {
  private static final String TS = "1732212345678-0000-srv";

  @Test
  @DisplayName("a reset takes the database out of status.synced until its synced: the copy held meanwhile is about to be replaced")
  void notSyncedWhileAResetIsCaughtUp() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      AtomicReference<ServerWebSocket> socket = new AtomicReference<>();
      HttpServer fake = ScriptedServer.start(vertx, (ws, m) -> {
        if (!"sub".equals(m.path("type").asText())) return;
        socket.set(ws);
        ScriptedServer.subscribeAsLive(ws, m, 0);
      });
      SynclineClient c = SynclineClient.create(new ClientOptions().setUrl(ScriptedServer.url(fake)));
      try {
        Collection col = c.db("app").col("c");
        Await.until(() -> c.status().synced().containsKey("app"), () -> "synced at first: " + c.status());
        // what the server sends when what the user may read changes: reset, the new copy, synced
        socket.get().writeTextMessage("{\"type\":\"reset\",\"sid\":\"s1\",\"epoch\":\"e2\"}");
        socket.get().writeTextMessage("{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"app\",\"seq\":5,\"deltas\":["
            + "{\"col\":\"c\",\"id\":\"d\",\"attr\":\"v\",\"value\":1,\"ts\":\"" + TS + "\",\"seq\":5}]}");
        Await.until(() -> !c.status().synced().containsKey("app"), () -> "still synced while the reset is caught up: " + c.status());
        assertNull(col.doc("d").get(), "the new copy is swapped in whole, at synced");
        socket.get().writeTextMessage("{\"type\":\"synced\",\"sid\":\"s1\",\"seq\":5}");
        Await.until(() -> c.status().synced().containsKey("app"), () -> "synced again: " + c.status());
        assertEquals(Map.of("app", 5L), c.status().synced());
        assertEquals(1, ((Number) col.doc("d").get().get("v")).intValue());
        assertFalse(c.status().pending() > 0);
      } finally {
        Await.result(c.close());
      }
    } finally {
      vertx.close().await();
    }
  }
}
