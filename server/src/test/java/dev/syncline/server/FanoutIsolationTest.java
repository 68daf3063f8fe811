package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static dev.syncline.server.testing.RawWebSocket.TEXT;
import static dev.syncline.server.testing.RawWebSocket.frame;
import static dev.syncline.server.testing.RawWebSocket.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.HlcClock;
import dev.syncline.protocol.Json;
import dev.syncline.server.testing.RawWebSocket;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Subscribers A, B and C share the server's only event loop. B misbehaves at the socket level
 * and then goes silent — never reads, never answers a close — while a writer pushes megabytes of
 * changes. A and C must receive every one of them, exactly once; B must leave the hub as soon as
 * the server decides to close it, and its TCP connection must be dropped within a few seconds.
 */
@DisplayName("One subscriber that breaks the socket rules and goes silent cannot stop live delivery to the others")
class FanoutIsolationTest {
  static final int MAX_MESSAGE_BYTES = 64 * 1024;
  /** 300 pushes of 30 KB: more than a silent socket's buffers hold, so a paused B really backs up. */
  static final int PUSHES = 300;
  static final String VALUE = "v".repeat(30_000);
  /** How long the server waits for a close to be answered before it drops the TCP connection (PROTOCOL.md §1). */
  static final long CLOSE_HANDSHAKE_MS = 3000;

  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start(c -> {
      c.eventLoops = 1; // A, B and C on one loop: what fails for B runs next to what serves A and C
      c.maxMessageBytes = MAX_MESSAGE_BYTES;
      c.catchUpPageBytes = MAX_MESSAGE_BYTES / 2;
    });
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  /** What B does after subscribing, and the close code the server answers with (0: it does not close). */
  enum Misbehaviour {
    INVALID_UTF8(1007) {
      @Override
      void provoke(RawWebSocket b) {
        b.write(frame(true, TEXT, new byte[] {'{', '"', (byte) 0xc3, (byte) 0x28, '"', '}'}));
      }
    },
    OVERSIZED_MESSAGE(1009) {
      @Override
      void provoke(RawWebSocket b) {
        b.write(frame(true, TEXT, utf8("{\"type\":\"ping\",\"pad\":\"" + "x".repeat(MAX_MESSAGE_BYTES) + "\"}")));
      }
    },
    CLOSES_THEN_STOPS_READING(1000) {
      @Override
      void provoke(RawWebSocket b) {
        b.write(frame(true, RawWebSocket.CLOSE, new byte[] {0x03, (byte) 0xe8}));
      }
    },
    PAUSED(0) {
      @Override
      void provoke(RawWebSocket b) {
        // it simply never reads again
      }
    };

    final int closeCode;

    Misbehaviour(int closeCode) {
      this.closeCode = closeCode;
    }

