package dev.syncline.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("App code that throws, even an Error, does not stop the client")
class ListenerFailuresTest {

  @Test
  @DisplayName("a listener, a live query filter and a live query listener throwing AssertionError: the edit is stored and pushed, the other listeners run, ERROR says so")
  void throwingListenersAreContained() {
    try (EmbeddedServer server = EmbeddedServer.start()) {
      SynclineClient c = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      try {
        c.blocking().ready().awaitSynced("app", Await.TIMEOUT);
        List<ClientEvent.ClientError> errors = new CopyOnWriteArrayList<>();
        c.on(ClientEvent.ERROR, errors::add);
        c.on(ClientEvent.DOC_CREATE, ch -> {
          throw new AssertionError("a listener's own bug");
        });
        List<String> created = new CopyOnWriteArrayList<>();
        c.on(ClientEvent.DOC_CREATE, ch -> created.add(ch.id()));
        Collection notes = c.db("app").col("notes");
        notes.live(d -> {
          if (d.id().equals("bad-filter")) throw new AssertionError("a filter's own bug");
          return true;
        }, docs -> { });
        notes.live(docs -> {
          if (!docs.isEmpty()) throw new AssertionError("a live query listener's own bug");
        });

        Await.result(notes.doc("n1").set(Map.of("v", 1)));
        Await.result(notes.doc("bad-filter").set(Map.of("v", 2)));
        assertEquals(List.of("n1", "bad-filter"), created, "the other listener ran");
        Await.until(() -> c.status().pending() == 0, () -> "both edits pushed");
        assertTrue(errors.stream().allMatch(e -> e.code().equals("listener")) && errors.size() >= 3, "reported: " + errors);

        SynclineClient reader = SynclineClient.create(new ClientOptions().setUrl(server.url()));
        try {
          reader.blocking().ready().awaitSynced("app", Await.TIMEOUT);
          Await.until(() -> reader.db("app").col("notes").all().size() == 2, () -> "the server to have both");
        } finally {
          Await.result(reader.close());
        }
      } finally {
        Await.result(c.close());
      }
    }
  }
}
