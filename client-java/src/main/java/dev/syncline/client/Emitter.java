package dev.syncline.client;

import io.vertx.core.Handler;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Listeners by event. Emitting happens on the client's event loop; listening from any thread. */
final class Emitter {
  private static final Logger log = LoggerFactory.getLogger(Emitter.class);

  private final Map<ClientEvent<?>, List<Handler<?>>> handlers = new ConcurrentHashMap<>();

  <T> Runnable on(ClientEvent<T> event, Handler<T> handler) {
    List<Handler<?>> list = handlers.computeIfAbsent(event, e -> new CopyOnWriteArrayList<>());
    list.add(handler);
    return () -> list.remove(handler);
  }

  @SuppressWarnings("unchecked")
  <T> void emit(ClientEvent<T> event, T payload) {
    for (Handler<?> h : handlers.getOrDefault(event, List.of())) {
      try {
        ((Handler<T>) h).handle(payload);
      } catch (RuntimeException e) {
        log.error("a {} listener failed", event, e); // one failing listener does not stop the others
      }
    }
  }
}
