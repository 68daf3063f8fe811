package dev.syncline.server.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.node.IntNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.ServerMessage;
import dev.syncline.server.store.DatabaseInfo;
import dev.syncline.server.store.WriteBatch;
import io.netty.buffer.ByteBuf;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A socket that turns out closed while a subscription writes to it (Vert.x closed it before its
 * close handler ran: the connection ends right there, inside the write) may end its session before
 * the session holds the subscription — a catch-up page can be read and written before
 * {@link Hub#subscribe} returns. The hub must not keep such a subscription, live and counted, for
 * good: it ends it itself once it sees its socket closed.
 */
class ClosedOutletTest {
  @TempDir Path dir;

  @Test
  @DisplayName("a subscription whose socket closes while its catch-up page is written, and whose owner never closes it, is let go")
  void closedDuringCatchUpWrite() throws Exception {
    try (HubOnStore real = new HubOnStore(dir, 1 << 20, "db")) {
      real.hub.committed(real.store.commit(List.of(WriteBatch.of("db", List.of(
          new Delta("c", "d", "v", IntNode.valueOf(1), new Hlc(1, 0, "w").format()))))));
      ClosingOutlet outlet = new ClosingOutlet();
      real.onLoop(() -> real.hub.subscribe("s1", "db", null, 0, null, outlet, null, DatabaseInfo::epoch));
      dev.syncline.server.testing.Cluster.await(() -> outlet.writes > 0, Duration.ofSeconds(10), () -> "the page was written");
      real.onLoop(() -> { });
      // a later commit reaches the loop too: a subscription still held would be handed it
      real.hub.committed(real.store.commit(List.of(WriteBatch.of("db", List.of(
          new Delta("c", "d", "v", IntNode.valueOf(2), new Hlc(2, 0, "w").format()))))));
      real.onLoop(() -> { });
      real.onLoop(() -> assertEquals(0, real.hub.subscriptions(), "the hub still holds the subscription of a closed socket"));
    }
  }

  /** A socket that is found closed by the first write to it, as a Vert.x socket gone under us is. */
  private static final class ClosingOutlet implements DrainedOutlet {
    volatile int writes;
    private volatile boolean open = true;

    @Override
    public void writeText(ByteBuf frame) {
      frame.release();
      writes++;
      open = false;
    }

    @Override
    public void send(ServerMessage message) {}

    @Override
    public boolean isOpen() {
      return open;
    }
  }
}
