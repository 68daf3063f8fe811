package dev.syncline.client.store;

import java.util.ArrayList;
import java.util.LinkedHashMap;

import java.util.concurrent.CompletableFuture;

/** A store that keeps nothing beyond the client's life: every write completes at once. */
final class MemoryLocalStore implements LocalStore {
  private String clientId;

  @Override
  public LocalState load() {
    return new LocalState(clientId, null, new ArrayList<>(), new ArrayList<>(), new LinkedHashMap<>(), null, null);
  }

  @Override
  public synchronized String claimClientId(String wanted, String fresh) {
    clientId = wanted != null ? wanted : clientId != null ? clientId : fresh;
    return clientId;
  }

  @Override
  public CompletableFuture<Void> write(StoreWrite w) {
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public void close() {}
}
