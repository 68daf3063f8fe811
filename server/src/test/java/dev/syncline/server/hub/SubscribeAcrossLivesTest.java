package dev.syncline.server.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.fasterxml.jackson.databind.node.IntNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.ErrorCode;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.ServerMessage;
import dev.syncline.server.store.DatabaseInfo;
import dev.syncline.server.store.Store;
import dev.syncline.server.store.WriteBatch;
import io.netty.buffer.ByteBuf;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A destroy and a create of the same database can both commit while {@link Hub#subscribe} runs on
 * its loop: between its look at the destroys counted so far and its look at the store. Whichever
 * life it then follows, what it tells the client must agree with it (PROTOCOL.md §10): a
 * subscription following the new life (reset to the new epoch) stays and gets its changes; one
 * following the old life ends with {@code not_found}.
 */
class SubscribeAcrossLivesTest {
  @TempDir Path dir;

  @Test
  @DisplayName("a destroy and a create landing inside subscribe: a subscription following the new life is not ended by the old one's notice")
  void destroyAndCreateInsideSubscribe() throws Exception {
    try (HubOnStore real = new HubOnStore(dir, 1 << 20, "db")) {
      String oldEpoch = real.store.database("db").orElseThrow().epoch();
      AtomicBoolean armed = new AtomicBoolean();
      AtomicReference<Hub> hubRef = new AtomicReference<>();
      // the real store; once armed, its next look at "db" first lets the writer destroy and create it,
      // as the committer thread would at that moment (DatabaseLifecycle: destroy, then the hub's notice)
      Store store = (Store) Proxy.newProxyInstance(Store.class.getClassLoader(), new Class<?>[] {Store.class},
          (proxy, method, args) -> {
            if (method.getName().equals("database") && "db".equals(args[0]) && armed.compareAndSet(true, false)) {
              Thread writer = new Thread(() -> {
                real.store.destroyThrough("db", new Hlc(System.currentTimeMillis(), 0, "admin").format());
                hubRef.get().databaseDestroyed("db");
                real.store.createDatabase("db", System.currentTimeMillis());
              });
              writer.start();
              writer.join();
            }
            try {
              return method.invoke(real.store, args);
            } catch (InvocationTargetException e) {
              throw e.getCause();
            }
          });
      Hub hub = new Hub(real.vertx, store, new HubOptions(1 << 20, 1000, 1 << 20, 1, 1 << 20));
      hubRef.set(hub);
      Recording outlet = new Recording();
      real.onLoop(() -> {
        armed.set(true);
        // the client held a copy of the old life and says so: following the new one, it is reset
        assertNotNull(hub.subscribe("s1", "db", null, 0, oldEpoch, outlet, null, DatabaseInfo::epoch));
      });
      real.onLoop(() -> { }); // the destroy's notice, queued on this loop, has run
      String newEpoch = real.store.database("db").orElseThrow().epoch();
      assertNotEquals(oldEpoch, newEpoch);

      // a write to the new life: a subscription following it gets it
      var outcomes = real.store.commit(List.of(WriteBatch.of("db", List.of(new Delta("c", "probe", "v", IntNode.valueOf(1),
          new Hlc(System.currentTimeMillis() + 1, 0, "w").format())))));
      hub.committed(outcomes);
      real.onLoop(() -> { });
      dev.syncline.server.testing.Cluster.await(() -> !outlet.notFound.isEmpty() || outlet.sawProbe(),
          java.time.Duration.ofSeconds(10), () -> "the subscription neither ended nor got the probe: " + outlet);

      if (outlet.resets.contains(newEpoch)) {
        assertEquals(List.of(), outlet.notFound, "it was reset to the new life, which exists: it must not be ended (" + outlet + ")");
      } else {
        assertEquals(List.of("s1"), outlet.notFound, "it follows the old life, which was destroyed: not_found (" + outlet + ")");
      }
    }
  }

  /** Records resets, not_found errors and whether a frame carried the probe. */
  private static final class Recording implements DrainedOutlet {
    final List<String> resets = new CopyOnWriteArrayList<>();
    final List<String> notFound = new CopyOnWriteArrayList<>();
    final List<String> frames = new CopyOnWriteArrayList<>();

    boolean sawProbe() {
      return frames.stream().anyMatch(f -> f.contains("\"probe\""));
    }

    @Override
    public void writeText(ByteBuf frame) {
      frames.add(frame.toString(StandardCharsets.UTF_8));
      frame.release();
    }

    @Override
    public void send(ServerMessage message) {
      if (message instanceof ServerMessage.Reset r) resets.add(r.epoch());
      if (message instanceof ServerMessage.Error e && e.code() == ErrorCode.NOT_FOUND) notFound.add(e.sid());
    }

    @Override
    public String toString() {
      return "resets " + resets + ", not_found " + notFound + ", frames " + frames;
    }
  }
}
