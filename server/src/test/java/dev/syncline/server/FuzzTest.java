package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static dev.syncline.server.testing.RawWebSocket.BINARY;
import static dev.syncline.server.testing.RawWebSocket.CLOSE;
import static dev.syncline.server.testing.RawWebSocket.CONTINUATION;
import static dev.syncline.server.testing.RawWebSocket.PING;
import static dev.syncline.server.testing.RawWebSocket.TEXT;
import static dev.syncline.server.testing.RawWebSocket.frame;
import static dev.syncline.server.testing.RawWebSocket.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.ErrorCode;
import dev.syncline.protocol.HlcClock;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.MessageCodec;
import dev.syncline.protocol.ServerMessage;
import dev.syncline.server.testing.RawWebSocket;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Seeded fuzzing from outside: several raw connections send mutated valid messages and mutated
 * frames as fast as they can, while a writer pushes to a database a control subscriber follows.
 * It must find nothing: the control subscriber gets every live delta once and in order, every
 * message the server sends a fuzzer is a protocol message whose errors are typed (never
 * {@code internal}), every close code is one PROTOCOL.md names, and the stored data equals what
 * the control subscriber saw.
 *
 * <p>A few seconds by default; {@code -Dsyncline.fuzz.seconds=N} runs longer and
 * {@code -Dsyncline.seed=S} replays a run (the seed is printed, and named in every failure).
 */
@DisplayName("Fuzzing: mutated messages and frames on several connections find no untyped answer and stop no delivery")
class FuzzTest {
  static final int MAX_MESSAGE_BYTES = 16 * 1024;
  static final int FUZZERS = 3;
  static final String CONTROL_DB = "fuzz-control";
  static final String OTHER_DB = "fuzz";
  /** Close codes the server sends on its own (PROTOCOL.md §1); it also echoes a client's own close code when that is valid. */
  static final Set<Integer> SERVER_CLOSE_CODES = Set.of(1000, 1001, 1002, 1007, 1008, 1009);

  /** RFC 6455 §7.4: codes an endpoint may send; the server echoes these when a client closes with them. */
  static boolean validCloseCode(int code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
  }

  @Test
  void fuzz() throws Exception {
    long seed = Long.getLong("syncline.seed", System.nanoTime());
    long seconds = Long.getLong("syncline.fuzz.seconds", 3);
    System.out.println("FuzzTest seed " + seed + " (replay with -Dsyncline.seed=" + seed + ")");
    String run = "seed " + seed + ": ";
    ConcurrentLinkedQueue<String> findings = new ConcurrentLinkedQueue<>();
    try (TestServer server = TestServer.start(c -> {
      c.maxMessageBytes = MAX_MESSAGE_BYTES;
      c.catchUpPageBytes = MAX_MESSAGE_BYTES / 2;
      c.eventLoops = 2;
    })) {
      for (String db : List.of(CONTROL_DB, OTHER_DB)) server.admin(admin("db.create", args().put("db", db)));
      WsClient control = server.connect("control");
      assertEquals("subscribed", control.request(sub(CONTROL_DB, 0)).path("type").asText());
      WsClient writer = server.connect("writer");
      writer.stopRecording();

      List<Thread> fuzzers = new ArrayList<>();
      AtomicInteger sent = new AtomicInteger();
      long until = System.nanoTime() + seconds * 1_000_000_000L;
      for (int i = 0; i < FUZZERS; i++) {
        Fuzzer f = new Fuzzer(server.port(), new Random(seed + i), "fuzzer" + i, findings, sent, until);
        Thread t = new Thread(f, "fuzzer-" + i);
        t.start();
        fuzzers.add(t);
      }
      HlcClock clock = new HlcClock("writer");
      long head = 0;
      int writes = 0;
      while (System.nanoTime() < until) {
        JsonNode ack = writer.request(push(CONTROL_DB, delta("docs", "w" + (writes % 50), "n", writes, clock.tick().format())));
        assertEquals("ack", ack.path("type").asText(), run + ack);
        head = Math.max(head, ack.path("seq").asLong());
        writes++;
      }
      for (Thread t : fuzzers) t.join(30_000);
      // fuzzers may have written valid data too: the head is what the store says now
      head = server.admin(admin("db.stats", args().put("db", CONTROL_DB))).path("data").path("head").asLong();
      long finalHead = head;
      control.until(() -> highestSeq(control) >= finalHead, run + "the control subscriber to reach seq " + finalHead);

      assertTrue(findings.isEmpty(), run + findings.size() + " findings, first: " + findings.peek());
      assertFalse(control.isClosed(), run + "the control subscriber was closed");
      List<Long> seqs = new ArrayList<>();
      Map<String, JsonNode> live = new TreeMap<>();
      for (JsonNode changes : control.receivedOfType("changes")) {
        for (JsonNode d : changes.path("deltas")) {
          seqs.add(d.path("seq").asLong());
          live.put(key(d), d);
        }
      }
      for (int i = 1; i < seqs.size(); i++) assertTrue(seqs.get(i) > seqs.get(i - 1), run + "seqs out of order at " + i);
      assertTrue(writes > 0 && sent.get() > 0, run + "nothing was sent");
      // what is stored is what the control subscriber saw, register for register
      try (WsClient fresh = server.connect("auditor")) {
        fresh.request(sub(CONTROL_DB, 0));
        fresh.next("synced");
        Map<String, JsonNode> stored = new TreeMap<>();
        for (JsonNode changes : fresh.receivedOfType("changes")) for (JsonNode d : changes.path("deltas")) stored.put(key(d), d);
        assertEquals(stored, live, run + "stored data differs from what was delivered");
      }
      System.out.println("FuzzTest " + run + sent.get() + " fuzzed messages and frames, " + writes + " control writes, head " + head);
    }
  }

