package dev.syncline.server.auth;

import dev.syncline.server.store.WriteGuard;
import java.util.Map;

/**
 * What one caller may write to one database, resolved from the policies on the event loop and
 * handed to the writer, which applies it per delta once it knows whether the delta creates its
 * document and who owns it.
 */
final class WriteAccess implements WriteGuard {
  private final String user;
  private final Directory dir;
  private final String db;
  private final Caller caller;
  private final Map<String, Policy> overrides;

  WriteAccess(Directory dir, Caller caller, String db) {
    this.user = caller.user();
    this.dir = dir;
    this.db = db;
    this.caller = caller;
    this.overrides = dir.collectionPolicies(db);
  }

  @Override
  public boolean permits(String col, Action action, String owner) {
    Policy p = overrides.get(col);
    if (p == null) p = dir.databasePolicy(db);
    Policy.Level level = p.level(switch (action) {
      case CREATE -> Policy.Action.CREATE;
      case UPDATE -> Policy.Action.UPDATE;
      case DESTROY -> Policy.Action.DESTROY;
    }, caller);
    return level == Policy.Level.ALL || (level == Policy.Level.OWNED && user != null && user.equals(owner));
  }
}
