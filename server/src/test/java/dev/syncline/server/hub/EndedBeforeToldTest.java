package dev.syncline.server.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.syncline.protocol.ServerMessage;
import dev.syncline.server.store.DatabaseInfo;
import dev.syncline.server.store.Store;
import io.netty.buffer.ByteBuf;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A subscription the hub ends on its own (its database gone when its first page is read) must
 * tell its owner, who registers {@link Subscription#onEnded} right after {@link Hub#subscribe}
 * returns, as Session does: else the session keeps it, counted against maxSubscriptions, its sid
 * still known (an unsub of it answered ok rather than not_found).
 */
class EndedBeforeToldTest {
  @TempDir Path dir;

  @Test
  @DisplayName("a subscription whose first read finds its database gone tells onEnded, even when that read completes "
      + "before subscribe returns")
  void endedIsToldAlsoWhenTheFirstReadIsQuick() throws Exception {
    try (HubOnStore real = new HubOnStore(dir, 1 << 20, "db")) {
      // the database is there when subscribed, and gone when the page is read (a destroy in between)
      Store store = (Store) Proxy.newProxyInstance(Store.class.getClassLoader(), new Class<?>[] {Store.class},
          (proxy, method, args) -> {
            if (method.getName().equals("changesSince")) return null;
            try {
              return method.invoke(real.store, args);
            } catch (InvocationTargetException e) {
              throw e.getCause();
            }
          });
      Hub hub = new Hub(real.vertx, store, new HubOptions(1 << 20, 1000, 1 << 20, 4, 1 << 20));
      int n = 2000;
      AtomicInteger told = new AtomicInteger();
      AtomicInteger notFound = new AtomicInteger();
      Outlet outlet = new DrainedOutlet() {
        @Override
        public void writeText(ByteBuf frame) {}

        @Override
        public void send(ServerMessage message) {
          if (message instanceof ServerMessage.Error) notFound.incrementAndGet();
        }
      };
      for (int i = 0; i < n; i++) {
        String sid = "s" + i;
        real.onLoop(() -> {
          Subscription s = hub.subscribe(sid, "db", null, 0, null, outlet, null, DatabaseInfo::epoch);
          s.onEnded(told::incrementAndGet); // as Session does, once subscribe returned
        });
      }
      dev.syncline.server.testing.Cluster.await(() -> notFound.get() >= n, java.time.Duration.ofSeconds(10),
          () -> notFound.get() + " of " + n + " told not_found");
      real.onLoop(() -> { });
      assertEquals(n, notFound.get(), "every subscription was told not_found");
      assertEquals(0, hub.subscriptions(), "the hub let go of every one");
      assertEquals(n, told.get(), "every owner was told its subscription ended (else it keeps it)");
    }
  }
}
