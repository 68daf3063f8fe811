package dev.syncline.server.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.ServerMessage;
import dev.syncline.server.store.DatabaseInfo;
import dev.syncline.server.store.Store;
import dev.syncline.server.store.WriteBatch;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A peer's feed is told every position of the database, also ones reached while its socket was busy. */
class FeedPositionTest {
  @TempDir Path dir;
  private HubOnStore real;
  private Store store;
  private Hub hub;
  private long ms = 1;

  @BeforeEach
  void open() {
    real = new HubOnStore(dir, 1 << 20, "db");
    store = real.store;
    hub = real.hub;
  }

  @AfterEach
  void close() throws Exception {
    real.close();
  }

  @Test
  @DisplayName("a commit the feed may not see, made while its socket is busy, is told as an empty frame once it drains")
  void positionToldOnceDrained() throws Exception {
    BusyOutlet peer = new BusyOutlet();
    // the feed sees collection "seen" only, as a feed never sees what came from its own peer
    real.onLoop(() -> hub.subscribe("feed", "db", Set.of("seen"), 0, null, peer, null, DatabaseInfo::epoch, true));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!peer.synced) { // caught up (from nothing): live from here
      assertTrue(System.nanoTime() < deadline, "synced");
      Thread.sleep(5);
    }
    commit("seen");
    real.onLoop(() -> assertEquals(List.of(1L), peer.frameSeqs(), "the first commit, sent at once"));

    real.onLoop(() -> peer.busy = true);
    commit("unseen");
    real.onLoop(() -> assertEquals(List.of(1L), peer.frameSeqs(), "nothing while the socket is busy"));
    real.onLoop(peer::drain);
    real.onLoop(() -> {
      assertEquals(List.of(1L, 2L), peer.frameSeqs(), "the position, once drained");
      assertTrue(peer.lastFrameEmpty, "with no deltas");
    });
  }

  private void commit(String col) {
    Delta d = new Delta(col, "d", "v", IntNode.valueOf(1), new Hlc(ms++, 0, "w").format());
    hub.committed(store.commit(List.of(WriteBatch.of("db", List.of(d)))));
  }

  /** A peer's socket whose write queue is full while {@code busy}; drained when the test says. */
  private static final class BusyOutlet implements Outlet {
    boolean busy;
    boolean lastFrameEmpty;
    volatile boolean synced;
    private final List<Long> seqs = new ArrayList<>();
    private final List<Runnable> waiting = new ArrayList<>();

    List<Long> frameSeqs() {
      return List.copyOf(seqs);
    }

    void drain() {
      busy = false;
      List<Runnable> now = new ArrayList<>(waiting);
      waiting.clear();
      now.forEach(Runnable::run);
    }

    @Override
    public void writeText(ByteBuf frame) {
      try {
        JsonNode m = Json.MAPPER.readTree(frame.toString(StandardCharsets.UTF_8));
        seqs.add(m.path("seq").asLong());
        lastFrameEmpty = m.path("deltas").isEmpty();
      } catch (java.io.IOException e) {
        throw new AssertionError(e);
      }
    }

    @Override
    public void send(ServerMessage message) {
      if (message instanceof ServerMessage.Synced) synced = true;
    }

    @Override
    public boolean writeQueueFull() {
      return busy;
    }

    @Override
    public void whenDrained(Runnable r) {
      if (busy) waiting.add(r);
      else r.run();
    }

    @Override
    public boolean isOpen() {
      return true;
    }
  }
}
