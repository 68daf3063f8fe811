package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.HlcClock;
import dev.syncline.server.testing.Pipeline;
import dev.syncline.server.testing.Replica;
import dev.syncline.server.testing.ServerProcess;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("A subscriber that stops reading")
class SlowSubscriberTest {
  static final int TOTAL = 200_000;
  static final int PER_PUSH = 500; // 500 deltas of 1 KB: under maxMessageBytes
  static final int REGISTERS = 2_000;
  static final int BUFFER_BUDGET = 1 << 20;
  static final String PAYLOAD = "x".repeat(1000);
  static final int HEAP_MB = 128;

  @Test
  @DisplayName("costs bounded server memory while 200,000 deltas (200 MB) are pushed, others keep being served, and it converges once it reads again")
  void boundedAndConverges(@org.junit.jupiter.api.io.TempDir Path data) throws Exception {
    // the server runs in its own JVM with a heap smaller than the changes that go by, so holding
    // them for the stalled subscriber would end it with OutOfMemoryError
    String config = "{\"databases\":[\"app\"],\"storeCacheBytes\":16777216,\"subscriberBufferBytes\":" + BUFFER_BUDGET + "}";
    try (ServerProcess server = ServerProcess.start(data, config, "-Xmx" + HEAP_MB + "m")) {
      Replica slowReplica = new Replica();
      java.util.concurrent.atomic.AtomicInteger slowSynced = new java.util.concurrent.atomic.AtomicInteger();
      WsClient slow = subscriber(server, "slow", m -> {
        if ("synced".equals(m.path("type").asText())) slowSynced.incrementAndGet();
        slowReplica.apply(m);
      });
      Replica fastReplica = new Replica();
      WsClient fast = subscriber(server, "fast", fastReplica::apply);
      WsClient writer = connect(server, "writer");
      WsClient admin = connect(server, "stats");
      admin.request(WsClient.obj("login").put("username", "admin").put("password", TestServer.ADMIN_PASSWORD));
      writer.stopRecording();
      Pipeline pipeline = new Pipeline(writer, 4);
      HlcClock clock = new HlcClock("writer");
      Map<String, Replica.Reg> model = new HashMap<>();

      slow.pause(true);
      long maxBuffered;
      try {
        maxBuffered = pushAll(pipeline, admin, clock, model, TOTAL);
      } catch (RuntimeException e) {
        throw new AssertionError("pushing failed; server output:\n" + server.recentOutput(), e);
      }
      fast.until(() -> fastReplica.holds(model), "the reading subscriber to have everything");
      JsonNode stats = admin.request(admin("server.stats", null)).get("data");

      assertTrue(server.isAlive(), "the server survived");
      assertTrue(stats.get("heap").get("maxBytes").asLong() <= (long) HEAP_MB << 20);
      assertTrue((long) TOTAL * PAYLOAD.length() > (long) HEAP_MB << 20, "more went by than the heap could hold");
      assertTrue(maxBuffered <= 2L * BUFFER_BUDGET, "buffered " + maxBuffered + " bytes");
      assertTrue(stats.get("fanout").get("lagEvents").asLong() >= 1, "the stalled subscriber was switched to the store: " + stats);
      assertEquals(TOTAL, fastReplica.deltaCount(), "the reading subscriber got every delta live");

      slow.pause(false);
      slow.until(() -> slowReplica.holds(model), "the stalled subscriber to converge");
      assertNull(slowReplica.violation());
      slow.request(WsClient.obj("ping")); // answered after anything sent with the last page
      assertEquals(1, slowSynced.get(), "synced once, at the start: catching up after lagging sends only changes");
      assertTrue(slowReplica.deltaCount() < TOTAL,
          "catching up from the store skips overwritten values: got " + slowReplica.deltaCount());
      assertEquals(0, fanout(admin).get("lagging").asInt());
      slow.close();
      fast.close();
      writer.close();
    }
  }

