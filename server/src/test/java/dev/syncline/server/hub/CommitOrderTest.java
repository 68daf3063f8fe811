package dev.syncline.server.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.ServerMessage;
import dev.syncline.server.store.DatabaseInfo;
import dev.syncline.server.store.ReadFilter;
import dev.syncline.server.store.Store;
import dev.syncline.server.store.WriteBatch;
import io.netty.buffer.ByteBuf;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The hub's ordered inbox: tasks that change how subscribers filter run between the commits around them. */
class CommitOrderTest {
  @TempDir Path dir;
  private HubOnStore real;
  private Vertx vertx;
  private Store store;
  private Hub hub;

  @BeforeEach
  void open() {
    real = new HubOnStore(dir, 32 << 20, "db");
    vertx = real.vertx;
    store = real.store;
    hub = real.hub;
  }

  @AfterEach
  void close() throws Exception {
    real.close();
  }

  @Test
  @DisplayName("a task given to inCommitOrder from another thread runs after the commits handed over before it and before later ones, "
      + "even when the loop is busy and one drain takes them all")
  void taskRunsBetweenTheCommitsAroundIt() throws Exception {
    Context loop = vertx.getOrCreateContext();
    List<String> seen = new CopyOnWriteArrayList<>();
    CompletableFuture<Executor> live = new CompletableFuture<>();
    loop.runOnContext(v -> {
      Outlet outlet = new RecordingOutlet(seen, () -> live.complete(hub.inCommitOrder()));
      hub.subscribe("s1", "db", null, 0, null, outlet, new AllowAll(), DatabaseInfo::epoch);
    });
    Executor inCommitOrder = live.get(10, TimeUnit.SECONDS);

    // the loop is busy: everything below queues behind it, as on a loaded server
    CountDownLatch release = new CountDownLatch(1);
    loop.runOnContext(v -> {
      try {
        release.await(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    commit("before", 1);
    inCommitOrder.execute(() -> seen.add("task")); // as an access change, from the committer's thread
    commit("after", 2);
    release.countDown();

    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (seen.size() < 3 && System.nanoTime() < deadline) Thread.sleep(5);
    assertEquals(List.of("changes [before]", "task", "changes [after]"), seen);
  }

  private void commit(String id, long ms) {
    Delta d = new Delta("c", id, "a", IntNode.valueOf(1), new Hlc(ms, 0, "w").format());
    hub.committed(store.commit(List.of(WriteBatch.of("db", List.of(d)))));
  }

  /** Records each changes frame as the ids it carries; completes {@code onSynced} at go-live. */
  private record RecordingOutlet(List<String> seen, Runnable onSynced) implements DrainedOutlet {
    @Override
    public void writeText(ByteBuf frame) {
      try {
        JsonNode m = Json.MAPPER.readTree(frame.toString(StandardCharsets.UTF_8));
        if (m.path("type").asText().equals("changes") && !m.path("deltas").isEmpty()) {
          List<String> ids = new java.util.ArrayList<>();
          m.path("deltas").forEach(c -> ids.add(c.path("id").asText()));
          seen.add("changes " + ids);
        }
      } catch (java.io.IOException e) {
        throw new AssertionError(e);
      }
    }

    @Override
    public void send(ServerMessage message) {
      if (message instanceof ServerMessage.Synced) onSynced.run();
    }
  }

  private static final class AllowAll implements ReadFilter {
    @Override
    public boolean needsOwner(String col) {
      return false;
    }

    @Override
    public boolean allows(String col, String attr, String owner) {
      return true;
    }
  }
}