  private static String key(JsonNode d) {
    return d.path("col").asText() + "/" + d.path("id").asText() + "/" + d.path("attr").asText();
  }

  private static long highestSeq(WsClient c) {
    return c.receivedOfType("changes").stream().mapToLong(m -> m.path("seq").asLong()).max().orElse(0);
  }

  /** One fuzzing connection: reconnects whenever the server closes it, until the deadline. */
  static final class Fuzzer implements Runnable {
    private final int port;
    private final Random random;
    private final String clientId;
    private final ConcurrentLinkedQueue<String> findings;
    private final AtomicInteger sent;
    private final long until;
    private final HlcClock clock;
    /** The code of the first close frame sent on this connection (-1: none): the server may echo it. */
    private volatile int closedWith = -1;

    Fuzzer(int port, Random random, String clientId, ConcurrentLinkedQueue<String> findings, AtomicInteger sent, long until) {
      this.port = port;
      this.random = random;
      this.clientId = clientId;
      this.findings = findings;
      this.sent = sent;
      this.until = until;
      this.clock = new HlcClock(clientId);
    }

    @Override
    public void run() {
      while (System.nanoTime() < until) {
        closedWith = -1;
        try (RawWebSocket ws = RawWebSocket.connect(port)) {
          Reader reader = new Reader(ws);
          Thread t = new Thread(reader, clientId + "-reader");
          t.setDaemon(true);
          t.start();
          ws.sendText(random.nextInt(20) == 0 ? mutate(hello()) : hello());
          while (System.nanoTime() < until && !reader.ended) {
            byte[][] frames = random.nextInt(4) == 0 ? mutatedFrames() : new byte[][] {frame(true, TEXT, utf8(mutate(validMessage())))};
            ws.writeIfOpen(frames);
            sent.incrementAndGet();
            if (random.nextInt(8) == 0) Thread.onSpinWait();
          }
        } catch (AssertionError e) {
          // the server closed the socket under a write: reconnect
        }
      }
    }

    private String hello() {
      return "{\"type\":\"hello\",\"rid\":\"h\",\"protocol\":1,\"clientId\":\"" + clientId + "\"}";
    }

    /** Reads everything the server sends and checks it. */
    final class Reader implements Runnable {
      private final RawWebSocket ws;
      volatile boolean ended;

      Reader(RawWebSocket ws) {
        this.ws = ws;
      }

      @Override
      public void run() {
        try {
          while (true) {
            RawWebSocket.Frame f = ws.readFrame();
            if (f.opcode() == CLOSE) {
              if (f.payload().length >= 2 && !SERVER_CLOSE_CODES.contains(f.closeCode())
                  && !(closedWith == f.closeCode() && validCloseCode(closedWith))) {
                finding("close code " + f + " after the client closed with " + closedWith);
              }
              break;
            }
            if (f.opcode() == TEXT) check(f.text());
          }
        } catch (AssertionError e) {
          // the connection ended or went quiet
        } finally {
          ended = true;
        }
      }

      private void check(String text) {
        ServerMessage m;
        try {
          m = MessageCodec.decodeServer(text);
        } catch (Exception e) {
          finding("not a protocol message: " + text);
          return;
        }
        if (m instanceof ServerMessage.Error error && error.code() == ErrorCode.INTERNAL) finding("internal error: " + text);
        if (m instanceof ServerMessage.Ack ack) {
          ack.results().stream().filter(r -> r.isError() && r.error() == ErrorCode.INTERNAL)
              .forEach(r -> finding("internal error in an ack: " + text));
        }
      }
    }

    private void finding(String what) {
      findings.add(clientId + ": " + what);
    }

    // ---- valid messages ----

