package dev.syncline.client;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** A database of the server, as this client holds it. A cheap handle; the client keeps the state. */
public final class Database {
  private final SynclineClient client;
  private final String name;
  private final Map<String, Collection> cols = new ConcurrentHashMap<>();

  Database(SynclineClient client, String name) {
    this.client = client;
    this.name = name;
  }

  public String name() {
    return name;
  }

  /** The collection {@code name}: 1 to 256 characters, no NUL, not starting with {@code $}. */
  public Collection col(String name) {
    return cols.computeIfAbsent(name, n -> {
      String problem = Names.colProblem(n, client.core().limits);
      if (problem != null) throw new SynclineException("bad_request", problem);
      return new Collection(client, this.name, n);
    });
  }
}
