package dev.syncline.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The streaming reader of peers' {@code changes} pages against the tree reader a server used
 * before it ({@link Json#MAPPER} then {@link MessageCodec#decodeStoredDelta} per delta, the page's
 * {@code sid} and {@code seq} as read from the tree). Random pages, most well-formed, some with a
 * fault (a field missing or of the wrong type, an empty or NUL name, a bad timestamp, a duplicate
 * key, trailing garbage): the streaming reader must give exactly what the tree gives, and decline
 * exactly when the tree refuses. Set {@code -Dchanges.seed=N} to replay a failure.
 */
class StreamedChangesTest {

  /** What a server read from a page before: sid, seq and deltas, or null when it failed the link. */
  private static ServerMessage.Changes throughTheTree(String text) {
    try {
      JsonNode m = Json.MAPPER.readTree(text);
      if (!m.path("type").asText().equals("changes") || !m.path("sid").isTextual() || !m.path("db").isTextual()
          || !m.path("seq").canConvertToLong() || !m.path("seq").isIntegralNumber() || m.path("seq").asLong() < 0) {
        return null;
      }
      JsonNode array = m.get("deltas");
      if (array == null || !array.isArray()) return null;
      List<Delta> deltas = new ArrayList<>();
      for (JsonNode d : array) deltas.add(MessageCodec.decodeStoredDelta(d));
      return new ServerMessage.Changes(m.get("sid").textValue(), m.get("db").textValue(), m.get("seq").asLong(), deltas);
    } catch (Exception e) {
      return null;
    }
  }

  @Test
  @DisplayName("the streaming reader gives what the tree gives, and declines where the tree fails")
  void agreesWithTheTree() {
    long base = Long.getLong("changes.seed", new Random().nextLong());
    int read = 0;
    int refused = 0;
    for (int round = 0; round < 10_000; round++) {
      long seed = base + round;
      Random r = new Random(seed);
      String text = page(r);
      String why = "seed " + seed + " (replay with -Dchanges.seed=" + seed + "): " + text;
      ServerMessage.Changes tree = throughTheTree(text);
      ServerMessage.Changes streamed = StreamedChanges.decode(text);
      if (tree == null) {
        assertNull(streamed, "streamed a page the tree refuses, " + why);
        refused++;
      } else {
        if (streamed == null) fail("the tree reads this page but the streaming reader declined it, " + why);
        assertEquals(tree, streamed, why);
        read++;
      }
    }
    assertTrue(read > 2_500 && refused > 1_500, "read " + read + ", refused " + refused + ", seed " + base);
  }

  @Test
  @DisplayName("a page as the hub writes it is read whole, and other messages are left to the tree")
  void hubPage() {
    String page = "{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"todo\",\"seq\":9,\"deltas\":["
        + "{\"col\":\"c\",\"id\":\"i\",\"attr\":\"$owner\",\"value\":\"alice\",\"ts\":\"1732212345678-0000-c7f3a\",\"seq\":8},"
        + "{\"col\":\"c\",\"id\":\"i\",\"attr\":\"a\",\"value\":{\"x\":[1.50,null]},\"ts\":\"1732212345678-0000-c7f3a\",\"seq\":9}]}";
    ServerMessage.Changes c = StreamedChanges.decode(page);
    assertNotNull(c);
    assertEquals(throughTheTree(page), c);
    assertEquals("$owner", c.deltas().get(0).attr());
    assertNull(StreamedChanges.decode("{\"type\":\"synced\",\"sid\":\"s1\",\"seq\":9}"));
  }

  private static String page(Random r) {
    List<String> fields = new ArrayList<>();
    fields.add("\"type\":" + pick(r, 0.95, "\"changes\"", "\"synced\"", "1"));
    if (r.nextDouble() < 0.98) fields.add("\"sid\":" + pick(r, 0.95, "\"s1\"", "1", "null"));
    if (r.nextDouble() < 0.98) fields.add("\"db\":" + pick(r, 0.95, "\"todo\"", "[]"));
    if (r.nextDouble() < 0.98) fields.add("\"seq\":" + pick(r, 0.9, "" + r.nextInt(1_000_000), "-1", "1.5", "\"7\"",
        "99999999999999999999", "9223372036854775807"));
    if (r.nextDouble() < 0.98) fields.add("\"deltas\":" + deltas(r));
    if (r.nextDouble() < 0.05) fields.add("\"extra\":" + pick(r, 0.5, "{\"a\":[1]}", "\"x\""));
    if (r.nextDouble() < 0.01) fields.add(fields.get(r.nextInt(fields.size())));
    if (r.nextDouble() < 0.3) Collections.shuffle(fields, r);
    String text = "{" + String.join(",", fields) + "}";
    if (r.nextDouble() < 0.01) text += pick(r, 0.5, "x", "{}");
    return text;
  }

  private static String deltas(Random r) {
    if (r.nextDouble() < 0.02) return pick(r, 0.5, "{}", "null", "[1]");
    List<String> ds = new ArrayList<>();
    for (int i = r.nextInt(5); i >= 0; i--) ds.add(delta(r));
    return "[" + String.join(",", ds) + "]";
  }

  private static String delta(Random r) {
    List<String> fields = new ArrayList<>();
    if (r.nextDouble() < 0.98) fields.add("\"col\":" + name(r, "c"));
    if (r.nextDouble() < 0.98) fields.add("\"id\":" + name(r, "i"));
    if (r.nextDouble() < 0.98) fields.add("\"attr\":" + name(r, "a"));
    if (r.nextDouble() < 0.98) fields.add("\"value\":" + pick(r, 0.4, "\"x\"", "1", "2147483648", "12345678901234567890123",
        "1.50", "-0.0", "1e2", "true", "null", "{\"k\":[1,{\"z\":null}]}", "[]", "{\"a\":1,\"a\":2}", "\"😀\\u00e9\""));
    if (r.nextDouble() < 0.98) fields.add("\"ts\":" + pick(r, 0.97, "\"1732212345678-000" + r.nextInt(10) + "-c" + r.nextInt(3) + "\"",
        "\"1732212345678-0000-\"", "\"17322-0000-a\"", "5", "null"));
    if (r.nextDouble() < 0.5) fields.add("\"seq\":" + r.nextInt(1000));
    if (r.nextDouble() < 0.03) fields.add("\"owner\":" + pick(r, 0.5, "\"alice\"", "[{\"deep\":true}]"));
    if (r.nextDouble() < 0.01) fields.add(fields.get(r.nextInt(fields.size())));
    if (r.nextDouble() < 0.3) Collections.shuffle(fields, r);
    return "{" + String.join(",", fields) + "}";
  }

  private static String name(Random r, String plain) {
    return pick(r, 0.97, "\"" + plain + r.nextInt(3) + "\"", "\"\"", "\"a\\u0000b\"", "\"$owner\"", "3", "null", "\"zoë\"");
  }

  private static String pick(Random r, double first, String... options) {
    return r.nextDouble() < first ? options[0] : options[r.nextInt(options.length)];
  }
}