    private String validMessage() {
      String db = random.nextInt(4) == 0 ? CONTROL_DB : OTHER_DB;
      switch (random.nextInt(8)) {
        case 0:
          return "{\"type\":\"ping\",\"rid\":" + random.nextInt(1000) + "}";
        case 1:
          return sub(db, random.nextInt(3)).put("rid", "s").toString();
        case 2:
          return "{\"type\":\"unsub\",\"rid\":\"u\",\"sid\":\"s" + random.nextInt(5) + "\"}";
        case 3:
          return admin(random.nextBoolean() ? "db.list" : "server.stats", args()).put("rid", 1).toString();
        case 4:
          return "{\"type\":\"login\",\"rid\":\"l\",\"username\":\"admin\",\"password\":\"not-the-password\"}";
        default:
          List<JsonNode> deltas = new ArrayList<>();
          for (int i = random.nextInt(3); i >= 0; i--) {
            String attr = random.nextInt(6) == 0 ? "$deleted" : "a" + random.nextInt(4);
            Object value = attr.equals("$deleted") ? (Object) random.nextBoolean() : random.nextInt(6) == 0 ? null : "v" + random.nextInt(100);
            deltas.add(delta("docs", "f" + random.nextInt(20), attr, value, clock.tick().format()));
          }
          return push(db, deltas.toArray(JsonNode[]::new)).put("rid", "p").toString();
      }
    }

    // ---- mutations ----

    private static final String[] TOKENS = {
      "1e99999999999999999999", "-1e-99999999999999999999", "1e400", "-0", "0.0000000000000000000001", "\"\\ud800\"",
      "null", "true", "[]", "{}", "\"$deleted\"", "\"$owner\"", "\"$system\"", "9223372036854775808", "\"type\":\"ping\",",
      "\"rid\":1,", "\"deltas\":[],", "\"\\u0000\"", "\"" + "x".repeat(300) + "\"", "[[[[[[[[", "]]]]", "\"ts\":\"9999999999999-ffff-z\"",
    };
    private static final String SYNTAX = "{}[]\":,0123456789eE+-.\\ntfulsr $";

    private String mutate(String text) {
      StringBuilder s = new StringBuilder(text);
      for (int n = 1 + random.nextInt(3); n > 0 && s.length() > 0; n--) {
        int at = random.nextInt(s.length() + 1);
        switch (random.nextInt(7)) {
          case 0 -> { if (at < s.length()) s.setCharAt(at, SYNTAX.charAt(random.nextInt(SYNTAX.length()))); }
          case 1 -> s.insert(at, TOKENS[random.nextInt(TOKENS.length)]);
          case 2 -> s.delete(at, Math.min(s.length(), at + 1 + random.nextInt(8)));
          case 3 -> s.insert(at, s.substring(at, Math.min(s.length(), at + random.nextInt(20))));
          case 4 -> s.setLength(at);
          case 5 -> s.insert(at, (char) random.nextInt(0x3000));
          default -> {
            // a value of the right shape swapped for another token
            int colon = s.indexOf(":", at);
            if (colon >= 0) s.insert(colon + 1, TOKENS[random.nextInt(TOKENS.length)] + (random.nextBoolean() ? "," : ""));
          }
        }
      }
      return s.toString();
    }

    private byte[][] mutatedFrames() {
      byte[] message = utf8(validMessage());
      switch (random.nextInt(8)) {
        case 0: { // bytes that are not UTF-8
          byte[] bad = Arrays.copyOf(message, message.length);
          bad[random.nextInt(bad.length)] = (byte) (0x80 + random.nextInt(0x80));
          return new byte[][] {frame(true, TEXT, bad)};
        }
        case 1: // any opcode, any reserved bits
          return new byte[][] {frame(random.nextBoolean(), random.nextInt(8), random.nextInt(16), message, random.nextInt(10) > 0)};
        case 2: { // fragments, sometimes with a ping between them, sometimes unfinished or doubled
          int cut = 1 + random.nextInt(Math.max(1, message.length - 1));
          List<byte[]> frames = new ArrayList<>();
          frames.add(frame(false, TEXT, Arrays.copyOfRange(message, 0, cut)));
          if (random.nextBoolean()) frames.add(frame(true, PING, utf8("p")));
          if (random.nextInt(4) == 0) frames.add(frame(true, TEXT, message));
          frames.add(frame(random.nextInt(5) > 0, CONTINUATION, Arrays.copyOfRange(message, cut, message.length)));
          return frames.toArray(byte[][]::new);
        }
        case 3: // over maxMessageBytes
          return new byte[][] {frame(true, TEXT, utf8("{\"type\":\"ping\",\"pad\":\"" + "x".repeat(MAX_MESSAGE_BYTES) + "\"}"))};
        case 4: { // a close with any code
          int code = random.nextInt(65536);
          if (closedWith < 0) closedWith = code; // the server answers the first close only
          return new byte[][] {frame(true, CLOSE, new byte[] {(byte) (code >> 8), (byte) code})};
        }
        case 5:
          return new byte[][] {frame(true, BINARY, message)};
        case 6: { // random bytes as a frame body
          byte[] noise = new byte[random.nextInt(64)];
          random.nextBytes(noise);
          return new byte[][] {frame(true, TEXT, noise)};
        }
        default: { // deep nesting
          int depth = 60 + random.nextInt(10);
          return new byte[][] {frame(true, TEXT, utf8("{\"type\":\"ping\",\"x\":" + "[".repeat(depth) + "]".repeat(depth) + "}"))};
        }
      }
    }
  }
}
