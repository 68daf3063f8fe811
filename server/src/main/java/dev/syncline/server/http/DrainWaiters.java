package dev.syncline.server.http;

import io.vertx.core.Context;
import java.util.ArrayList;
import java.util.List;

/**
 * What waits for one socket's write queue to drain. Vert.x's drain handler fires only on a
 * full-to-free edge, so a waiter added while the queue is already free runs at once (on the
 * socket's context) instead. Touched on the socket's event loop only.
 */
public final class DrainWaiters {
  private final Context context;
  private final List<Runnable> waiting = new ArrayList<>();

  public DrainWaiters(Context context) {
    this.context = context;
  }

  /** Runs {@code r} once the queue has drained; {@code full} is whether it is full now. */
  public void add(Runnable r, boolean full) {
    waiting.add(r);
    if (!full) context.runOnContext(v -> runAll());
  }

  /** The queue drained: runs every waiter, once. */
  public void runAll() {
    if (waiting.isEmpty()) return;
    List<Runnable> ready = new ArrayList<>(waiting);
    waiting.clear();
    ready.forEach(Runnable::run);
  }

  /** The socket is gone: nobody will be run. */
  public void clear() {
    waiting.clear();
  }
}
