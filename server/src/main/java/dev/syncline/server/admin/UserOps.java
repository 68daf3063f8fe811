package dev.syncline.server.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.ErrorCode;
import dev.syncline.protocol.Json;
import dev.syncline.server.auth.Auth;
import dev.syncline.server.auth.Caller;
import dev.syncline.server.auth.Directory;
import dev.syncline.server.auth.Policy;
import dev.syncline.server.auth.SystemDb;
import dev.syncline.server.commit.Committer;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** {@code user.create}, {@code user.update}, {@code user.delete}, {@code user.list}. Password hashes never appear in answers. */
final class UserOps {
  private final Auth auth;
  private final Committer committer;
  private final InLine line;

  /** Whether a peer of this server's cluster is not linked now. */
  private final java.util.function.BooleanSupplier cutOff;

  UserOps(Auth auth, Committer committer, InLine line, java.util.function.BooleanSupplier cutOff) {
    this.auth = auth;
    this.committer = committer;
    this.line = line;
    this.cutOff = cutOff;
  }

  Future<JsonNode> create(Caller caller, ObjectNode args) {
    String username = text(args, "username");
    String password = text(args, "password");
    List<String> roles = args.hasNonNull("roles") ? roles(args.get("roles")) : List.of();
    withinOwnRoles(caller, Set.of(), roles);
    notNamedInAPolicy(caller, username);
    auth.checkNewUser(username, password);
    return auth.hash(password).compose(hash -> line.run(caller, SystemDb.USERS, Policy.Action.CREATE, now -> {
      withinOwnRoles(now, Set.of(), roles);
      notNamedInAPolicy(now, username);
      auth.checkNewUser(username, password); // the name may have been taken meanwhile
      return committer.push(SystemDb.NAME, auth.system().createUser(username, hash, roles, now.user()))
          .map(o -> view(username, Set.copyOf(roles), false));
    }));
  }

  Future<JsonNode> update(Caller caller, ObjectNode args) {
    String username = text(args, "username");
    Directory.User user = existing(username);
    String password = args.hasNonNull("password") ? text(args, "password") : null;
    List<String> roles = args.hasNonNull("roles") ? roles(args.get("roles")) : null;
    JsonNode d = args.get("disabled");
    if (d != null && !d.isNull() && !d.isBoolean()) throw new AdminException(ErrorCode.BAD_REQUEST, "disabled: true or false");
    Boolean disabled = d == null || d.isNull() ? null : d.booleanValue();
    if (password != null) Auth.checkPassword(password);
    withinOwnRoles(caller, user.roles(), roles);
    notNamedInAPolicy(caller, username);
    Future<String> hash = password == null ? Future.succeededFuture(null) : auth.hash(password);
    return hash.compose(h -> line.run(caller, SystemDb.USERS, Policy.Action.UPDATE, by -> {
      Directory.User now = existing(username);
      // again, in line: the user may have become an admin while the password was hashed
      withinOwnRoles(by, now.roles(), roles);
      notNamedInAPolicy(by, username);
      boolean staysAdmin = (roles == null ? now.roles().contains(Caller.ADMIN_ROLE) : roles.contains(Caller.ADMIN_ROLE))
          && !(disabled == null ? now.disabled() : disabled);
      if (!staysAdmin) keepAnAdmin(username);
      return committer.push(SystemDb.NAME, auth.system().updateUser(username, h, roles, disabled, by.user()))
          .map(o -> view(username, roles == null ? now.roles() : Set.copyOf(roles), disabled == null ? now.disabled() : disabled));
    }));
  }

  Future<JsonNode> delete(Caller caller, ObjectNode args) {
    String username = text(args, "username");
    withinOwnRoles(caller, existing(username).roles(), null);
    notNamedInAPolicy(caller, username);
    return line.run(caller, SystemDb.USERS, Policy.Action.DESTROY, by -> {
      withinOwnRoles(by, existing(username).roles(), null);
      notNamedInAPolicy(by, username);
      keepAnAdmin(username);
      return committer.push(SystemDb.NAME, auth.system().deleteUser(username, by.user()))
          .map(o -> (JsonNode) Json.MAPPER.createObjectNode().put("username", username).put("deleted", true));
    });
  }

  /**
   * A {@code $system} policy that lets someone manage users must not let them gain more than they
   * have: one who is not an admin may change, disable or delete only users whose roles
   * ({@code targetRoles}) it holds itself, and give only roles it holds ({@code newRoles}; null:
   * unchanged). Else a password reset would sign it in as a user with more rights, and a role
   * named in another policy would give it that policy's rights. So only admins grant, change or
   * remove admins.
   */
  private static void withinOwnRoles(Caller caller, Set<String> targetRoles, List<String> newRoles) {
    if (caller.isAdmin()) return;
    if (targetRoles.contains(Caller.ADMIN_ROLE) || (newRoles != null && newRoles.contains(Caller.ADMIN_ROLE))) {
      throw new AdminException(ErrorCode.FORBIDDEN, "roles: only admins may grant, change or remove admins");
    }
    if (!caller.roles().containsAll(targetRoles) || (newRoles != null && !caller.roles().containsAll(newRoles))) {
      throw new AdminException(ErrorCode.FORBIDDEN,
          "roles: one who is not an admin manages only users whose roles it holds itself, and grants only those");
    }
  }

