package dev.syncline.server;

import static dev.syncline.server.testing.RawWebSocket.TEXT;
import static dev.syncline.server.testing.RawWebSocket.frame;
import static dev.syncline.server.testing.RawWebSocket.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.Json;
import dev.syncline.server.testing.RawWebSocket;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.io.ByteArrayOutputStream;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A client that sends requests and never reads the answers: the server stops reading it once its
 * unsent answers pass {@code socketWriteQueueBytes}, so the requests wait in TCP buffers instead of
 * their answers on the server's heap, and reads again when the client does.
 */
@DisplayName("A client that leaves its answers unread is paused, not buffered for, and served again when it reads")
class UnreadAnswersTest {
  /** Pings sent in one socket write. */
  static final int PER_WRITE = 2000;
  /** Far more than the kernel's buffers on both ends hold (a few MB on loopback): without a pause all of it is read. */
  static final long TOTAL_BYTES = 48L << 20;

  @Test
  @DisplayName("the pings it can send stop far short of what an unpaused server would read; once it reads, each is answered once")
  void pausedWhileUnread() throws Exception {
    try (TestServer server = TestServer.start(c -> c.messagesPerSecond = 0);
        RawWebSocket flooder = RawWebSocket.connect(server.port(), 64 * 1024)) {
      flooder.sendText("{\"type\":\"hello\",\"protocol\":1,\"clientId\":\"flooder\"}");
      assertEquals("welcome", Json.MAPPER.readTree(flooder.readText()).path("type").asText());

      AtomicLong sentBytes = new AtomicLong();
      AtomicLong sentPings = new AtomicLong();
      Thread writer = new Thread(() -> {
        long rid = 0;
        while (sentBytes.get() < TOTAL_BYTES) {
          ByteArrayOutputStream batch = new ByteArrayOutputStream();
          for (int i = 0; i < PER_WRITE; i++) {
            batch.writeBytes(frame(true, TEXT, utf8("{\"type\":\"ping\",\"rid\":" + ++rid + "}")));
          }
          flooder.writeIfOpen(batch.toByteArray()); // blocks while the buffers are full
          sentBytes.addAndGet(batch.size());
          sentPings.addAndGet(PER_WRITE);
        }
      }, "flooder");
      writer.setDaemon(true);
      writer.start();

      // wait until the writes stop moving: the server stopped reading
      long last = -1;
      while (writer.isAlive() && sentBytes.get() != last) {
        last = sentBytes.get();
        Thread.sleep(1500);
      }
      long stalledAt = sentBytes.get();
      assertTrue(writer.isAlive() && stalledAt < TOTAL_BYTES / 2,
          "the server kept reading a client that reads nothing: " + (stalledAt >> 20) + " MiB of pings taken");

      try (WsClient other = server.connect("other")) {
        assertEquals("pong", other.request(WsClient.obj("ping")).path("type").asText(), "everyone else is served");
      }

      // it reads: the server reads on, and every ping sent is answered, in order, once
      long answered = 0;
      while (writer.isAlive() || answered < sentPings.get()) {
        JsonNode pong = Json.MAPPER.readTree(flooder.readText());
        assertEquals("pong", pong.path("type").asText(), pong.toString());
        assertEquals(++answered, pong.path("rid").asLong(), "answers in order, none lost or twice");
      }
      assertEquals(sentPings.get(), answered);
      assertTrue(sentBytes.get() >= TOTAL_BYTES, "the writer finished once the server read again");
    }
  }
}
