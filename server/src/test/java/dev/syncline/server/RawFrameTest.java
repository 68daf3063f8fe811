package dev.syncline.server;

import static dev.syncline.server.testing.RawWebSocket.BINARY;
import static dev.syncline.server.testing.RawWebSocket.CONTINUATION;
import static dev.syncline.server.testing.RawWebSocket.PING;
import static dev.syncline.server.testing.RawWebSocket.PONG;
import static dev.syncline.server.testing.RawWebSocket.TEXT;
import static dev.syncline.server.testing.RawWebSocket.frame;
import static dev.syncline.server.testing.RawWebSocket.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.Json;
import dev.syncline.server.testing.RawWebSocket;
import dev.syncline.server.testing.RawWebSocket.Frame;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Frames a WebSocket library won't send, written by hand over a plain socket: each must end the
 * connection with the close code of PROTOCOL.md §1, and the server must go on serving others.
 */
@DisplayName("Raw WebSocket frames: bad UTF-8, framing violations and oversized messages close with the right code")
class RawFrameTest {
  /** Small, so oversized messages are cheap to build. */
  static final int MAX_MESSAGE_BYTES = 4096;

  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start(c -> {
      c.maxMessageBytes = MAX_MESSAGE_BYTES;
      c.catchUpPageBytes = MAX_MESSAGE_BYTES / 2;
    });
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  // ---- the raw client itself ----

  @Test
  @DisplayName("the raw client is correct: hello gets welcome and ping gets pong, whole or in fragments")
  void rawHelloAndPing() {
    try (RawWebSocket raw = RawWebSocket.connect(server.port())) {
      raw.sendText("{\"type\":\"hello\",\"rid\":\"h\",\"protocol\":1,\"clientId\":\"raw-1\"}");
      JsonNode welcome = parse(raw.readText());
      assertEquals("welcome", welcome.get("type").asText(), welcome.toString());
      assertEquals("h", welcome.get("rid").asText());
      assertEquals(MAX_MESSAGE_BYTES, welcome.get("limits").get("maxMessageBytes").asInt());

      raw.sendText("{\"type\":\"ping\",\"rid\":\"p1\"}");
      assertPong(parse(raw.readText()), "p1");

      byte[] ping = utf8("{\"type\":\"ping\",\"rid\":\"p2\"}");
      raw.write(
          frame(false, TEXT, Arrays.copyOfRange(ping, 0, 5)),
          frame(false, CONTINUATION, Arrays.copyOfRange(ping, 5, 17)),
          frame(true, CONTINUATION, Arrays.copyOfRange(ping, 17, ping.length)));
      assertPong(parse(raw.readText()), "p2");
    }
  }

  @Test
  @DisplayName("the raw client reads the server's close frame: ping before hello gets its error, then close 1002")
  void rawReadsCloseFrames() {
    try (RawWebSocket raw = RawWebSocket.connect(server.port())) {
      raw.sendText("{\"type\":\"ping\",\"rid\":\"early\"}");
      JsonNode error = parse(raw.readText());
      assertEquals("bad_request", error.path("code").asText(), error.toString());
      assertEquals("early", error.path("rid").asText());
      assertEquals(1002, raw.expectClose());
    }
    try (RawWebSocket raw = RawWebSocket.connect(server.port())) {
      raw.sendText("{\"type\":\"hello\",\"protocol\":2,\"clientId\":\"raw-v2\"}");
      assertEquals("unsupported_protocol", parse(raw.readText()).path("code").asText());
      assertEquals(1002, raw.expectClose());
    }
    assertStillServes();
  }

  @Test
  @DisplayName("a WebSocket ping control frame, even in the middle of a fragmented message, is answered with a pong frame")
  void controlPing() {
    try (RawWebSocket raw = helloed("raw-2")) {
      byte[] ping = utf8("{\"type\":\"ping\",\"rid\":\"p\"}");
      raw.write(
          frame(false, TEXT, Arrays.copyOfRange(ping, 0, 10)),
          frame(true, PING, utf8("beat")),
          frame(true, CONTINUATION, Arrays.copyOfRange(ping, 10, ping.length)));
      Frame pong = raw.readFrame();
      assertEquals(PONG, pong.opcode(), pong.toString());
      assertArrayEquals(utf8("beat"), pong.payload());
      assertPong(parse(raw.readText()), "p");
    }
  }

