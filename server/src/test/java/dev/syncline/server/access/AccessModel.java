package dev.syncline.server.access;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import dev.syncline.server.testing.Replica;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The tests' own reading of the access rules, written from the brief and PROTOCOL.md, not from
 * the server's classes: a principal list grants an action to a caller, a collection override
 * replaces the database policy, a missing action grants nothing, role {@code admin} may do
 * everything. The tests compare the server against this model cell by cell.
 */
final class AccessModel {
  private AccessModel() {}

  enum Action {
    READ, CREATE, UPDATE, DESTROY;

    String wire() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** Who sends: {@code name} null is anonymous. */
  record Who(String name, Set<String> roles) {
    static final Who ANONYMOUS = new Who(null, Set.of());

    boolean signedIn() {
      return name != null;
    }

    boolean admin() {
      return roles.contains("admin");
    }

    @Override
    public String toString() {
      return name == null ? "anonymous" : name + roles;
    }
  }

  /** A policy as written on the wire; an action that is not a key grants nothing. */
  record Pol(Map<Action, List<String>> grants) {
    /** What a database falls back to when no policy is stored: everything for signed-in users. */
    static final Pol SIGNED_IN_DEFAULT = uniform("$user");

    static Pol uniform(String... principals) {
      Map<Action, List<String>> g = new EnumMap<>(Action.class);
      for (Action a : Action.values()) g.put(a, List.of(principals));
      return new Pol(g);
    }

    static Pol of(Object... actionThenPrincipals) {
      Map<Action, List<String>> g = new EnumMap<>(Action.class);
      for (int i = 0; i < actionThenPrincipals.length; i += 2) {
        @SuppressWarnings("unchecked")
        List<String> p = (List<String>) actionThenPrincipals[i + 1];
        g.put((Action) actionThenPrincipals[i], p);
      }
      return new Pol(g);
    }

    List<String> principals(Action a) {
      return grants.getOrDefault(a, List.of());
    }

    Pol with(Action a, String... principals) {
      Map<Action, List<String>> g = new EnumMap<>(Action.class);
      g.putAll(grants);
      g.put(a, List.of(principals));
      return new Pol(g);
    }

    ObjectNode json() {
      ObjectNode o = Json.MAPPER.createObjectNode();
      for (Action a : Action.values()) {
        if (!grants.containsKey(a)) continue;
        ArrayNode arr = o.putArray(a.wire());
        grants.get(a).forEach(arr::add);
      }
      return o;
    }

    @Override
    public String toString() {
      return json().toString();
    }
  }

  /** A database's policies as the test set them: {@code db} null = none stored (the default applies). */
  record Policies(Pol db, Map<String, Pol> collections) {
    Policies {
      collections = Map.copyOf(collections);
    }

    static Policies of(Pol db) {
      return new Policies(db, Map.of());
    }

    Policies withCollection(String col, Pol p) {
      Map<String, Pol> c = new HashMap<>(collections);
      if (p == null) c.remove(col);
      else c.put(col, p);
      return new Policies(db, c);
    }

    /** The policy in force for a collection: its override, else the database's, else the default. */
    Pol effective(String col) {
      Pol p = collections.get(col);
      if (p != null) return p;
      return db != null ? db : Pol.SIGNED_IN_DEFAULT;
    }

    @Override
    public String toString() {
      return "db=" + (db == null ? "(default)" : db) + (collections.isEmpty() ? "" : " cols=" + collections);
    }
  }

  /**
   * Whether {@code principals} let {@code who} act on a document owned by {@code owner} (null: no
   * owner). For a create, pass the would-be owner: the writer itself (a signed-in writer's first
   * write makes it the owner).
   */
  static boolean grants(List<String> principals, Who who, String owner) {
    if (who.admin()) return true;
    for (String p : principals) {
      if (p.equals("$all")) return true;
      if (!who.signedIn()) continue;
      if (p.equals("$user")) return true;
      if (p.equals("$owner") && owner != null && owner.equals(who.name())) return true;
      if (p.startsWith("role:") && who.roles().contains(p.substring(5))) return true;
      if (p.startsWith("user:") && p.substring(5).equals(who.name())) return true;
    }
    return false;
  }

  /** Whether {@code who} may do {@code action} on a document of {@code col} owned by {@code owner}. */
  static boolean allowed(Policies p, String col, Action action, Who who, String owner) {
    return grants(p.effective(col).principals(action), who, owner);
  }

  /** Whether {@code who} might read some document of {@code col} (every one, or the ones it owns). */
  static boolean mayReadSome(Policies p, String col, Who who) {
    if (who.admin()) return true;
    List<String> r = p.effective(col).principals(Action.READ);
    return grants(r, who, null) || (who.signedIn() && r.contains("$owner"));
  }

  /** Whether {@code who} reads every document of {@code col}, whoever owns it. */
  static boolean readsAll(Policies p, String col, Who who) {
    return grants(p.effective(col).principals(Action.READ), who, null);
  }

  /**
   * The registers of {@code state} that {@code who} may read: key {@code col/id/attr}; a document's
   * owner is the value of its {@code $owner} register (none: no owner). {@code cols} null = all.
   */
  static Map<String, Replica.Reg> readable(Map<String, Replica.Reg> state, Policies p, Who who, Set<String> cols) {
    Map<String, Replica.Reg> out = new HashMap<>();
    state.forEach((key, reg) -> {
      String[] k = split(key);
      if (cols != null && !cols.contains(k[0])) return;
      Replica.Reg ownerReg = state.get(k[0] + "/" + k[1] + "/$owner");
      String owner = ownerReg == null || !ownerReg.value().isTextual() ? null : ownerReg.value().textValue();
      if (allowed(p, k[0], Action.READ, who, owner)) out.put(key, reg);
    });
    return out;
  }

  /** {@code col/id/attr} split in three (test names hold no {@code /}). */
  static String[] split(String key) {
    return key.split("/", 3);
  }

  /** A readable diff of two register maps, for failure messages; empty when equal. */
  static List<String> diff(Map<String, Replica.Reg> expected, Map<String, Replica.Reg> actual) {
    List<String> out = new ArrayList<>();
    new java.util.TreeSet<>(expected.keySet()).forEach(k -> {
      Replica.Reg a = actual.get(k);
      Replica.Reg e = expected.get(k);
      if (a == null) out.add("missing " + k + "=" + e.value() + "@" + e.ts());
      else if (!a.ts().equals(e.ts()) || !a.value().equals(e.value())) {
        out.add("wrong " + k + ": expected " + e.value() + "@" + e.ts() + ", got " + a.value() + "@" + a.ts());
      }
    });
    new java.util.TreeSet<>(actual.keySet()).forEach(k -> {
      if (!expected.containsKey(k)) out.add("unexpected " + k + "=" + actual.get(k).value() + "@" + actual.get(k).ts());
    });
    return out;
  }

  static JsonNode text(String s) {
    return Json.MAPPER.getNodeFactory().textNode(s);
  }
}
