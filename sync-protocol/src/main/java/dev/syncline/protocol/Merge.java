package dev.syncline.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * The last-writer-wins rule for one attribute register, as a pure function. Every replica
 * (server, peers, SDKs) applies exactly this, so replicas that saw the same deltas in any
 * order hold the same state.
 *
 * <p>The register keeps the greater of (timestamp, value): timestamps compare as strings, and
 * only when they are equal do the values decide, by {@link #compareValues}. Equal timestamps with
 * different values do happen — two tabs of one app share a clientId, and a client may stamp any
 * ORIGIN it likes — and without an order on values, replicas that received them in different
 * orders would each keep the first forever. Values that are equal as JSON but written differently
 * ({@code 1} and {@code 1.0}, or one object's keys in another order) are ordered by their compact
 * encoding ({@link Json#valueBytes}), so server replicas converge byte for byte; only a delta
 * identical to the stored one is a duplicate.
 */
public final class Merge {
  private Merge() {}

  public enum Outcome {
    /** The delta is greater than what is stored: it replaces the register. */
    APPLIED("applied"),
    /** A greater value is stored: the delta changes nothing. */
    SUPERSEDED("superseded"),
    /** This exact write is stored already: the delta changes nothing. */
    DUPLICATE("duplicate");

    private final String wire;

    Outcome(String wire) {
      this.wire = wire;
    }

    public String wire() {
      return wire;
    }

    public static Outcome fromWire(String name) {
      for (Outcome o : values()) if (o.wire.equals(name)) return o;
      throw new IllegalArgumentException("unknown outcome: " + name);
    }
  }

  /**
   * Decides a delta against a register. {@code storedTs} is null for a register never written;
   * a null value is JSON null.
   */
  public static Outcome decide(String storedTs, JsonNode storedValue, String incomingTs, JsonNode incomingValue) {
    if (storedTs == null) return Outcome.APPLIED;
    int c = incomingTs.compareTo(storedTs);
    if (c == 0) c = compareValues(incomingValue, storedValue);
    if (c == 0) c = compare(orNull(incomingValue), orNull(storedValue), true);
    if (c == 0) c = Arrays.compareUnsigned(Json.valueBytes(orNull(incomingValue)), Json.valueBytes(orNull(storedValue)));
    if (c > 0) return Outcome.APPLIED;
    return c == 0 ? Outcome.DUPLICATE : Outcome.SUPERSEDED;
  }

  /**
   * The structural order of JSON values that breaks timestamp ties; null is JSON null. By type
   * first: null &lt; false &lt; true &lt; number &lt; string &lt; array &lt; object. Numbers as
   * IEEE doubles, which is all a JavaScript replica sees; strings by UTF-16 code units; arrays
   * element by element, a proper prefix first; objects by their (key, value) pairs with keys
   * sorted by code units, a proper prefix first. Returns 0 for values equal as doubles all
   * through even when written differently ({@code 1} and {@code 1.0}, or {@code 2^53} and
   * {@code 2^53 + 1}): {@link #decide} orders those by exact value, then by encoding. Recursion
   * is bounded by {@link Json#MAX_NESTING_DEPTH}.
   */
  public static int compareValues(JsonNode a, JsonNode b) {
    return compare(orNull(a), orNull(b), false);
  }

  /** The structural order, numbers compared as doubles or by their exact value. */
  private static int compare(JsonNode a, JsonNode b, boolean exact) {
    a = orNull(a);
    b = orNull(b);
    int c = Integer.compare(rank(a), rank(b));
    if (c != 0) return c;
    if (a.isNumber()) {
      if (exact) return a.decimalValue().compareTo(b.decimalValue());
      double x = a.doubleValue();
      double y = b.doubleValue();
      return x < y ? -1 : x > y ? 1 : 0; // not Double.compare: -0 and 0 are one number, as in JavaScript
    }
    if (a.isTextual()) return a.textValue().compareTo(b.textValue());
    if (a.isArray()) {
      for (int i = 0; i < a.size() && i < b.size(); i++) {
        c = compare(a.get(i), b.get(i), exact);
        if (c != 0) return c;
      }
      return Integer.compare(a.size(), b.size());
    }
    if (a.isObject()) {
      List<String> ka = sortedKeys(a);
      List<String> kb = sortedKeys(b);
      for (int i = 0; i < ka.size() && i < kb.size(); i++) {
        c = ka.get(i).compareTo(kb.get(i));
        if (c == 0) c = compare(a.get(ka.get(i)), b.get(kb.get(i)), exact);
        if (c != 0) return c;
      }
      return Integer.compare(ka.size(), kb.size());
    }
    return 0; // null, false, true: the rank is the value
  }

  /** Type rank of the value order; booleans rank by value, so false and true need no further look. */
  private static int rank(JsonNode v) {
    if (v.isNull()) return 0;
    if (v.isBoolean()) return v.booleanValue() ? 2 : 1;
    if (v.isNumber()) return 3;
    if (v.isTextual()) return 4;
    if (v.isArray()) return 5;
    if (v.isObject()) return 6;
    throw new IllegalArgumentException("not a JSON value: " + v.getNodeType());
  }

  private static List<String> sortedKeys(JsonNode object) {
    List<String> keys = new ArrayList<>(object.size());
    object.fieldNames().forEachRemaining(keys::add);
    Collections.sort(keys);
    return keys;
  }

  private static JsonNode orNull(JsonNode v) {
    return v == null || v.isMissingNode() ? NullNode.getInstance() : v;
  }
}
