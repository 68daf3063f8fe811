package dev.syncline.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.node.TextNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The streaming push decoder against the tree decoder, which owns every refusal. Random pushes,
 * most of them well-formed and many with one fault somewhere (a field of the wrong type, a
 * reserved or overlong name, a bad timestamp, a value too large, a duplicate key, an unknown
 * field, trailing garbage), are given to both: whatever the streaming pass takes must be exactly
 * what the tree decodes, and every push the tree takes whole, with no field it ignores, must be
 * taken by the streaming pass too (else the fast path is dead code).
 *
 * <p>Set {@code -Dpush.seed=N} to replay a failure; every failure names its seed.
 */
class StreamedPushTest {
  /** Small limits, so that overlong names, large values and long pushes come up often. */
  private static final Limits LIMITS = new Limits(1 << 20, 6, 8, 8, 8, 24, 60_000, 100);

  private static final String TS = "1732212345678-0000-c7f3a";

  @Test
  @DisplayName("the streaming pass takes exactly the pushes the tree takes whole, decoded the same")
  void agreesWithTheTree() {
    long base = Long.getLong("push.seed", new Random().nextLong());
    int streamed = 0;
    int refused = 0;
    for (int round = 0; round < 20_000; round++) {
      long seed = base + round;
      Random r = new Random(seed);
      Generated g = push(r);
      String why = "seed " + seed + " (replay with -Dpush.seed=" + seed + "): " + g.text;
      ClientMessage.Push fast = StreamedPush.decode(g.text, LIMITS);
      ClientMessage tree;
      try {
        tree = MessageCodec.decodeTree(g.text, LIMITS);
      } catch (ProtocolException e) {
        assertNull(fast, "streamed a push the tree refuses (" + e.getMessage() + "), " + why);
        refused++;
        continue;
      }
      boolean whole = tree instanceof ClientMessage.Push p && p.rejects().stream().allMatch(Objects::isNull);
      if (fast != null) {
        assertEquals(tree, fast, why);
        streamed++;
      } else if (whole && !g.hasIgnoredField) {
        fail("the tree takes this push whole but the streaming pass declined it, " + why);
      }
    }
    // the generator must reach both sides often, or the comparison says little
    assertTrue(streamed > 2_000, "only " + streamed + " pushes streamed, seed " + base);
    assertTrue(refused > 2_000, "only " + refused + " pushes refused, seed " + base);
  }

  @Test
  @DisplayName("decodeClient answers a plain push from the streaming pass and anything else from the tree")
  void decodeClientUsesBoth() throws ProtocolException {
    String plain = "{\"type\":\"push\",\"rid\":7,\"db\":\"d\",\"deltas\":[{\"col\":\"c\",\"id\":\"i\",\"attr\":\"a\","
        + "\"value\":\"x\",\"ts\":\"" + TS + "\"}]}";
    assertNotNull(StreamedPush.decode(plain, LIMITS));
    assertEquals(MessageCodec.decodeTree(plain, LIMITS), MessageCodec.decodeClient(plain, LIMITS));
    // one delta refused: the tree's per-delta rejects, with the rest kept
    String oneBad = plain.replace("]}", ",{\"col\":\"$c\",\"id\":\"i\",\"attr\":\"a\",\"value\":1,\"ts\":\"" + TS + "\"}]}");
    assertNull(StreamedPush.decode(oneBad, LIMITS));
    ClientMessage.Push p = assertInstanceOf(ClientMessage.Push.class, MessageCodec.decodeClient(oneBad, LIMITS));
    assertNotNull(p.deltas().get(0));
    assertEquals("col: names starting with $ are reserved", p.rejects().get(1).getMessage());
    // another type is not the streaming pass's business
    assertNull(StreamedPush.decode("{\"type\":\"ping\",\"rid\":1}", LIMITS));
  }

  // ---- the generator ----

  private record Generated(String text, boolean hasIgnoredField) {}

  private static Generated push(Random r) {
    boolean[] ignored = {false};
    List<String> fields = new ArrayList<>();
    fields.add("\"type\":" + pick(r, 0.97, "\"push\"", "\"ping\"", "\"pus\"", "1", "null"));
    if (r.nextDouble() < 0.8) fields.add("\"rid\":" + rid(r));
    if (r.nextDouble() < 0.98) fields.add("\"db\":" + pick(r, 0.9, "\"d\"", "\"\"", "\"$system\"", "\"a b\"", "7", "null"));
    if (r.nextDouble() < 0.3) fields.add("\"w\":" + pick(r, 0.6, "1", "2", "64", "0", "65", "1.0", "\"1\"", "null", "-1"));
    if (r.nextDouble() < 0.98) fields.add("\"deltas\":" + deltas(r, ignored));
    if (r.nextDouble() < 0.03) {
      fields.add("\"extra\":" + pick(r, 0.5, "1", "\"x\"", "{\"a\":[1,2]}", "\"\\ud800\""));
      ignored[0] = true;
    }
    if (r.nextDouble() < 0.01) fields.add(fields.get(r.nextInt(fields.size()))); // a duplicate key
    Collections.shuffle(fields, r);
    String text = "{" + String.join(",", fields) + "}";
    if (r.nextDouble() < 0.01) text += pick(r, 0.5, " ", "{}", "x", "]");
    if (r.nextDouble() < 0.01) text = text.substring(0, r.nextInt(text.length()));
    return new Generated(text, ignored[0]);
  }

