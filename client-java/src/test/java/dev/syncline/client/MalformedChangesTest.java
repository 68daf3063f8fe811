package dev.syncline.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A server that sends a {@code changes} frame no Syncline server sends: a real WebSocket server in
 * this test (the real one cannot be made to), answering hello and sub as PROTOCOL.md says.
 */
class MalformedChangesTest {
  private static final String TS = "1732212345678-0000-srv";

  @Test
  @DisplayName("a changes frame with a malformed delta is reported as a protocol error and nothing of it is stored; the next frame is")
  void malformedFrameIsNotStored() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      HttpServer fake = ScriptedServer.start(vertx, (ws, m) -> {
        switch (m.path("type").asText()) {
          case "sub" -> {
            ScriptedServer.subscribeAsLive(ws, m, 2);
            // an empty id: the old reader stored it as it came
            ws.writeTextMessage("{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"app\",\"seq\":1,\"deltas\":["
                + "{\"col\":\"c\",\"id\":\"\",\"attr\":\"v\",\"value\":1,\"ts\":\"" + TS + "\",\"seq\":1}]}");
            ws.writeTextMessage("{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"app\",\"seq\":2,\"deltas\":["
                + "{\"col\":\"c\",\"id\":\"good\",\"attr\":\"v\",\"value\":2,\"ts\":\"" + TS + "\",\"seq\":2}]}");
          }
          default -> { }
        }
      });
      SynclineClient c = SynclineClient.create(new ClientOptions().setUrl(ScriptedServer.url(fake)));
      try {
        List<ClientEvent.ClientError> errors = new CopyOnWriteArrayList<>();
        c.on(ClientEvent.ERROR, errors::add);
        Collection col = c.db("app").col("c");
        Await.until(() -> col.doc("good").get() != null, () -> "the good frame applied; errors: " + errors);
        assertEquals(1, errors.size(), errors.toString());
        assertEquals("protocol", errors.get(0).code());
        assertTrue(errors.get(0).message().startsWith("malformed changes: id: "), errors.get(0).message());
        assertNotNull(col.doc("good").get());
        assertEquals(1, c.core().replica.registersOf("app").size(), "one register: the good frame's");
      } finally {
        Await.result(c.close());
      }
    } finally {
      vertx.close().await();
    }
  }

}
