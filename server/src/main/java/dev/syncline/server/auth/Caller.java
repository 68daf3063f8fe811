package dev.syncline.server.auth;

import dev.syncline.protocol.UserInfo;
import java.util.List;
import java.util.Set;

/** Who sent a message: a signed-in user with their roles, or nobody ({@link #ANONYMOUS}). */
public record Caller(String user, Set<String> roles) {
  public static final Caller ANONYMOUS = new Caller(null, Set.of());

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
