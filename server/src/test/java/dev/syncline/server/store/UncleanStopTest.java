package dev.syncline.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.fasterxml.jackson.databind.node.IntNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Hlc;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Without fsyncs a machine crash can take back acked commits, whose seqs new writes then reuse.
 * What a crash leaves is stood in for by a copy of the store's folder taken while it is open.
 */
@DisplayName("A store without fsyncs that was not closed cleanly")
class UncleanStopTest {

  @Test
  @DisplayName("gives every database a new epoch when opened again, so clients and peers holding its seqs start over; "
      + "one closed cleanly, or one with fsyncs, keeps them")
  void newEpochAfterAnUncleanStop(@TempDir Path tmp) {
    Path async = tmp.resolve("async");
    Path durable = tmp.resolve("durable");
    String asyncEpoch = written(async, false, tmp.resolve("async-crashed"));
    String durableEpoch = written(durable, true, tmp.resolve("durable-crashed"));

    assertEquals(asyncEpoch, epochOf(async, false), "closed cleanly");
    copy(tmp.resolve("async-crashed"), tmp.resolve("async-crashed-then-sync"));
    assertNotEquals(asyncEpoch, epochOf(tmp.resolve("async-crashed"), false), "not closed: acked commits may be lost");
    assertEquals(1 + Store.EPOCH_SEQ_GAP, headOf(tmp.resolve("async-crashed")), "renewed once, then closed cleanly");
    // started again with fsyncs after the crash: the loss happened all the same
    String renewed = epochOf(tmp.resolve("async-crashed-then-sync"), true);
    assertNotEquals(asyncEpoch, renewed, "renewed also when opened with fsyncs");
    assertEquals(renewed, epochOf(tmp.resolve("async-crashed-then-sync"), false), "once: closed cleanly since");
    assertEquals(durableEpoch, epochOf(durable, true), "closed cleanly");
    assertEquals(durableEpoch, epochOf(tmp.resolve("durable-crashed"), true), "with fsyncs an acked commit is on disk");
  }

  /** A store in {@code dir} with a few writes, copied to {@code crashed} while open, then closed; its epoch. */
  private static String written(Path dir, boolean fsync, Path crashed) {
    Store store = Store.openXodus(dir, fsync, 8 << 20);
    try {
      store.createDatabase("db", 1);
      store.commit(List.of(WriteBatch.of("db", List.of(new Delta("c", "d", "v", IntNode.valueOf(1), new Hlc(1_700_000_000_000L, 0, "w").format())))));
      copy(dir, crashed);
      return store.database("db").orElseThrow().epoch();
    } finally {
      store.close();
    }
  }

  private static String epochOf(Path dir, boolean fsync) {
    Store store = Store.openXodus(dir, fsync, 8 << 20);
    try {
      DatabaseInfo info = store.database("db").orElseThrow();
      assertEquals(1, info.attributes(), "the write is there");
      // renewed: seqs go on past any the lost history handed out, and every cursor of it is reset
      // (also one of a client that names no epoch)
      assertEquals(info.head() == 1 ? 0 : info.head(), info.purgedThrough(), "the purge point is at the head");
      assertEquals(1, info.head() % Store.EPOCH_SEQ_GAP, "1, or moved on by whole gaps");
      return info.epoch();
    } finally {
      store.close();
    }
  }

  private static long headOf(Path dir) {
    Store store = Store.openXodus(dir, false, 8 << 20);
    try {
      return store.database("db").orElseThrow().head();
    } finally {
      store.close();
    }
  }

  private static void copy(Path from, Path to) {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) Files.createDirectories(target);
        else if (!p.getFileName().toString().equals("xd.lck")) Files.copy(p, target);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
