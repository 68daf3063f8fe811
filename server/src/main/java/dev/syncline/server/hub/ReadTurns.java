package dev.syncline.server.hub;

import io.vertx.core.Context;
import java.util.ArrayDeque;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Catch-up reads of one event loop's connections, one at a time per connection: a page is read
 * only when the socket has room for it, and a client that subscribes to many databases and stops
 * reading then holds one page in its socket, not one per subscription. Each page read passes the
 * turn on, so a connection's subscriptions catch up side by side. Used on the loop's thread only.
 */
final class ReadTurns {
  private static final class Turn {
    Subscription holder;
    final ArrayDeque<Subscription> waiting = new ArrayDeque<>();
  }

  private final Map<Outlet, Turn> turns = new IdentityHashMap<>();
  private final Context loop;

  ReadTurns(Context loop) {
    this.loop = loop;
  }

  /** True if {@code s} may read now (it holds its connection's turn); otherwise it waits and is granted the turn later. */
  boolean take(Outlet outlet, Subscription s) {
    Turn t = turns.computeIfAbsent(outlet, o -> new Turn());
    if (t.holder == null) t.holder = s;
    if (t.holder == s) return true;
    if (!t.waiting.contains(s)) t.waiting.add(s);
    return false;
  }

  /**
   * {@code s} is done reading for now: if it holds its connection's turn, the next waiting
   * subscription is granted it, in a task of its own, so the page {@code s} just read is written
   * first.
   */
  void passOn(Outlet outlet, Subscription s) {
    Turn t = turns.get(outlet);
    if (t == null || t.holder != s) return;
    t.holder = t.waiting.poll();
    if (t.holder == null) {
      turns.remove(outlet);
    } else {
      Subscription next = t.holder;
      loop.runOnContext(v -> next.turnGranted());
    }
  }

  /** {@code s} is closed: it waits no more, and a turn it holds is passed on. */
  void leave(Outlet outlet, Subscription s) {
    Turn t = turns.get(outlet);
    if (t == null) return;
    if (t.holder == s) passOn(outlet, s);
    else t.waiting.remove(s);
  }
}