  private static String rid(Random r) {
    return pick(r, 0.5, "1", "\"r-1\"", "null", "2147483648", "-5", "12345678901234567890", "1.5", "true",
        "\"" + "x".repeat(129) + "\"", "\"\\udc00\"", "[1]", "\"😀\"");
  }

  private static String deltas(Random r, boolean[] ignored) {
    if (r.nextDouble() < 0.02) return pick(r, 0.5, "[]", "{}", "\"deltas\"", "null");
    int n = 1 + r.nextInt(r.nextDouble() < 0.1 ? 9 : 4); // sometimes over the limit of 6
    List<String> deltas = new ArrayList<>();
    for (int i = 0; i < n; i++) deltas.add(r.nextDouble() < 0.01 ? pick(r, 0.5, "1", "null", "[]", "\"d\"") : delta(r, ignored));
    return "[" + String.join(",", deltas) + "]";
  }

  private static String delta(Random r, boolean[] ignored) {
    List<String> fields = new ArrayList<>();
    String attr = pick(r, 0.85, "a", "b", "$deleted", "$owner", "", "a\u0000", "abcdefghi", "é", "\ud800");
    if (r.nextDouble() < 0.99) fields.add("\"col\":" + name(r, "c"));
    if (r.nextDouble() < 0.99) fields.add("\"id\":" + name(r, "i"));
    if (r.nextDouble() < 0.99) fields.add("\"attr\":" + (r.nextDouble() < 0.98 ? TextNode.valueOf(attr).toString() : "3"));
    if (r.nextDouble() < 0.99) fields.add("\"value\":" + value(r, attr));
    if (r.nextDouble() < 0.99) fields.add("\"ts\":" + ts(r));
    if (r.nextDouble() < 0.02) {
      fields.add("\"seq\":" + pick(r, 0.5, "5", "\"\\udfff\"", "1e999"));
      ignored[0] = true;
    }
    if (r.nextDouble() < 0.005) fields.add(fields.get(r.nextInt(fields.size())));
    if (r.nextDouble() < 0.5) Collections.shuffle(fields, r);
    return "{" + String.join(",", fields) + "}";
  }

  private static String name(Random r, String plain) {
    if (r.nextDouble() < 0.9) return "\"" + plain + r.nextInt(3) + "\"";
    return pick(r, 0.0, "\"\"", "\"$x\"", "\"a\\u0000b\"", "\"abcdefghi\"", "\"abcdefgh\"", "\"😀😀😀😀😀😀😀😀\"",
        "\"\\ud83d\"", "\"q\\\"uote\"", "5", "null", "[\"a\"]", "\"a/b\"");
  }

  private static String value(Random r, String attr) {
    if (attr.equals("$deleted") && r.nextDouble() < 0.7) return r.nextBoolean() ? "true" : "false";
    return pick(r, 0.4, "\"x\"", "1", "-7", "2147483648", "9223372036854775808", "-9223372036854775809", "0",
        "1.50", "1e2", "-0.0", "1E+3", "0.1", "1e400", "1e99999999999999999999", "true", "false", "null",
        "\"" + "y".repeat(30) + "\"", "\"ünï😀\"", "\"\\ud800x\"", "\"tab\\t\"", "{\"a\":[1,{\"b\":null}]}", "[]", "{}",
        "[1,2,\"three\"]", "{\"k\":\"\\udc00\"}", "{\"\\ud800\":1}", "{\"a\":1,\"a\":2}", "[{\"a\":1,\"b\":{\"c\":1,\"c\":1}}]", "[{\"a\":1},{\"a\":1}]",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
        "[" + "1,".repeat(12) + "1]", "tru", "\"unterminated");
  }

  private static String ts(Random r) {
    if (r.nextDouble() < 0.9) return "\"173221234567" + r.nextInt(10) + "-000" + r.nextInt(10) + "-c" + r.nextInt(5) + "\"";
    return pick(r, 0.0, "\"1732212345678-0000-\"", "\"1732212345678-00G0-a\"", "\"173221234567-0000-a\"", "1732212345678",
        "null", "\"1732212345678-0000-" + "o".repeat(65) + "\"", "\"1732212345678-0000-a b\"");
  }

  /** The first option with probability {@code first}, else any option uniformly. */
  private static String pick(Random r, double first, String... options) {
    return r.nextDouble() < first ? options[0] : options[r.nextInt(options.length)];
  }
}
