package dev.syncline.client;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Options are checked when a client is made, and a refused client leaves nothing running")
class ClientOptionsTest {

  @Test
  @DisplayName("backoff, ping and connect timings must be positive, and the first backoff no longer than the cap")
  void timingsAreChecked() {
    try (EmbeddedServer server = EmbeddedServer.start()) {
      List<UnaryOperator<ClientOptions>> bad = List.of(
          o -> o.setBackoffInitialMs(0),
          o -> o.setBackoffMaxMs(-1),
          o -> o.setBackoffInitialMs(5000).setBackoffMaxMs(1000),
          o -> o.setPingIntervalMs(0),
          o -> o.setPingTimeoutMs(-5),
          o -> o.setConnectTimeoutMs(0),
          o -> o.setConnectTimeoutMs(1L << 40));
      for (UnaryOperator<ClientOptions> tweak : bad) {
        ClientOptions options = tweak.apply(new ClientOptions().setUrl(server.url()).setOffline(true));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SynclineClient.create(options));
        assertTrue(e.getMessage().matches("(backoff|ping|connectTimeout).*"), e.getMessage());
      }
      // the bounds themselves are fine
      SynclineClient fine = SynclineClient.create(new ClientOptions().setUrl(server.url()).setOffline(true)
          .setBackoffInitialMs(1000).setBackoffMaxMs(1000).setPingIntervalMs(1).setPingTimeoutMs(1).setConnectTimeoutMs(1));
      Await.result(fine.ready());
      Await.result(fine.close());
    }
  }

  @Test
  @DisplayName("create(options) with bad options (a URL the WebSocket client refuses too) closes the Vert.x it made for the client")
  void refusedClientLeaksNoVertx() {
    long before = vertxInstances();
    for (ClientOptions bad : List.of(new ClientOptions(), new ClientOptions().setUrl("http://not-a-socket"),
        // a ws:// URL the WebSocket client refuses: made, it would never connect, and never be ready or closed
        new ClientOptions().setUrl("ws://localhost:8080/sync "), new ClientOptions().setUrl("ws://local host/sync"),
        new ClientOptions().setUrl("ws://127.0.0.1:1/sync").setClientId("no spaces"),
        new ClientOptions().setUrl("ws://127.0.0.1:1/sync").setWriteQuorum(0))) {
      assertThrows(IllegalArgumentException.class, () -> SynclineClient.create(bad));
    }
    Await.until(() -> vertxInstances() <= before, () -> "no Vert.x left running: " + vertxInstances() + " now, " + before + " before");
  }

  @Test
  @DisplayName("a client keeps a copy of its options: the same object changed and reused for another client does not move it")
  void optionsAreCopied() {
    try (EmbeddedServer a = EmbeddedServer.start(cfg -> cfg.serverId = "server-a");
        EmbeddedServer b = EmbeddedServer.start(cfg -> cfg.serverId = "server-b")) {
      ClientOptions options = new ClientOptions().setUrl(a.url());
      SynclineClient first = SynclineClient.create(options);
      List<String> connectedTo = new java.util.concurrent.CopyOnWriteArrayList<>();
      first.on(ClientEvent.CONNECT, e -> connectedTo.add(e.serverId()));
      try {
        Await.until(() -> connectedTo.size() == 1, () -> "connected");
        options.setUrl(b.url()); // the app reuses its options object for a second client
        SynclineClient second = SynclineClient.create(options);
        Await.result(second.close());
        options.setUrl("ws://not a host name/sync"); // and leaves nonsense in it
        first.offline(true);
        Await.until(() -> !first.status().online(), () -> "offline");
        first.offline(false);
        Await.until(() -> connectedTo.size() == 2, () -> "connected again: " + connectedTo);
        org.junit.jupiter.api.Assertions.assertEquals(List.of("server-a", "server-a"), connectedTo);
      } finally {
        Await.result(first.close());
      }
    }
  }

  @Test
  @DisplayName("the copy a client keeps has every setting: a field added to the options and not to the copy fails here")
  void copyTakesEveryField() throws Exception {
    ClientOptions given = new ClientOptions();
    java.util.function.LongSupplier clock = () -> 42;
    for (java.lang.reflect.Field f : ClientOptions.class.getDeclaredFields()) {
      if (java.lang.reflect.Modifier.isStatic(f.getModifiers())) continue;
      f.setAccessible(true);
      Class<?> t = f.getType();
      Object unusual = t == String.class ? "x-" + f.getName() : t == java.nio.file.Path.class ? java.nio.file.Path.of("p-" + f.getName())
          : t == Integer.class ? Integer.valueOf(7) : t == boolean.class ? Boolean.TRUE : t == long.class ? Long.valueOf(123_457)
          : t == java.util.function.LongSupplier.class ? clock : null;
      org.junit.jupiter.api.Assertions.assertNotNull(unusual, "a value for " + f.getName() + " of " + t + ": add one here");
      f.set(given, unusual);
    }
    ClientOptions copy = new ClientOptions(given);
    for (java.lang.reflect.Field f : ClientOptions.class.getDeclaredFields()) {
      if (java.lang.reflect.Modifier.isStatic(f.getModifiers())) continue;
      f.setAccessible(true);
      org.junit.jupiter.api.Assertions.assertEquals(f.get(given), f.get(copy), f.getName() + " copied");
    }
  }

  // every Vert.x instance runs one blocked-thread checker until it is closed
  private static long vertxInstances() {
    return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("vertx-blocked-thread-checker")).count();
  }
}