  /**
   * Rights a policy grants a user by name ({@code user:NAME}) are not a role a manager can hold:
   * one who is not an admin may not create, change, disable or delete such a user, or a password
   * reset would sign it in with those rights.
   */
  private void notNamedInAPolicy(Caller caller, String username) {
    if (caller.isAdmin() || !auth.directory().namedInAPolicy(username)) return;
    throw new AdminException(ErrorCode.FORBIDDEN, "users: a policy names " + username + ": only admins manage it");
  }

  /** Users listed per {@code user.list} at most (and by default): a page of them fits any message. */
  static final int LIST_PAGE = 1000;

  /**
   * {@code user.list {after?, limit?}}: users by name, those after {@code after}, at most
   * {@code limit}; {@code more} when others follow (ask again with the last name as {@code after}).
   * The page is picked without sorting every user.
   */
  Future<JsonNode> list(Caller caller, ObjectNode args) {
    JsonNode a = args.get("after");
    if (a != null && !a.isNull() && !a.isTextual()) throw new AdminException(ErrorCode.BAD_REQUEST, "after: a username");
    String after = a == null || a.isNull() ? "" : a.textValue();
    JsonNode l = args.get("limit");
    if (l != null && !l.isNull() && (!l.canConvertToInt() || !l.isIntegralNumber() || l.intValue() < 1 || l.intValue() > LIST_PAGE)) {
      throw new AdminException(ErrorCode.BAD_REQUEST, "limit: 1 to " + LIST_PAGE);
    }
    int limit = l == null || l.isNull() ? LIST_PAGE : l.intValue();
    // the first `limit` names after `after`: a heap keeps the greatest on top, to be dropped
    java.util.PriorityQueue<Directory.User> page = new java.util.PriorityQueue<>(
        java.util.Comparator.comparing(Directory.User::name).reversed());
    boolean[] more = {false};
    auth.directory().forEachUser(u -> {
      if (u.name().compareTo(after) <= 0) return;
      page.add(u);
      if (page.size() > limit) {
        page.poll();
        more[0] = true;
      }
    });
    List<Directory.User> sorted = new ArrayList<>(page);
    sorted.sort(java.util.Comparator.comparing(Directory.User::name));
    ObjectNode out = Json.MAPPER.createObjectNode();
    ArrayNode list = out.putArray("users");
    sorted.forEach(u -> list.add(view(u.name(), u.roles(), u.disabled())));
    return Future.succeededFuture(out.put("more", more[0]));
  }

  /**
   * Refuses to remove, disable or demote the last enabled admin: nobody could manage the server
   * after. In a cluster, also any admin while a peer is cut off: on the other side an admin may be
   * removing the others, and once linked again no admin would be left.
   */
  private void keepAnAdmin(String username) {
    Directory directory = auth.directory();
    Directory.User u = directory.user(username);
    boolean isAdmin = u != null && !u.disabled() && u.roles().contains(Caller.ADMIN_ROLE);
    if (isAdmin && directory.enabledAdmins() < 2) throw new AdminException(ErrorCode.FORBIDDEN, "username: " + username + " is the last admin");
    if (isAdmin && cutOff.getAsBoolean()) {
      throw new AdminException(ErrorCode.FORBIDDEN, "username: " + username + " is an admin, and a peer of this server is not "
          + "linked now: an admin on its side could be removing the others; try again once every server is linked "
          + "(a server gone for good: peer.forget it)");
    }
  }

  private Directory.User existing(String username) {
    if (!Policy.NAME.matcher(username).matches()) {
      throw new AdminException(ErrorCode.BAD_REQUEST, "username: 1 to 64 of [A-Za-z0-9_.@-]");
    }
    Directory.User u = auth.directory().user(username);
    if (u == null) throw new AdminException(ErrorCode.NOT_FOUND, "no user " + username);
    return u;
  }

  private static ObjectNode view(String username, Set<String> roles, boolean disabled) {
    ObjectNode o = Json.MAPPER.createObjectNode().put("username", username);
    new java.util.TreeSet<>(roles).forEach(o.putArray("roles")::add);
    return o.put("disabled", disabled);
  }

  private static List<String> roles(JsonNode node) {
    if (!node.isArray() || node.size() > 64) throw new AdminException(ErrorCode.BAD_REQUEST, "roles: a list of at most 64 role names");
    List<String> out = new ArrayList<>();
    for (JsonNode r : node) {
      if (!r.isTextual() || !Policy.NAME.matcher(r.textValue()).matches()) {
        throw new AdminException(ErrorCode.BAD_REQUEST, "roles: names are 1 to 64 of [A-Za-z0-9_.@-]");
      }
      if (!out.contains(r.textValue())) out.add(r.textValue());
    }
    return out;
  }

  /** Characters as the protocol counts them: code points, so an emoji is one. */
  static int characters(String s) {
    return s.codePointCount(0, s.length());
  }

  static String text(ObjectNode args, String field) {
    JsonNode n = args.get(field);
    if (n == null || !n.isTextual() || n.textValue().isEmpty() || characters(n.textValue()) > 1024) {
      throw new AdminException(ErrorCode.BAD_REQUEST, field + ": required string of 1 to 1024 characters");
    }
    return n.textValue();
  }

}
