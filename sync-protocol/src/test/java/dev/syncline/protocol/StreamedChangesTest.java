package dev.syncline.protocol;

import static dev.syncline.protocol.RandomJson.pick;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The streaming {@code changes} decoder against the tree's ({@link MessageCodec#decodeChanges}),
 * which owns every refusal, on random frames: most as a server sends them, many with one fault (a
 * field missing or of the wrong type, an empty or NUL name, a bad timestamp, a value no server
 * stores, a duplicate key, an unknown field, trailing garbage). Whatever the streaming pass takes
 * must be exactly what the tree decodes, and every frame the tree takes with no field it passes
 * over must be taken by the streaming pass too.
 *
 * <p>Set {@code -Dchanges.seed=N} to replay a failure; every failure names its seed.
 */
class StreamedChangesTest {
  private static final String TS = "1732212345678-0000-c7f3a";

  @Test
  @DisplayName("the streaming pass takes exactly the changes frames the tree takes, decoded the same")
  void agreesWithTheTree() {
    long base = Long.getLong("changes.seed", new Random().nextLong());
    int streamed = 0;
    int refused = 0;
    for (int round = 0; round < 20_000; round++) {
      long seed = base + round;
      Random r = new Random(seed);
      Generated g = frame(r);
      String why = "seed " + seed + " (replay with -Dchanges.seed=" + seed + "): " + g.text;
      ServerMessage.Changes fast = MessageCodec.decodePlainChanges(g.text);
      ServerMessage.Changes tree;
      try {
        JsonNode m = Json.MAPPER.readTree(g.text);
        if (!m.path("type").asText().equals("changes")) throw new IllegalArgumentException("another type");
        tree = MessageCodec.decodeChanges(m);
      } catch (Exception e) {
        assertNull(fast, "streamed a frame the tree refuses (" + e.getMessage() + "), " + why);
        refused++;
        continue;
      }
      if (fast != null) {
        assertEquals(tree, fast, why);
        streamed++;
      } else if (!g.hasIgnoredField) {
        fail("the tree takes this frame but the streaming pass declined it, " + why);
      }
    }
    assertTrue(streamed > 2_000, "only " + streamed + " frames streamed, seed " + base);
    assertTrue(refused > 2_000, "only " + refused + " frames refused, seed " + base);
  }

