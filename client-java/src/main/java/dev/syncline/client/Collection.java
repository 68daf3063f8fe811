package dev.syncline.client;

import io.vertx.core.Handler;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;

/** A collection of documents in one database. A cheap handle; reads answer from memory, on any thread. */
public final class Collection {
  private final SynclineClient client;
  private final String db;
  private final String name;

  Collection(SynclineClient client, String db, String name) {
    this.client = client;
    this.db = db;
    this.name = name;
  }

  public String db() {
    return db;
  }

  public String name() {
    return name;
  }

  /** A new document, with a fresh id that sorts by creation (a ULID). */
  public Document doc() {
    return new Document(client, db, name, client.newId());
  }

  /** The document {@code id}, existing or not. */
  public Document doc(String id) {
    String problem = Names.idProblem(id, client.core().limits);
    if (problem != null) throw new SynclineException("bad_request", problem);
    return new Document(client, db, name, id);
  }

  /** The visible documents, sorted by id. */
  public List<Doc> all() {
    return client.core().replica.docs(db, name);
  }

  /** The visible documents {@code filter} accepts, sorted by id. */
  public List<Doc> find(Predicate<Doc> filter) {
    List<Doc> out = new ArrayList<>();
    for (Doc d : all()) if (filter.test(d)) out.add(d);
    return out;
  }

  /**
   * Calls {@code listener} (on the client's event loop) with the documents {@code filter} accepts
   * (null: all), at once and again whenever that result changes through a local or remote change.
   * Made before the store has loaded, it is first called once it has, not with an empty result first.
   */
  public LiveQuery live(Predicate<Doc> filter, Handler<List<Doc>> listener) {
    Objects.requireNonNull(listener, "listener");
    LiveQuery q = client.core().live.add(db, name, filter, listener);
    client.onContext(() -> {
      if (client.core().loaded) client.core().live.run(q); // else the load runs it
    });
    return q;
  }

  /** {@link #live(Predicate, Handler)} over every visible document. */
  public LiveQuery live(Handler<List<Doc>> listener) {
    return live((Predicate<Doc>) null, listener);
  }
}
