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
  // the levels of the collection last asked about, by action (null until asked): a push's
  // deltas mostly share one collection, and a level depends only on the policy and the caller
  private String col;
  private Policy policy;
  private final Policy.Level[] levels = new Policy.Level[Action.values().length];

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
      this.col = null; // the policies or the caller may have changed: every level is asked again
    }
    if (now == null) return false; // signed out meanwhile: disabled, deleted, or a new password
    if (!col.equals(this.col)) {
      this.col = col;
      policy = dir.policy(db, col);
      java.util.Arrays.fill(levels, null);
    }
    Policy.Level level = levels[action.ordinal()];
    if (level == null) {
      level = policy.level(switch (action) {
        case CREATE -> Policy.Action.CREATE;
        case UPDATE -> Policy.Action.UPDATE;
        case DESTROY -> Policy.Action.DESTROY;
        case READ -> Policy.Action.READ;
      }, now);
      levels[action.ordinal()] = level;
    }
    return level == Policy.Level.ALL || (level == Policy.Level.OWNED && now.user() != null && now.user().equals(owner));
  }
}