  @Test
  @DisplayName("that subscribes to many databases at once is sent catch-up pages only while its socket takes them, "
      + "not one per subscription, and once it reads gets every database whole, each delta once")
  void manySubscriptionsOnePageAtATime() throws Exception {
    int dbs = 90;
    int perDb = 600; // 1 KB each: two pages per database (512 KiB and the rest), 54 MB in all
    try (TestServer server = TestServer.start(c -> {
          for (int i = 0; i < dbs; i++) c.databases.add(dev.syncline.server.config.ServerConfig.DatabaseSpec.named("db" + i));
        });
        WsClient writer = server.connect("writer")) {
      HlcClock clock = new HlcClock("writer");
      for (int i = 0; i < dbs; i++) {
        ObjectNode p = push("db" + i);
        for (int k = 0; k < perDb; k++) p.withArray("deltas").add(delta("c", "d" + k, "v", PAYLOAD, clock.tick().format()));
        assertEquals("ack", writer.request(p).path("type").asText());
      }
      long pagesBefore = fanout(server).path("pagesRead").asLong();

      try (var reader = dev.syncline.server.testing.RawWebSocket.connect(server.port(), 64 * 1024)) {
        reader.sendText("{\"type\":\"hello\",\"protocol\":1,\"clientId\":\"many-subs\"}");
        for (int i = 0; i < dbs; i++) reader.sendText("{\"type\":\"sub\",\"rid\":" + (i + 1) + ",\"db\":\"db" + i + "\"}");
        // it reads nothing: the server reads pages until the socket is full, then waits for it to drain
        long pagesRead = quietPagesRead(server) - pagesBefore;
        assertTrue(fanout(server).path("lagging").asInt() > 0, "subscriptions wait for the socket: " + fanout(server));
        System.out.println("pages read for a socket that took none: " + pagesRead);
        assertTrue(pagesRead < dbs / 2, pagesRead + " pages read for a socket that took none: the loopback's buffers hold "
            + "a few, not one per subscription");

        Map<String, String> dbOfSid = new HashMap<>();
        Map<String, Long> lastSeq = new HashMap<>();
        Map<String, Integer> deltas = new HashMap<>();
        for (int synced = 0; synced < dbs; ) {
          JsonNode m = dev.syncline.protocol.Json.MAPPER.readTree(reader.readText());
          String sid = m.path("sid").asText();
          switch (m.path("type").asText()) {
            case "subscribed" -> dbOfSid.put(sid, "db" + (m.path("rid").asInt() - 1));
            case "changes" -> {
              for (JsonNode d : m.path("deltas")) {
                long seq = d.path("seq").asLong();
                assertTrue(seq > lastSeq.getOrDefault(sid, 0L), "seq order, no duplicate");
                lastSeq.put(sid, seq);
                deltas.merge(sid, 1, Integer::sum);
              }
            }
            case "synced" -> synced++;
            case "welcome" -> { }
            default -> throw new AssertionError("unexpected " + m);
          }
        }
        assertEquals(dbs, dbOfSid.size());
        for (String sid : dbOfSid.keySet()) assertEquals(perDb, deltas.getOrDefault(sid, 0), dbOfSid.get(sid));
      }
    }
  }

  /** Catch-up pages read so far, once no more were read for a second. */
  private static long quietPagesRead(TestServer server) throws InterruptedException {
    long last = -1;
    for (int quiet = 0; quiet < 5; ) {
      Thread.sleep(200);
      long now = fanout(server).path("pagesRead").asLong();
      quiet = now == last ? quiet + 1 : 0;
      last = now;
    }
    return last;
  }

  private static JsonNode fanout(TestServer server) {
    return server.admin(admin("server.stats", null)).path("data").path("fanout");
  }

  /** Pushes {@code n} deltas round the registers; returns the most bytes the hub held meanwhile. */
  private static long pushAll(Pipeline pipeline, WsClient admin, HlcClock clock, Map<String, Replica.Reg> model, int n) {
    List<CompletableFuture<Void>> acks = new ArrayList<>(); // checked on arrival, not kept: they would weigh on the heap
    long maxBuffered = 0;
    for (int i = 0; i < n; ) {
      List<JsonNode> batch = new ArrayList<>(PER_PUSH);
      for (int k = 0; k < PER_PUSH; k++, i++) {
        String ts = clock.tick().format();
        String id = "d" + (i % REGISTERS);
        ObjectNode d = delta("c", id, "v", PAYLOAD + i, ts);
        batch.add(d);
        model.put(Replica.key("c", id, "v"), new Replica.Reg(d.get("value"), ts));
      }
      acks.add(pipeline.send(push("app", batch.toArray(new JsonNode[0])))
          .thenAccept(ack -> assertEquals("ack", ack.get("type").asText(), ack.toString())));
      if (i % 20_000 == 0) maxBuffered = Math.max(maxBuffered, admin.request(admin("server.stats", null)).get("data").get("fanout").get("bufferedBytes").asLong());
    }
    acks.forEach(CompletableFuture::join);
    return maxBuffered;
  }

  private static JsonNode fanout(WsClient c) {
    return c.request(admin("server.stats", null)).get("data").get("fanout");
  }

  /** A client subscribed to everything and synced, feeding {@code listener} without recording frames. */
  private static WsClient subscriber(ServerProcess server, String clientId, java.util.function.Consumer<JsonNode> listener) {
    WsClient c = connect(server, clientId);
    c.listen(listener);
    c.request(sub("app", 0));
    c.next("synced");
    c.stopRecording();
    return c;
  }

  private static WsClient connect(ServerProcess server, String clientId) {
    WsClient c = WsClient.connect(server.port());
    c.hello(clientId);
    return c;
  }
}