    abstract void provoke(RawWebSocket b);
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Misbehaviour.class)
  @DisplayName("A and C receive every live delta, B leaves the hub at once and its socket is dropped")
  void othersKeepReceiving(Misbehaviour misbehaviour) {
    String db = "iso-" + misbehaviour.name().toLowerCase().replace('_', '-');
    assertEquals("result", server.admin(admin("db.create", args().put("db", db))).path("type").asText());
    try (WsClient a = subscriber("a", db); WsClient c = subscriber("c", db); RawWebSocket b = rawSubscriber(db);
        WsClient writer = server.connect("writer")) {
      int withB = subscriptions();
      long provokedAt = System.nanoTime();
      misbehaviour.provoke(b);
      if (misbehaviour.closeCode != 0) {
        a.until(() -> subscriptions() == withB - 1, "B's subscription to leave the hub");
      }

      long head = pushMegabytes(writer, db);
      for (WsClient control : List.of(a, c)) {
        Set<Long> seqs = receivedSeqs(control, head);
        assertEquals(head, seqs.size(), "every delta once, none twice");
        assertEquals(1L, ((TreeSet<Long>) seqs).first());
        assertEquals(head, ((TreeSet<Long>) seqs).last());
        assertEquals("pong", control.request(WsClient.obj("ping")).path("type").asText());
        assertFalse(control.isClosed());
      }

      if (misbehaviour.closeCode != 0) {
        // well before Vert.x's own closing timeout (10 s): the server dropped B, which never answered
        long left = CLOSE_HANDSHAKE_MS + 4000 - (System.nanoTime() - provokedAt) / 1_000_000;
        List<RawWebSocket.Frame> last = b.awaitEnd(Math.max(1, left));
        RawWebSocket.Frame close = last.get(last.size() - 1);
        assertEquals(RawWebSocket.CLOSE, close.opcode(), last.toString());
        assertEquals(misbehaviour.closeCode, close.closeCode(), close.toString());
      } else {
        // B is held back, in bounded memory: a buffer under its budget, or fed from the store later
        JsonNode fanout = server.admin(admin("server.stats", args())).path("data").path("fanout");
        long buffered = fanout.path("bufferedBytes").asLong();
        assertTrue(fanout.path("lagging").asInt() >= 1 || buffered > 0, fanout.toString());
        assertTrue(buffered <= new dev.syncline.server.config.ServerConfig().subscriberBufferBytes, fanout.toString());
      }
    }
  }

  /** Pushes {@link #PUSHES} pushes of one 30 KB delta, all in flight at once; returns the head after the last ack. */
  private static long pushMegabytes(WsClient writer, String db) {
    HlcClock clock = new HlcClock("writer");
    List<Long> rids = new ArrayList<>();
    for (int i = 0; i < PUSHES; i++) {
      rids.add(writer.sendWithRid(push(db, delta("docs", "d" + i, "body", VALUE, clock.tick().format()))));
    }
    long head = 0;
    for (long rid : rids) {
      JsonNode ack = writer.await(m -> m.path("rid").asLong(-1) == rid);
      assertEquals("ack", ack.path("type").asText(), ack.toString());
      assertEquals("applied", ack.path("results").path(0).asText(), ack.toString());
      head = Math.max(head, ack.path("seq").asLong());
    }
    assertEquals(PUSHES, head);
    return head;
  }

  private static Set<Long> receivedSeqs(WsClient control, long head) {
    control.until(() -> highestSeq(control) >= head, "all " + head + " deltas at " + control);
    Set<Long> seqs = new TreeSet<>();
    for (JsonNode changes : control.receivedOfType("changes")) {
      for (JsonNode d : changes.path("deltas")) {
        assertTrue(seqs.add(d.path("seq").asLong()), "a duplicate: " + d.path("seq"));
      }
    }
    return seqs;
  }

  private static long highestSeq(WsClient c) {
    return c.receivedOfType("changes").stream().mapToLong(m -> m.path("seq").asLong()).max().orElse(0);
  }

  private static int subscriptions() {
    return server.admin(admin("server.stats", args())).path("data").path("subscriptions").asInt();
  }

  private static WsClient subscriber(String clientId, String db) {
    WsClient c = server.connect(clientId);
    assertEquals("subscribed", c.request(sub(db, 0)).path("type").asText());
    c.next("synced");
    return c;
  }

  private static RawWebSocket rawSubscriber(String db) {
    RawWebSocket b = RawWebSocket.connect(server.port(), 16 * 1024);
    b.sendText("{\"type\":\"hello\",\"protocol\":1,\"clientId\":\"b\"}");
    assertEquals("welcome", parse(b.readText()).path("type").asText());
    b.sendText("{\"type\":\"sub\",\"db\":\"" + db + "\"}");
    assertEquals("subscribed", parse(b.readText()).path("type").asText());
    assertEquals("synced", parse(b.readText()).path("type").asText());
    return b;
  }

  private static JsonNode parse(String text) {
    try {
      return Json.MAPPER.readTree(text);
    } catch (Exception e) {
      throw new AssertionError("not JSON: " + text, e);
    }
  }
}