  @Test
  @DisplayName("a flood of ping control frames, before hello too, is closed with 1008 after its burst: each ping is a pong the server must hold")
  void pingFlood() {
    try (RawWebSocket raw = RawWebSocket.connect(server.port())) {
      byte[][] pings = new byte[1000][];
      Arrays.fill(pings, frame(true, PING, new byte[0]));
      raw.writeIfOpen(pings);
      // closed (Vert.x still answers the pings read with it); its close frame may be lost to the reset of unread pings
      java.util.List<Frame> got = raw.awaitEnd(10_000);
      got.stream().filter(f -> f.opcode() == RawWebSocket.CLOSE).forEach(f -> assertEquals(1008, f.closeCode(), f.toString()));
    }
    try (RawWebSocket raw = helloed("after-the-flood")) {
      raw.sendText("{\"type\":\"ping\",\"rid\":\"still\"}");
      assertPong(parse(raw.readText()), "still"); // the server serves everyone else
    }
  }

  @Test
  @DisplayName("a message of exactly maxMessageBytes is accepted, in one frame or in continuation frames")
  void messageAtTheLimit() {
    try (RawWebSocket raw = helloed("raw-3")) {
      byte[] message = pingOfSize(MAX_MESSAGE_BYTES, "edge-1");
      raw.write(frame(true, TEXT, message));
      assertPong(parse(raw.readText()), "edge-1");

      byte[] fragmented = pingOfSize(MAX_MESSAGE_BYTES, "edge-2");
      raw.write(fragments(fragmented, 4));
      assertPong(parse(raw.readText()), "edge-2");
    }
    assertStillServes();
  }

  // ---- 1007 ----

  static Stream<Arguments> invalidUtf8() {
    return Stream.of(
        Arguments.of("a lone continuation byte", new byte[] {(byte) 0x80}),
        Arguments.of("the byte 0xFF", new byte[] {(byte) 0xff}),
        Arguments.of("an overlong encoding of '/'", new byte[] {(byte) 0xc0, (byte) 0xaf}),
        Arguments.of("a truncated three-byte sequence", new byte[] {(byte) 0xe2, (byte) 0x82}),
        Arguments.of("a UTF-8 encoded surrogate (CESU)", new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80}),
        Arguments.of("a code point above U+10FFFF", new byte[] {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80}));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalidUtf8")
  @DisplayName("a text frame that is not valid UTF-8 closes the connection with 1007")
  void invalidUtf8ClosesWith1007(String name, byte[] bad) {
    byte[] message = concat(utf8("{\"type\":\"ping\",\"rid\":\"bad-utf8\",\"x\":\""), bad, utf8("\"}"));
    expectCloseAfter(1007, frame(true, TEXT, message));
  }

  @Test
  @DisplayName("invalid UTF-8 in a continuation frame of a fragmented text message closes with 1007")
  void invalidUtf8InContinuation() {
    expectCloseAfter(1007,
        frame(false, TEXT, utf8("{\"type\":\"ping\",\"rid\":\"bad-utf8\",\"x\":\"")),
        frame(true, CONTINUATION, concat(new byte[] {(byte) 0xc3, (byte) 0x28}, utf8("\"}"))));
  }

  // ---- 1002 ----

