package dev.syncline.server.commit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.IntNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Hlc;
import dev.syncline.server.store.BatchOutcome;
import dev.syncline.server.store.Store;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The writer answers every push, whatever fails around a commit")
class WriterFailureTest {
  private Path dir;
  private Store store;
  private Committer committer;

  @BeforeEach
  void openStore() throws Exception {
    dir = Files.createTempDirectory("syncline-writer");
    store = Store.openXodus(dir, false, 8 << 20);
    store.createDatabase("db", 1);
  }

  @AfterEach
  void closeStore() throws Exception {
    if (committer != null) committer.close();
    store.close();
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private Committer committer(Committer.CommitListener listener) {
    committer = new Committer(store, new CommitterOptions(1_000_000, 1, 60_000, 3_600_000, 1000, Long.MAX_VALUE), listener);
    return committer;
  }

  @Test
  @DisplayName("a commit listener that throws an Error (not an exception): its group is still acked as durable, and the writer goes on")
  void listenerErrorDoesNotStopTheWriter() throws Exception {
    AtomicInteger groups = new AtomicInteger();
    Committer committer = committer(group -> {
      if (groups.incrementAndGet() == 1) throw new AssertionError("a bug in a listener");
    });
    BatchOutcome first = await(committer, "first", 1);
    assertEquals(1, first.committed().size(), "the first group is durable and answered so");
    BatchOutcome second = await(committer, "second", 2);
    assertEquals(1, second.committed().size(), "the writer still commits");
    assertEquals(2, store.registers("db", "c").size());
  }

  @Test
  @DisplayName("a store operation that throws an Error is answered with it, and the writer goes on")
  void operationErrorIsAnswered() throws Exception {
    Committer committer = committer(group -> { });
    CompletableFuture<Object> op = new CompletableFuture<>();
    committer.execute(s -> {
      throw new AssertionError("a bug in an operation");
    }).onComplete(ar -> {
      if (ar.succeeded()) op.complete(ar.result());
      else op.completeExceptionally(ar.cause());
    });
    java.util.concurrent.ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(
        java.util.concurrent.ExecutionException.class, () -> op.get(10, TimeUnit.SECONDS));
    org.junit.jupiter.api.Assertions.assertInstanceOf(AssertionError.class, e.getCause());
    assertEquals(1, await(committer, "after", 1).committed().size(), "the writer still commits");
  }

  private static final long NOW = System.currentTimeMillis();

  @Test
  @DisplayName("a push and an operation queued just after the stop, as when they race close(), are done in order and answered")
  void pushRacingCloseIsAnswered() throws Exception {
    Committer committer = committer(group -> { });
    java.util.concurrent.CountDownLatch release = holdWriter(committer); // while the race is laid out behind it
    committer.queueStop(); // close() got this far; the push and the operation had passed its closing check
    CompletableFuture<BatchOutcome> pushed = new CompletableFuture<>();
    committer.push("db", List.of(new Delta("c", "raced", "a", IntNode.valueOf(1), new Hlc(NOW, 0, "w").format())))
        .onComplete(ar -> {
          if (ar.succeeded()) pushed.complete(ar.result());
          else pushed.completeExceptionally(ar.cause());
        });
    CompletableFuture<Integer> seen = new CompletableFuture<>();
    committer.execute(s -> s.registers("db", "c").size()).onComplete(ar -> seen.complete(ar.succeeded() ? ar.result() : -1));
    release.countDown();
    assertEquals(1, pushed.get(10, TimeUnit.SECONDS).committed().size(), "committed and acked, not left unanswered");
    assertEquals(1, seen.get(10, TimeUnit.SECONDS), "the operation queued after the push ran after it");
  }

  @Test
  @DisplayName("a fatal error in work queued after the stop answers that work, and the push behind it, once each")
  void fatalErrorAfterStopAnswersTheRest() throws Exception {
    Committer committer = committer(group -> { });
    java.util.concurrent.CountDownLatch release = holdWriter(committer);
    committer.queueStop();
    CompletableFuture<Throwable> op = new CompletableFuture<>();
    committer.execute(s -> {
      throw new OutOfMemoryError("as a full heap would");
    }).onComplete(ar -> op.complete(ar.cause()));
    CompletableFuture<Throwable> pushed = new CompletableFuture<>();
    committer.push("db", List.of(new Delta("c", "behind", "a", IntNode.valueOf(1), new Hlc(NOW, 0, "w").format())))
        .onComplete(ar -> pushed.complete(ar.cause()));
    release.countDown();
    assertTrue(op.get(10, TimeUnit.SECONDS) instanceof OutOfMemoryError, "the operation is told its error");
    assertTrue(pushed.get(10, TimeUnit.SECONDS) instanceof OverloadedException, "the push behind it is answered, not left waiting");
  }

  /** Holds the writer in an operation, once it runs, until the returned latch opens. */
  private static java.util.concurrent.CountDownLatch holdWriter(Committer committer) throws InterruptedException {
    java.util.concurrent.CountDownLatch busy = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    committer.execute(s -> {
      busy.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return null;
    });
    assertTrue(busy.await(10, TimeUnit.SECONDS));
    return release;
  }

  private static BatchOutcome await(Committer committer, String id, long ms) throws Exception {
    CompletableFuture<BatchOutcome> done = new CompletableFuture<>();
    // no Vert.x context here: the future completes on the writer's thread
    // stamped now (+ms): a write older than the tombstone retention to a new register is superseded
    committer.push("db", List.of(new Delta("c", id, "a", IntNode.valueOf(1), new Hlc(NOW + ms, 0, "w").format())))
        .onComplete(ar -> {
          if (ar.succeeded()) done.complete(ar.result());
          else done.completeExceptionally(ar.cause());
        });
    return done.get(10, TimeUnit.SECONDS);
  }
}
