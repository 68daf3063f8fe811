package dev.syncline.server.admin;

import dev.syncline.protocol.ErrorCode;
import dev.syncline.server.auth.Auth;
import dev.syncline.server.auth.Caller;
import dev.syncline.server.auth.Policy;
import io.vertx.core.Future;
import java.util.function.Function;

/**
 * Admin changes run one after another in auth's line ({@link Auth#serially}), and each checks its
 * caller's rights again there, as they are once the changes before it are committed: an admin
 * disabled or demoted while a password was hashed, or while the op waited behind that change,
 * makes nothing.
 */
final class InLine {
  private final Auth auth;

  InLine(Auth auth) {
    this.auth = auth;
  }

  /**
   * Runs {@code change} in line, for the caller as it is then, if it may still do {@code action}
   * on {@code $system}'s collection {@code col} (admins always may; {@code col} null: admins only).
   */
  <T> Future<T> run(Caller caller, String col, Policy.Action action, Function<Caller, Future<T>> change) {
    return auth.serially(() -> change.apply(stillAllowed(caller, col, action)));
  }

  private Caller stillAllowed(Caller caller, String col, Policy.Action action) {
    Caller now = auth.refresh(caller);
    if (now == null) throw new AdminException(ErrorCode.UNAUTHENTICATED, "op: sign in again");
    if (!now.isAdmin() && (col == null || !auth.mayManage(now, col, action))) {
      throw new AdminException(ErrorCode.FORBIDDEN, "op: not allowed any more (roles changed before it ran)");
    }
    return now;
  }
}
