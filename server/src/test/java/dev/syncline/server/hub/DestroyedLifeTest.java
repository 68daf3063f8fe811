package dev.syncline.server.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.fasterxml.jackson.databind.node.IntNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.ErrorCode;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.ServerMessage;
import dev.syncline.server.store.DatabaseInfo;
import dev.syncline.server.store.WriteBatch;
import io.netty.buffer.ByteBuf;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A destroy's notice ends the subscriptions of the life it destroyed, not those of the database made again. */
class DestroyedLifeTest {
  @TempDir Path dir;

  @Test
  @DisplayName("a sub to a database made again, on a loop that has not yet run the destroy's notice, is not ended by it")
  void newLifeOutlivesTheOldOnesNotice() throws Exception {
    try (HubOnStore real = new HubOnStore(dir, 1 << 20, "db")) {
      Recording old = new Recording();
      Recording fresh = new Recording();
      real.onLoop(() -> assertNotNull(real.hub.subscribe("old", "db", Set.of(), 0, null, old, null, DatabaseInfo::epoch)));
      real.onLoop(() -> {
        // all on the loop, in one task: the destroy's notice is queued behind it
        real.store.commit(List.of(WriteBatch.of("db", List.of(new Delta("c", "d", "v", IntNode.valueOf(1),
            new Hlc(1, 0, "w").format())))));
        real.store.destroyThrough("db", new Hlc(2, 0, "admin").format());
        real.hub.databaseDestroyed("db");
        real.store.createDatabase("db", 3);
        assertNotNull(real.hub.subscribe("fresh", "db", Set.of(), 0, null, fresh, null, DatabaseInfo::epoch));
      });
      real.onLoop(() -> {
        assertEquals(List.of("old"), old.notFound(), "the old life's subscription is ended");
        assertEquals(List.of(), fresh.notFound(), "the new life's is not");
      });
    }
  }

  /** Records the subscriptions it was told were destroyed. */
  private static final class Recording implements DrainedOutlet {
    private final List<String> notFound = new CopyOnWriteArrayList<>();

    List<String> notFound() {
      return List.copyOf(notFound);
    }

    @Override
    public void writeText(ByteBuf frame) {
      frame.release();
    }

    @Override
    public void send(ServerMessage message) {
      if (message instanceof ServerMessage.Error e && e.code() == ErrorCode.NOT_FOUND) notFound.add(e.sid());
    }
  }
}
