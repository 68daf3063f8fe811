package dev.syncline.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import io.vertx.core.http.WebSocketClientOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("With per-message compression on, maxMessageBytes bounds a message as inflated, not as sent")
class CompressedMessageTest {
  static final int MAX_MESSAGE_BYTES = 16 * 1024;

  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start(c -> {
      c.compression = true;
      c.maxMessageBytes = MAX_MESSAGE_BYTES;
      c.catchUpPageBytes = MAX_MESSAGE_BYTES / 2;
    });
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static WsClient compressing() {
    return agreed(WsClient.connect(server.port(), new WebSocketClientOptions().setTryUsePerMessageCompression(true)
        .setMaxMessageSize(64 << 20).setMaxFrameSize(64 << 20)));
  }

  /** The connection, once it is sure the server agreed to compress: else a large message would test nothing of it. */
  private static WsClient agreed(WsClient c) {
    String extensions = c.handshakeHeader("sec-websocket-extensions");
    org.junit.jupiter.api.Assertions.assertTrue(extensions != null && extensions.contains("permessage-deflate"),
        "compression not agreed: " + extensions);
    return c;
  }

  private static String pingOfSize(int bytes) {
    String head = "{\"type\":\"ping\",\"pad\":\"";
    return head + "a".repeat(bytes - head.length() - 2) + "\"}";
  }

  @Test
  @DisplayName("a message of maxMessageBytes, compressed, is served")
  void atTheLimit() {
    try (WsClient c = compressing()) {
      c.hello("compressed-ok");
      c.sendRaw(pingOfSize(MAX_MESSAGE_BYTES));
      c.next("pong");
    }
  }

  @Test
  @DisplayName("a compressed frame that is no deflate stream, or inflates to nothing, closes with 1007 (invalid payload), not 1009 (too big)")
  void corruptFrame() {
    byte[][] payloads = {
        {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff}, // no deflate stream
        {0x02, 0x00}, // an empty block, not the last: nothing comes out, which Netty's inflater refuses
        {0x04}};
    for (byte[] payload : payloads) {
      try (dev.syncline.server.testing.RawWebSocket raw = dev.syncline.server.testing.RawWebSocket.connect(server.port(),
          "Sec-WebSocket-Extensions: permessage-deflate\r\n")) {
        raw.write(dev.syncline.server.testing.RawWebSocket.frame(true, 4, dev.syncline.server.testing.RawWebSocket.TEXT, payload, true)); // RSV1: compressed
        assertEquals(1007, raw.expectClose(), java.util.Arrays.toString(payload));
      }
    }
  }

  @Test
  @DisplayName("a single frame that inflates past maxMessageBytes closes with 1009, though a few hundred bytes were sent")
  void inflatedPastTheLimit() {
    try (WsClient c = compressing()) {
      c.hello("compressed-big");
      c.sendRaw(pingOfSize(50 * MAX_MESSAGE_BYTES)); // ~800 KB of one letter: under 2 KB on the wire
      assertEquals(1009, c.awaitClose());
    }
  }

  @Test
  @DisplayName("a frame of about a hundred KB that would inflate to 128 MiB is not inflated: 1009, and a server "
      + "with a 64 MB heap keeps serving")
  void inflationBomb(@org.junit.jupiter.api.io.TempDir java.nio.file.Path data) throws Exception {
    try (var process = dev.syncline.server.testing.ServerProcess.start(data, "{\"compression\":true}", "-Xmx64m",
        "-XX:MaxDirectMemorySize=64m")) {
      try (WsClient bomb = agreed(WsClient.connect(process.port(), new WebSocketClientOptions().setTryUsePerMessageCompression(true)
          .setMaxMessageSize(512 << 20).setMaxFrameSize(512 << 20)))) {
        bomb.hello("bomb");
        // one letter: about 128 KB on the wire, twice the server's heap and direct memory inflated (and no more
        // than this JVM, which builds and compresses it whole, can spare beside the suite)
        bomb.sendRaw(pingOfSize(128 << 20));
        assertEquals(1009, bomb.awaitClose());
      }
      org.junit.jupiter.api.Assertions.assertTrue(process.isAlive(), process.recentOutput());
      try (WsClient other = WsClient.connect(process.port())) {
        other.hello("bystander");
        other.request(WsClient.obj("ping"));
      }
      org.junit.jupiter.api.Assertions.assertFalse(process.recentOutput().contains("OutOfMemoryError")
          || process.recentOutput().contains("OutOfDirectMemoryError"), process.recentOutput());
    }
  }
}
