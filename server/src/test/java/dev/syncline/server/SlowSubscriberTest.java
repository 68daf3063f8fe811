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
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.lang.management.ManagementFactory;
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
  static final int PER_PUSH = 1000;
  static final int REGISTERS = 2_000;
  static final int BUFFER_BUDGET = 1 << 20;
  static final String PAYLOAD = "x".repeat(400);

  @Test
  @DisplayName("costs bounded server memory while 200,000 deltas are pushed, others keep being served, and it converges once it reads again")
  void boundedAndConverges() throws Exception {
    try (TestServer server = TestServer.start(c -> {
      c.storeCacheBytes = 16 << 20;
      c.subscriberBufferBytes = BUFFER_BUDGET;
    })) {
      WsClient slow = server.connect("slow");
      Replica slowReplica = new Replica();
      slow.listen(slowReplica::apply);
      slow.request(sub("app", 0));
      slow.next("synced");
      slow.stopRecording();
      WsClient fast = server.connect("fast");
      Replica fastReplica = new Replica();
      fast.listen(fastReplica::apply);
      fast.request(sub("app", 0));
      fast.next("synced");
      fast.stopRecording();
      WsClient writer = server.connect("writer");
      writer.stopRecording();
      Pipeline pipeline = new Pipeline(writer, 4);
      HlcClock clock = new HlcClock("writer");
      Map<String, Replica.Reg> model = new HashMap<>();

      // warm up: the store's caches fill to their bounds, so what grows after this is buffering
      pushAll(pipeline, clock, model, TOTAL / 2);
      slow.until(() -> slowReplica.holds(model), "the subscriber to read the warm-up");
      long baseline = usedHeapAfterGc();
      long deliveredBefore = fastReplica.deltaCount();

      slow.pause(true);
      long maxBuffered = pushAll(pipeline, clock, model, TOTAL);
      fast.until(() -> fastReplica.holds(model), "the reading subscriber to have everything");
      long grown = usedHeapAfterGc() - baseline;
      JsonNode fanout = fanout(writer);

      // ~90 MB of changes went by: held for the stalled subscriber, they would show here; what may
      // grow is the store's page cache (16 MB here) and the test's own replicas (~2 MB)
      assertTrue(grown < 32L << 20, "heap grew by " + (grown >> 20) + " MB while the subscriber was stalled");
      assertTrue(maxBuffered <= 2L * BUFFER_BUDGET, "buffered " + maxBuffered + " bytes");
      assertTrue(fanout.get("lagEvents").asLong() >= 1, "the stalled subscriber was switched to the store: " + fanout);
      assertEquals(TOTAL, fastReplica.deltaCount() - deliveredBefore, "the reading subscriber got every delta live");

      slow.pause(false);
      slow.until(() -> slowReplica.holds(model), "the stalled subscriber to converge");
      assertNull(slowReplica.violation());
      assertTrue(slowReplica.deltaCount() - TOTAL / 2 < TOTAL,
          "catching up from the store skips overwritten values: got " + slowReplica.deltaCount());
      assertEquals(0, fanout(writer).get("lagging").asInt());
      slow.close();
      fast.close();
      writer.close();
    }
  }

  /** Pushes {@code n} deltas round the registers; returns the most bytes the hub held meanwhile. */
  private static long pushAll(Pipeline pipeline, HlcClock clock, Map<String, Replica.Reg> model, int n) {
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
      if (i % 20_000 == 0) maxBuffered = Math.max(maxBuffered, pipeline.send(admin("server.stats", null)).join().get("data").get("fanout").get("bufferedBytes").asLong());
    }
    acks.forEach(CompletableFuture::join);
    return maxBuffered;
  }

  private static JsonNode fanout(WsClient c) {
    return c.request(admin("server.stats", null)).get("data").get("fanout");
  }

  private static long usedHeapAfterGc() {
    System.gc();
    System.gc();
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }
}
