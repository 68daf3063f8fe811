package dev.syncline.server;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Holds a server's single writer still, as a slow disk would, until closed: every commit queued
 * meanwhile waits. For tests of what happens while the writer is behind, whatever this machine's speed.
 */
public final class WriterHold implements AutoCloseable {
  private final CountDownLatch release = new CountDownLatch(1);

  private WriterHold(SynclineServer server) {
    server.committer().execute(s -> {
      try {
        return release.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    });
  }

  public static WriterHold on(SynclineServer server) {
    return new WriterHold(server);
  }

  @Override
  public void close() {
    release.countDown();
  }
}
