package dev.syncline.server.auth;

import dev.syncline.server.store.WriteGuard;

/**
 * What one caller may write to one database. Made on the event loop when a push is queued, asked
 * on the writer thread for each delta once the store knows whether the delta creates its document
 * and who owns it — with the users and policies published at that moment, so a policy or role
 * change acknowledged before the push commits applies to it.
 */
final class WriteAccess implements WriteGuard {
  private final Auth auth;
  private final Caller caller;
  private final String db;
  // the caller as of the directory last seen: refreshed once per directory, not per delta
  // (only the writer thread calls permits)
  private Directory seen;
  private Caller now;
  // the policy of the collection last asked about: a push's deltas mostly share one
  private String col;
  private Policy policy;

  WriteAccess(Auth auth, Caller caller, String db) {
    this.auth = auth;
    this.caller = caller;
    this.db = db;
  }

  @Override
  public boolean permits(String col, Action action, String owner) {
    Directory dir = auth.directory();
    if (dir != seen) {
      seen = dir;
      now = auth.refresh(caller);
      this.col = null;
    }
    if (now == null) return false; // signed out meanwhile: disabled, deleted, or a new password
    if (!col.equals(this.col)) {
      this.col = col;
      policy = dir.policy(db, col);
    }
    Policy.Level level = policy.level(switch (action) {
      case CREATE -> Policy.Action.CREATE;
      case UPDATE -> Policy.Action.UPDATE;
      case DESTROY -> Policy.Action.DESTROY;
    }, now);
    return level == Policy.Level.ALL || (level == Policy.Level.OWNED && now.user() != null && now.user().equals(owner));
  }
}