  static Stream<Arguments> framingViolations() {
    byte[] ping = utf8("{\"type\":\"ping\",\"rid\":\"bad-frame\"}");
    return Stream.of(
        Arguments.of("RSV1 set without a negotiated extension", new byte[][] {frame(true, 0b100, TEXT, ping, true)}),
        Arguments.of("RSV2 set", new byte[][] {frame(true, 0b010, TEXT, ping, true)}),
        Arguments.of("RSV3 set", new byte[][] {frame(true, 0b001, TEXT, ping, true)}),
        Arguments.of("an unmasked client frame", new byte[][] {frame(true, 0, TEXT, ping, false)}),
        Arguments.of("a reserved data opcode (0x3)", new byte[][] {frame(true, 0, 0x3, ping, true)}),
        Arguments.of("a reserved control opcode (0xB)", new byte[][] {frame(true, 0, 0xB, new byte[0], true)}),
        Arguments.of("a fragmented ping control frame", new byte[][] {frame(false, PING, utf8("x"))}),
        Arguments.of("a control frame longer than 125 bytes", new byte[][] {frame(true, PING, new byte[126])}),
        Arguments.of("a continuation frame with no message open", new byte[][] {frame(true, CONTINUATION, ping)}),
        Arguments.of("a new text frame while a fragmented message is open",
            new byte[][] {frame(false, TEXT, utf8("{\"type\":")), frame(true, TEXT, ping)}));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("framingViolations")
  @DisplayName("a frame that breaks the WebSocket framing rules closes the connection with 1002")
  void framingViolationClosesWith1002(String name, byte[][] frames) {
    expectCloseAfter(1002, frames);
  }

  // ---- 1009 ----

  @Test
  @DisplayName("a single text frame one byte over maxMessageBytes closes the connection with 1009")
  void frameOverTheLimit() {
    expectCloseAfter(1009, frame(true, TEXT, pingOfSize(MAX_MESSAGE_BYTES + 1, "big")));
  }

  @Test
  @DisplayName("a text frame three times maxMessageBytes closes the connection with 1009")
  void frameFarOverTheLimit() {
    expectCloseAfter(1009, frame(true, TEXT, pingOfSize(3 * MAX_MESSAGE_BYTES, "huge")));
  }

  @Test
  @DisplayName("a binary frame over maxMessageBytes closes the connection with 1009")
  void binaryFrameOverTheLimit() {
    expectCloseAfter(1009, frame(true, BINARY, new byte[MAX_MESSAGE_BYTES + 1]));
  }

  @Test
  @DisplayName("continuation frames each under the limit whose total exceeds maxMessageBytes close with 1009")
  void fragmentsOverTheLimit() {
    expectCloseAfter(1009, fragments(pingOfSize(MAX_MESSAGE_BYTES + 1, "split"), 2));
  }

  @Test
  @DisplayName("many small continuation frames adding up to three times maxMessageBytes close with 1009")
  void manyFragmentsOverTheLimit() {
    expectCloseAfter(1009, fragments(pingOfSize(3 * MAX_MESSAGE_BYTES, "split-many"), 12));
  }

  // ---- close frames ----

  @ParameterizedTest(name = "close code {0}")
  @org.junit.jupiter.params.provider.ValueSource(ints = {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535})
  @DisplayName("a close frame with a code no endpoint may send is answered with close 1002 (RFC 6455 §7.4)")
  void invalidCloseCode(int code) {
    try (RawWebSocket raw = helloed("raw-close-" + code)) {
      raw.write(frame(true, RawWebSocket.CLOSE, new byte[] {(byte) (code >> 8), (byte) code}));
      Frame answer = raw.readFrame();
      assertEquals(RawWebSocket.CLOSE, answer.opcode(), answer.toString());
      assertEquals(1002, answer.closeCode(), answer.toString());
      raw.awaitEnd(RawWebSocket.TIMEOUT_MS);
    }
    assertStillServes();
  }

  @ParameterizedTest(name = "close code {0}")
  @org.junit.jupiter.params.provider.ValueSource(ints = {1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999})
  @DisplayName("a close frame with a code an endpoint may send is answered with the same code, then the connection ends")
  void validCloseCode(int code) {
    try (RawWebSocket raw = helloed("raw-close-" + code)) {
      raw.write(frame(true, RawWebSocket.CLOSE, new byte[] {(byte) (code >> 8), (byte) code}));
      Frame answer = raw.readFrame();
      assertEquals(RawWebSocket.CLOSE, answer.opcode(), answer.toString());
      assertEquals(code, answer.closeCode(), answer.toString());
      raw.awaitEnd(RawWebSocket.TIMEOUT_MS);
    }
    assertStillServes();
  }

  @Test
  @DisplayName("a close frame without a code is answered with a close frame that sends no reserved code")
  void closeWithoutCode() {
    try (RawWebSocket raw = helloed("raw-close-empty")) {
      raw.write(frame(true, RawWebSocket.CLOSE, new byte[0]));
      Frame answer = raw.readFrame();
      assertEquals(RawWebSocket.CLOSE, answer.opcode(), answer.toString());
      assertTrue(answer.payload().length == 0 || answer.closeCode() == 1000, answer.toString());
      raw.awaitEnd(RawWebSocket.TIMEOUT_MS);
    }
    assertStillServes();
  }

  // ---- the handshake ----

  @ParameterizedTest(name = "[{index}] {0} (empty: no version header)")
  @org.junit.jupiter.params.provider.ValueSource(strings = {"Sec-WebSocket-Version: 8\r\n", "Sec-WebSocket-Version: 7\r\n",
      "Sec-WebSocket-Version: 14\r\n", "Sec-WebSocket-Version: 13, 8\r\n", ""})
  @DisplayName("a handshake for any WebSocket version but 13 is refused with 426 naming version 13")
  void otherVersions(String versionHeader) {
    String head = RawWebSocket.upgradeResponse(server.port(), "/sync", versionHeader);
    assertTrue(head.startsWith("HTTP/1.1 426"), head);
    assertTrue(head.lines().anyMatch(l -> l.equalsIgnoreCase("sec-websocket-version: 13")), head);
    assertStillServes();
  }

  @Test
  @DisplayName("a handshake on any path but /sync is refused with 404")
  void otherPaths() {
    for (String path : new String[] {"/", "/sync/", "/health", "/syncx"}) {
      String head = RawWebSocket.upgradeResponse(server.port(), path, "Sec-WebSocket-Version: 13\r\n");
      assertTrue(head.startsWith("HTTP/1.1 404"), path + ": " + head);
    }
  }

  // ---- helpers ----

  /**
   * Says hello over a raw socket, writes the frames, then a valid ping (so a server that ignores the
   * frames answers pong and the test fails at once instead of timing out), and requires the
   * server's close frame with {@code code}. Then a normal client must still be served.
   */
  private static void expectCloseAfter(int code, byte[]... frames) {
    try (RawWebSocket raw = helloed("raw-bad")) {
      raw.write(frames);
      raw.writeIfOpen(frame(true, TEXT, utf8("{\"type\":\"ping\",\"rid\":\"still-open\"}")));
      assertEquals(code, raw.expectClose(), "close code");
    }
    assertStillServes();
  }

  private static RawWebSocket helloed(String clientId) {
    RawWebSocket raw = RawWebSocket.connect(server.port());
    raw.sendText("{\"type\":\"hello\",\"rid\":\"h\",\"protocol\":1,\"clientId\":\"" + clientId + "\"}");
    JsonNode welcome = parse(raw.readText());
    assertEquals("welcome", welcome.get("type").asText(), welcome.toString());
    return raw;
  }

  /** A fresh, normal client connects, says hello and gets its ping answered. */
  private static void assertStillServes() {
    try (WsClient c = server.connect("after-raw")) {
      JsonNode pong = c.request(WsClient.obj("ping"));
      assertEquals("pong", pong.get("type").asText(), pong.toString());
      assertFalse(c.isClosed());
    }
  }

  private static void assertPong(JsonNode m, String rid) {
    assertEquals("pong", m.get("type").asText(), m.toString());
    assertEquals(rid, m.get("rid").asText(), m.toString());
  }

  /** A valid ping message of exactly {@code size} bytes of UTF-8, padded with an ignored field. */
  private static byte[] pingOfSize(int size, String rid) {
    String head = "{\"type\":\"ping\",\"rid\":\"" + rid + "\",\"pad\":\"";
    String tail = "\"}";
    int pad = size - head.length() - tail.length();
    assertTrue(pad >= 0);
    byte[] message = utf8(head + "x".repeat(pad) + tail);
    assertEquals(size, message.length);
    return message;
  }

  /** Splits a message into {@code n} masked frames: TEXT, then continuations, the last one final. */
  private static byte[][] fragments(byte[] message, int n) {
    byte[][] frames = new byte[n][];
    int step = (message.length + n - 1) / n;
    for (int i = 0; i < n; i++) {
      byte[] part = Arrays.copyOfRange(message, Math.min(i * step, message.length), Math.min((i + 1) * step, message.length));
      frames[i] = frame(i == n - 1, i == 0 ? TEXT : CONTINUATION, part);
    }
    return frames;
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) out.writeBytes(p);
    return out.toByteArray();
  }

  private static JsonNode parse(String text) {
    try {
      return Json.MAPPER.readTree(text);
    } catch (Exception e) {
      throw new AssertionError("server sent invalid JSON: " + text, e);
    }
  }
}
