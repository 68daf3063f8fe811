package dev.syncline.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DecimalNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@link Merge} against a reference model. The model is the definition of last-writer-wins: a
 * register holds the write with the greatest (timestamp, value) among all writes it has seen,
 * comparing timestamps as (ms, counter, origin) tuples — not as strings, which is what
 * {@link Merge} does — and values by their place in {@link #RANKED}, a list written out by hand
 * in the order PROTOCOL.md §6 gives. Random writes over a few registers, often with equal
 * timestamps and different values, are applied in random orders, with duplicates, and every
 * order must end in the model's state, byte for byte, and give each delta the outcome the model
 * predicts.
 *
 * <p>Set {@code -Dsyncline.seed=N} to replay a failure; every assertion message names its seed.
 */
class MergePropertyTest {
  private static final long T = 1_732_212_345_678L;
  private static final String[] DOCS = {"t1", "t2", "t3"};
  private static final String[] ATTRS = {"title", "done", Delta.DELETED};
  private static final String[] ORIGINS = {"a", "b", "a0", "B", "node-1"};

  /**
   * Values in increasing merge order (PROTOCOL.md §6), as JSON text: by type, then by value, and
   * values equal as JSON ({@code 1} and {@code 1.0}; one object's keys in two orders) by their
   * compact encoding as unsigned bytes.
   */
  static final List<JsonNode> RANKED = parseAll(
      "null", "false", "true",
      "-1e300", "-2.5", "-1", "0", "0.5", "1", "1.0", "1.5", "2", "10", "100", "1e2",
      "12345678901234567890123", "12345678901234567890124",
      "\"\"", "\"A\"", "\"B\"", "\"a\"", "\"ab\"", "\"b\"", "\"中\"", "\"😀\"", "\"ｚ\"",
      "[]", "[null]", "[1]", "[1,2]", "[1,2,0]", "[1,3]", "[2]", "[\"a\"]", "[[]]", "[{}]",
      "{}", "{\"10\":0}", "{\"9\":0}", "{\"a\":null}", "{\"a\":1}", "{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1}",
      "{\"a\":1,\"c\":0}", "{\"a\":2}", "{\"b\":0}", "{\"😀\":0}", "{\"ｚ\":0}");

  /** A write and the place of its value in {@link #RANKED}, which the model orders by. */
  record Write(Delta delta, int rank) {}

  /** A register's address. */
  record Key(String col, String id, String attr) {
    static Key of(Delta d) {
      return new Key(d.col(), d.id(), d.attr());
    }
  }

  @Test
  @DisplayName("the values of RANKED are in increasing merge order, each one only equal to itself")
  void rankedIsTheValueOrder() {
    String ts = "1732212345678-0000-a";
    for (int i = 0; i < RANKED.size(); i++) {
      for (int j = 0; j < RANKED.size(); j++) {
        Merge.Outcome expected = j > i ? Merge.Outcome.APPLIED : j == i ? Merge.Outcome.DUPLICATE : Merge.Outcome.SUPERSEDED;
        assertEquals(expected, Merge.decide(ts, RANKED.get(i), ts, RANKED.get(j)), RANKED.get(j) + " onto " + RANKED.get(i));
        // a greater timestamp decides whatever the values
        assertEquals(Merge.Outcome.APPLIED, Merge.decide(ts, RANKED.get(i), "1732212345678-0001-a", RANKED.get(j)));
      }
    }
  }

  @Test
  @DisplayName("every order of the same deltas, with equal timestamps and duplicates, converges to the model byte for byte")
  void convergesToModel() {
    long base = Long.getLong("syncline.seed", new Random().nextLong());
    for (int round = 0; round < 1500; round++) {
      long seed = base + round;
      Random random = new Random(seed);
      List<Write> writes = randomWrites(random, 5 + random.nextInt(40));
      Map<Key, Write> model = model(writes);

      // the stream a replica receives: every write at least once, some several times
      List<Write> stream = new ArrayList<>(writes);
      int dups = random.nextInt(writes.size() + 1);
      for (int i = 0; i < dups; i++) stream.add(writes.get(random.nextInt(writes.size())));

      Map<Key, String> first = null;
      for (int order = 0; order < 6; order++) {
        Collections.shuffle(stream, random);
        String why = "seed " + seed + ", order " + order;
        Map<Key, Register> replica = new HashMap<>();
        Map<Key, Write> greatest = new HashMap<>();
        for (Write w : stream) {
          Merge.Outcome expected = expectedOutcome(greatest, w);
          assertEquals(expected, apply(replica, w.delta()), why + ": " + w);
        }
        assertState(model, replica, why);
        // idempotent: the whole stream again changes nothing, and every delta is a duplicate or superseded
        for (Write w : stream) {
          Merge.Outcome again = apply(replica, w.delta());
          assertNotEquals(Merge.Outcome.APPLIED, again, why + ": replayed " + w + " was " + again);
        }
        assertState(model, replica, why + ", replayed");
        if (first == null) first = encoded(replica);
        assertEquals(first, encoded(replica), why + ": differs from the first order");
      }
    }
  }

  @Test
  @DisplayName("replicas that saw different halves converge when they exchange their registers")
  void replicasConvergeByExchangingState() {
    long base = Long.getLong("syncline.seed", new Random().nextLong());
    for (int round = 0; round < 1500; round++) {
      long seed = base + round;
      Random random = new Random(seed);
      List<Write> writes = randomWrites(random, 2 + random.nextInt(30));
      Map<Key, Register> left = new HashMap<>();
      Map<Key, Register> right = new HashMap<>();
      for (Write w : writes) {
        int where = random.nextInt(3); // left, right, or both
        if (where != 1) apply(left, w.delta());
        if (where != 0) apply(right, w.delta());
      }
      // exchange: each sends its registers to the other as deltas, as replication does
      Map<Key, Register> leftBefore = new HashMap<>(left);
      right.forEach((k, r) -> apply(left, new Delta(k.col(), k.id(), k.attr(), r.value(), r.ts())));
      leftBefore.forEach((k, r) -> apply(right, new Delta(k.col(), k.id(), k.attr(), r.value(), r.ts())));
      String why = "seed " + seed;
      assertState(model(writes), left, why + ", left");
      assertEquals(encoded(left), encoded(right), why);
      // and both show every reader the same documents
      for (String id : DOCS) assertEquals(visible(left, id), visible(right, id), why + ", document " + id);
    }
  }

  @Test
  @DisplayName("compareValues is a total order on random values that is 0 exactly for values equal as JSON")
  void compareValuesIsATotalOrder() {
    long seed = Long.getLong("syncline.seed", new Random().nextLong());
    Random random = new Random(seed);
    String ts = "1732212345678-0000-a";
    for (int i = 0; i < 20000; i++) {
      JsonNode a = randomValue(random, 3);
      JsonNode b = random.nextInt(4) == 0 ? reordered(a, random) : randomValue(random, 3);
      JsonNode c = randomValue(random, 3);
      String why = "seed " + seed + ": " + a + ", " + b + ", " + c;
      int ab = Integer.signum(Merge.compareValues(a, b));
      assertEquals(-ab, Integer.signum(Merge.compareValues(b, a)), why + ": antisymmetric");
      assertEquals(ab == 0, JsonValues.equal(a, b), why + ": 0 exactly for equal values");
      int bc = Integer.signum(Merge.compareValues(b, c));
      int ac = Integer.signum(Merge.compareValues(a, c));
      if (ab <= 0 && bc <= 0) assertTrue(ac <= 0, why + ": transitive");
      if (ab >= 0 && bc >= 0) assertTrue(ac >= 0, why + ": transitive");
      // decide breaks what compareValues leaves equal by encoding: only identical values are duplicates
      Merge.Outcome there = Merge.decide(ts, a, ts, b);
      Merge.Outcome back = Merge.decide(ts, b, ts, a);
      boolean identical = Arrays.equals(Json.valueBytes(a), Json.valueBytes(b));
      assertEquals(identical, there == Merge.Outcome.DUPLICATE, why + ": duplicate exactly when identical");
      assertEquals(there == Merge.Outcome.APPLIED, back == Merge.Outcome.SUPERSEDED, why + ": decide is antisymmetric");
      if (ab != 0) assertEquals(ab > 0 ? Merge.Outcome.APPLIED : Merge.Outcome.SUPERSEDED, back, why);
    }
  }

  /**
   * Writes over a few registers; timestamps collide often in ms and counter, and often as a
   * whole on one register with another value (two tabs of one app, or a client claiming another's
   * ORIGIN).
   */
  private static List<Write> randomWrites(Random random, int n) {
    List<Write> out = new ArrayList<>();
    Set<List<Object>> used = new HashSet<>();
    while (out.size() < n) {
      String id = DOCS[random.nextInt(DOCS.length)];
      String attr = ATTRS[random.nextInt(ATTRS.length)];
      String ts;
      List<Write> sameRegister = out.stream().filter(w -> w.delta().id().equals(id) && w.delta().attr().equals(attr)).toList();
      if (!sameRegister.isEmpty() && random.nextInt(3) == 0) {
        ts = sameRegister.get(random.nextInt(sameRegister.size())).delta().ts();
      } else {
        ts = new Hlc(T + random.nextInt(4), random.nextInt(3) == 0 ? 0xfff0 + random.nextInt(16) : random.nextInt(3),
            ORIGINS[random.nextInt(ORIGINS.length)]).format();
      }
      // $deleted holds only booleans: false and true, ranks 1 and 2
      int rank = attr.equals(Delta.DELETED) ? 1 + random.nextInt(2) : random.nextInt(RANKED.size());
      if (!used.add(List.of(id, attr, ts, rank))) continue; // the same write twice: the stream adds duplicates
      out.add(new Write(new Delta("todos", id, attr, RANKED.get(rank), ts), rank));
    }
    return out;
  }

  /** The model's order of writes to one register: (ms, counter, origin), then the value's rank. */
  private static final Comparator<Write> MODEL_ORDER =
      Comparator.<Write, Hlc>comparing(w -> Hlc.parse(w.delta().ts())).thenComparingInt(Write::rank);

  /** The reference: per register, the greatest write in {@link #MODEL_ORDER}. */
  private static Map<Key, Write> model(List<Write> writes) {
    Map<Key, Write> model = new HashMap<>();
    for (Write w : writes) model.merge(Key.of(w.delta()), w, (a, b) -> MODEL_ORDER.compare(a, b) >= 0 ? a : b);
    return model;
  }

  /**
   * The outcome the model predicts from the greatest write a register has seen: a greater one
   * applies, the same one is a duplicate, a smaller one is superseded — even if it was itself seen
   * before (a greater write is what is stored then).
   */
  private static Merge.Outcome expectedOutcome(Map<Key, Write> greatest, Write incoming) {
    Key key = Key.of(incoming.delta());
    Write max = greatest.get(key);
    int c = max == null ? 1 : MODEL_ORDER.compare(incoming, max);
    if (c > 0) greatest.put(key, incoming);
    return c > 0 ? Merge.Outcome.APPLIED : c == 0 ? Merge.Outcome.DUPLICATE : Merge.Outcome.SUPERSEDED;
  }

  /** What every replica does with a delta. */
  private static Merge.Outcome apply(Map<Key, Register> replica, Delta d) {
    Register stored = replica.get(Key.of(d));
    Merge.Outcome o = stored == null
        ? Merge.decide(null, null, d.ts(), d.value())
        : Merge.decide(stored.ts(), stored.value(), d.ts(), d.value());
    if (o == Merge.Outcome.APPLIED) replica.put(Key.of(d), new Register(d.value(), d.ts()));
    return o;
  }

  private static void assertState(Map<Key, Write> model, Map<Key, Register> replica, String why) {
    assertEquals(model.keySet(), replica.keySet(), why + ": registers");
    model.forEach((k, w) -> {
      Register r = replica.get(k);
      assertNotNull(r, why + ": " + k);
      assertEquals(w.delta().ts(), r.ts(), why + ": ts of " + k);
      assertEquals(text(w.delta().value()), text(r.value()), why + ": value of " + k);
    });
  }

  /** Every register as its ts and value encoding: replicas must agree byte for byte, not only as JSON. */
  private static Map<Key, String> encoded(Map<Key, Register> replica) {
    Map<Key, String> out = new TreeMap<>(Comparator.comparing(Key::toString));
    replica.forEach((k, r) -> out.put(k, r.ts() + " " + text(r.value())));
    return out;
  }

  private static String text(JsonNode value) {
    return new String(Json.valueBytes(value), StandardCharsets.UTF_8);
  }

  private static List<JsonNode> parseAll(String... texts) {
    List<JsonNode> out = new ArrayList<>();
    for (String t : texts) {
      try {
        out.add(Json.MAPPER.readTree(t));
      } catch (JsonProcessingException e) {
        throw new IllegalArgumentException(t, e);
      }
    }
    return List.copyOf(out);
  }

  /** Values where ties are likely: few short strings (surrogate pairs among them), small numbers, 1.0 beside 1. */
  private static JsonNode randomValue(Random r, int depth) {
    switch (depth == 0 ? r.nextInt(5) : r.nextInt(7)) {
      case 0: return NullNode.getInstance();
      case 1: return BooleanNode.valueOf(r.nextBoolean());
      case 2: return IntNode.valueOf(r.nextInt(3) - 1);
      case 3: return DecimalNode.valueOf(BigDecimal.valueOf(r.nextInt(30) - 10, r.nextInt(2)));
      case 4: return TextNode.valueOf(randomString(r));
      case 5: {
        var a = Json.MAPPER.createArrayNode();
        for (int i = r.nextInt(3); i > 0; i--) a.add(randomValue(r, depth - 1));
        return a;
      }
      default: {
        var o = Json.MAPPER.createObjectNode();
        for (int i = r.nextInt(3); i > 0; i--) o.set(randomString(r), randomValue(r, depth - 1));
        return o;
      }
    }
  }

  private static String randomString(Random r) {
    String[] parts = {"a", "b", "B", "9", "10", "中", "😀", "ｚ"};
    StringBuilder sb = new StringBuilder();
    for (int i = r.nextInt(3); i > 0; i--) sb.append(parts[r.nextInt(parts.length)]);
    return sb.toString();
  }

  /** The same value with the keys of every object in a random order: equal as JSON, maybe not in bytes. */
  private static JsonNode reordered(JsonNode v, Random r) {
    if (v.isArray()) {
      var a = Json.MAPPER.createArrayNode();
      v.forEach(item -> a.add(reordered(item, r)));
      return a;
    }
    if (!v.isObject()) return v;
    List<String> keys = new ArrayList<>();
    v.fieldNames().forEachRemaining(keys::add);
    Collections.shuffle(keys, r);
    ObjectNode o = Json.MAPPER.createObjectNode();
    for (String k : keys) o.set(k, reordered(v.get(k), r));
    return o;
  }

  private static Map<String, JsonNode> visible(Map<Key, Register> replica, String id) {
    Map<String, Register> doc = new HashMap<>();
    replica.forEach((k, r) -> {
      if (k.id().equals(id)) doc.put(k.attr(), r);
    });
    return Visibility.visible(doc);
  }
}
