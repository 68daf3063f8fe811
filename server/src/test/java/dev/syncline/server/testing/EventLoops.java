package dev.syncline.server.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.util.concurrent.EventExecutor;
import io.vertx.core.internal.VertxInternal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/** A server's event loops, and holding one up as a long task (the JIT, a GC, a slow handler) would. */
public final class EventLoops {
  private EventLoops() {}

  public static List<EventExecutor> of(TestServer server) {
    List<EventExecutor> loops = new ArrayList<>();
    ((VertxInternal) server.server().vertx()).nettyEventLoopGroup().forEach(loops::add);
    return loops;
  }

  /** Holds {@code loop} in a task until the returned latch opens; returns once the task runs. */
  public static CountDownLatch block(EventExecutor loop) throws InterruptedException {
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch running = new CountDownLatch(1);
    loop.execute(() -> {
      running.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    assertTrue(running.await(5, TimeUnit.SECONDS), "the blocking task did not start");
    return release;
  }

  /** True when {@code client} answers a ping within {@code within}. */
  private static boolean answers(WsClient client, Duration within) {
    return client.requestWithin(WsClient.obj("ping"), within) != null;
  }

  /**
   * Those of {@code clients} that answer a ping within {@code within}, all pinged at once: the
   * ones whose loop is held use up the time together, so it can be long enough for a loaded
   * machine without the test taking that long per client.
   */
  public static List<WsClient> answering(List<WsClient> clients, Duration within) throws InterruptedException {
    ExecutorService pool = Executors.newFixedThreadPool(clients.size());
    try {
      List<Future<Boolean>> answers = new ArrayList<>();
      for (WsClient c : clients) answers.add(pool.submit(() -> answers(c, within)));
      List<WsClient> answered = new ArrayList<>();
      for (int i = 0; i < clients.size(); i++) {
        if (answers.get(i).get()) answered.add(clients.get(i));
      }
      return answered;
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    } finally {
      pool.shutdownNow();
    }
  }
}
