package dev.syncline.client;

import io.vertx.core.Handler;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Listeners by event. Emitting happens on the client's event loop; listening from any thread.
 *
 * <p>Listeners are the app's code, run inside the client's work: what one throws, an {@link Error}
 * such as a failed assertion included, is logged and reported as an {@link ClientEvent#ERROR}
 * {@code listener}, and the other listeners and the client go on. Only a {@link
 * VirtualMachineError} (out of memory, stack overflow) is thrown on: nothing sane follows it.
 *
 * <p>An event a listener causes (it writes a document, say) waits until every listener has had
 * the one being emitted: each listener sees events in the order they happened.
 */
final class Emitter {
  private static final Logger log = LoggerFactory.getLogger(Emitter.class);

  private final Map<ClientEvent<?>, List<Handler<?>>> handlers = new ConcurrentHashMap<>();
  /** Events waiting for the one being emitted (event loop only). */
  private final ArrayDeque<Runnable> waiting = new ArrayDeque<>();
  private boolean emitting;

  <T> Runnable on(ClientEvent<T> event, Handler<T> handler) {
    List<Handler<?>> list = handlers.computeIfAbsent(event, e -> new CopyOnWriteArrayList<>());
    list.add(handler);
    return () -> list.remove(handler);
  }

  <T> void emit(ClientEvent<T> event, T payload) {
    batch(() -> waiting.add(() -> deliver(event, payload)));
  }

  /**
   * Runs {@code emits}, holding the events it emits until it returns, then delivers them (and
   * those their listeners cause, after them) in order: one change's events all go out before a
   * listener's reaction to the first of them.
   */
  void batch(Runnable emits) {
    if (emitting) {
      emits.run();
      return;
    }
    emitting = true;
    try {
      emits.run();
      for (Runnable next; (next = waiting.poll()) != null; ) next.run();
    } finally {
      waiting.clear(); // after a VirtualMachineError: not delivered later, with some unrelated event
      emitting = false;
    }
  }

  @SuppressWarnings("unchecked")
  private <T> void deliver(ClientEvent<T> event, T payload) {
    for (Handler<?> h : handlers.getOrDefault(event, List.of())) {
      // a failing ERROR listener is only logged: reporting it would call it again
      run("a " + event + " listener", event != ClientEvent.ERROR, () -> ((Handler<T>) h).handle(payload));
    }
  }

  /** Runs other app code the client calls (a live query's filter and listener) the way listeners run. */
  void runListener(String what, Runnable listener) {
    run(what, true, listener);
  }

  private void run(String what, boolean report, Runnable listener) {
    try {
      listener.run();
    } catch (VirtualMachineError fatal) {
      throw fatal;
    } catch (Throwable t) {
      log.error("{} failed", what, t);
      if (report) emit(ClientEvent.ERROR, ClientEvent.ClientError.of("listener", what + " failed: " + t));
    }
  }
}
