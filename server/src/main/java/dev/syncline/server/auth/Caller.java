package dev.syncline.server.auth;

import dev.syncline.protocol.UserInfo;
import java.util.List;
import java.util.Set;

/**
 * Who sent a message: a signed-in user with their roles, or nobody ({@link #ANONYMOUS}).
 * {@code stamp} names the user's password as it was at sign-in ({@link Directory.User#stamp}):
 * when the password changes, or the account is deleted and made again, sign-ins made before no
 * longer count.
 */
public record Caller(String user, Set<String> roles, String stamp) {
  public static final Caller ANONYMOUS = new Caller(null, Set.of(), null);

  static Caller of(Directory.User u) {
    return new Caller(u.name(), u.roles(), u.stamp());
  }

  /** The role that may do everything. */
  public static final String ADMIN_ROLE = "admin";

  public boolean signedIn() {
    return user != null;
  }

  public boolean isAdmin() {
    return roles.contains(ADMIN_ROLE);
  }

  /** As announced in {@code welcome.user} and {@code token.user}; null when not signed in. */
  public UserInfo info() {
    return user == null ? null : new UserInfo(user, List.copyOf(new java.util.TreeSet<>(roles)));
  }
}