  @Test
  @DisplayName("a server's frame is read whole, deltas without their seq; a fault is named by the tree")
  void serversFrame() {
    String frame = "{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"d\",\"seq\":12,\"deltas\":["
        + "{\"col\":\"c\",\"id\":\"i\",\"attr\":\"a\",\"value\":{\"n\":[1,2]},\"ts\":\"" + TS + "\",\"seq\":11},"
        + "{\"col\":\"c\",\"id\":\"i\",\"attr\":\"$owner\",\"value\":\"u\",\"ts\":\"" + TS + "\",\"seq\":12}]}";
    ServerMessage.Changes c = MessageCodec.decodePlainChanges(frame);
    assertNotNull(c);
    assertEquals(new ServerMessage.Changes("s1", "d", 12, List.of(
        new Delta("c", "i", "a", Json.MAPPER.createObjectNode().set("n", Json.MAPPER.createArrayNode().add(1).add(2)), TS),
        new Delta("c", "i", "$owner", TextNode.valueOf("u"), TS))), c);
    // an empty collection name: declined here, and the tree says which field
    String bad = frame.replace("{\"col\":\"c\",\"id\":\"i\",\"attr\":\"a\"", "{\"col\":\"\",\"id\":\"i\",\"attr\":\"a\"");
    assertNull(MessageCodec.decodePlainChanges(bad));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> MessageCodec.decodeChanges(Json.MAPPER.readTree(bad)));
    assertTrue(e.getMessage().startsWith("col: "), e.getMessage());
    // another type is declined at its first field
    assertNull(MessageCodec.decodePlainChanges("{\"type\":\"synced\",\"sid\":\"s1\",\"seq\":12}"));
  }

  // ---- the generator ----

  private record Generated(String text, boolean hasIgnoredField) {}

  private static Generated frame(Random r) {
    boolean[] ignored = {false};
    List<String> fields = new ArrayList<>();
    fields.add("\"type\":" + pick(r, 0.97, "\"changes\"", "\"synced\"", "\"change\"", "1", "null"));
    if (r.nextDouble() < 0.98) fields.add("\"sid\":" + pick(r, 0.95, "\"s1\"", "\"\"", "7", "null", "\"a\\u0000\""));
    if (r.nextDouble() < 0.98) fields.add("\"db\":" + pick(r, 0.95, "\"d\"", "\"\"", "\"$system\"", "\"a b\"", "7", "null"));
    if (r.nextDouble() < 0.98) fields.add("\"seq\":" + seq(r));
    if (r.nextDouble() < 0.98) fields.add("\"deltas\":" + deltas(r, ignored));
    if (r.nextDouble() < 0.03) {
      fields.add("\"extra\":" + pick(r, 0.5, "1", "\"x\"", "{\"a\":[1,2]}", "\"\\ud800\""));
      ignored[0] = true;
    }
    if (r.nextDouble() < 0.01) fields.add(fields.get(r.nextInt(fields.size()))); // a duplicate key
    if (r.nextDouble() < 0.3) Collections.shuffle(fields, r);
    String text = "{" + String.join(",", fields) + "}";
    if (r.nextDouble() < 0.01) text += pick(r, 0.5, " ", "{}", "x", "]");
    if (r.nextDouble() < 0.01) text = text.substring(0, r.nextInt(text.length()));
    return new Generated(text, ignored[0]);
  }

  private static String seq(Random r) {
    return pick(r, 0.9, String.valueOf(r.nextInt(1000)), "0", "-1", "1.0", "\"5\"", "null", "9223372036854775807",
        "9223372036854775808", "1e3", "true");
  }

  private static String deltas(Random r, boolean[] ignored) {
    if (r.nextDouble() < 0.02) return pick(r, 0.5, "[]", "{}", "\"deltas\"", "null");
    int n = r.nextInt(r.nextDouble() < 0.1 ? 20 : 5);
    List<String> deltas = new ArrayList<>();
    for (int i = 0; i < n; i++) deltas.add(r.nextDouble() < 0.01 ? pick(r, 0.5, "1", "null", "[]", "\"d\"") : delta(r, ignored));
    return "[" + String.join(",", deltas) + "]";
  }

  private static String delta(Random r, boolean[] ignored) {
    List<String> fields = new ArrayList<>();
    if (r.nextDouble() < 0.99) fields.add("\"col\":" + name(r, "c"));
    if (r.nextDouble() < 0.99) fields.add("\"id\":" + name(r, "i"));
    if (r.nextDouble() < 0.99) fields.add("\"attr\":" + pick(r, 0.9, "\"a\"", "\"$owner\"", "\"$deleted\"", "\"\"", "\"é\"", "3"));
    if (r.nextDouble() < 0.99) fields.add("\"value\":" + RandomJson.value(r));
    if (r.nextDouble() < 0.99) fields.add("\"ts\":" + RandomJson.ts(r));
    if (r.nextDouble() < 0.9) {
      String seq = seq(r);
      fields.add("\"seq\":" + seq);
      // the tree passes over a delta's seq, whatever it holds; the streaming pass declines a bad one
      if (!seq.matches("[0-9]+") || seq.length() >= 19) ignored[0] = true;
    }
    if (r.nextDouble() < 0.01) {
      fields.add("\"owner\":\"u\"");
      ignored[0] = true;
    }
    if (r.nextDouble() < 0.005) fields.add(fields.get(r.nextInt(fields.size())));
    if (r.nextDouble() < 0.3) Collections.shuffle(fields, r);
    return "{" + String.join(",", fields) + "}";
  }

  private static String name(Random r, String plain) {
    if (r.nextDouble() < 0.95) return "\"" + plain + r.nextInt(3) + "\"";
    return pick(r, 0.0, "\"\"", "\"$x\"", "\"a\\u0000b\"", "\"😀\"", "\"\\ud83d\"", "\"q\\\"uote\"", "5", "null", "[\"a\"]");
  }
}
