package dev.syncline.server.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.ErrorCode;
import dev.syncline.protocol.Json;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Who may do what on a database or collection: for each {@link Action}, a list of principals —
 * {@code $all} (anyone, signed in or not), {@code $user} (any signed-in user), {@code $owner} (the
 * document's {@code $owner}), {@code role:NAME}, {@code user:NAME}. What is not granted is denied.
 */
public record Policy(Map<Action, List<String>> grants) {

  public enum Action {
    READ, CREATE, UPDATE, DESTROY;

    public String wire() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** How much of a collection a caller may act on. */
  public enum Level {
    /** every document */
    ALL,
    /** only documents whose {@code $owner} is the caller */
    OWNED,
    /** nothing */
    NONE
  }

  /** User and role names: 1 to 64 of {@code [A-Za-z0-9_.@-]}. */
  public static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.@-]{1,64}");

  /** A new database's policy unless one is given: every action for any signed-in user. */
  public static final Policy SIGNED_IN = uniform("$user");
  /** Every action for anyone, signed in or not (the bundled todo example). */
  public static final Policy OPEN = uniform("$all");
  /** Nothing for anyone but admins. */
  public static final Policy NOBODY = new Policy(Map.of());

  public Policy {
    grants = Map.copyOf(grants);
  }

  public static Policy uniform(String principal) {
    Map<Action, List<String>> g = new EnumMap<>(Action.class);
    for (Action a : Action.values()) g.put(a, List.of(principal));
    return new Policy(g);
  }

  /** Whether any action is granted to the user named {@code user} by name ({@code user:NAME}). */
  public boolean namesUser(String user) {
    String principal = "user:" + user;
    return grants.values().stream().anyMatch(principals -> principals.contains(principal));
  }

  public List<String> principals(Action action) {
    return grants.getOrDefault(action, List.of());
  }

  /** What {@code caller} may do with {@code action}. Admins may do everything. */
  public Level level(Action action, Caller caller) {
    if (caller.isAdmin()) return Level.ALL;
    boolean owned = false;
    for (String p : principals(action)) {
      if (p.equals("$all")) return Level.ALL;
      if (!caller.signedIn()) continue;
      if (p.equals("$user")) return Level.ALL;
      if (p.equals("$owner")) owned = true;
      else if (p.startsWith("role:") && caller.roles().contains(p.substring(5))) return Level.ALL;
      else if (p.startsWith("user:") && p.substring(5).equals(caller.user())) return Level.ALL;
    }
    return owned ? Level.OWNED : Level.NONE;
  }

  /**
   * Reads a policy object ({@code {"read": ["$user"], ...}}); a missing action grants nothing.
   * Throws {@code bad_request} naming the fault.
   */
  public static Policy parse(JsonNode node, String field) {
    if (node == null || !node.isObject()) throw bad(field + ": must be an object of action to principals");
    Map<Action, List<String>> g = new EnumMap<>(Action.class);
    for (Map.Entry<String, JsonNode> e : node.properties()) {
      Action action = actionOf(e.getKey());
      if (action == null) throw bad(field + ": unknown action " + e.getKey() + " (read, create, update, destroy)");
      if (!e.getValue().isArray() || e.getValue().size() > 64) throw bad(field + "." + e.getKey() + ": a list of at most 64 principals");
      List<String> principals = new java.util.ArrayList<>();
      for (JsonNode p : e.getValue()) {
        if (!p.isTextual() || !isPrincipal(p.textValue())) {
          throw bad(field + "." + e.getKey() + ": principals are $all, $user, $owner, role:NAME or user:NAME");
        }
        if (!principals.contains(p.textValue())) principals.add(p.textValue());
      }
      g.put(action, List.copyOf(principals));
    }
    return new Policy(g);
  }

  public ObjectNode toJson() {
    ObjectNode out = Json.MAPPER.createObjectNode();
    for (Action a : Action.values()) principals(a).forEach(out.putArray(a.wire())::add);
    return out;
  }

  static Action actionOf(String wire) {
    for (Action a : Action.values()) if (a.wire().equals(wire)) return a;
    return null;
  }

  static boolean isPrincipal(String p) {
    if (p.equals("$all") || p.equals("$user") || p.equals("$owner")) return true;
    return (p.startsWith("role:") || p.startsWith("user:")) && NAME.matcher(p.substring(5)).matches();
  }

  private static AuthException bad(String message) {
    return new AuthException(ErrorCode.BAD_REQUEST, message);
  }
}
