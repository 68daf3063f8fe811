package dev.syncline.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class VisibilityTest {
  private static final String T = "1732212345678";

  private static String ts(int counter) {
    return new Hlc(1_732_212_345_678L, counter, "a").format();
  }

  private static Map<String, Register> doc(Object... attrValueTs) {
    Map<String, Register> m = new LinkedHashMap<>();
    for (int i = 0; i < attrValueTs.length; i += 3) {
      Object v = attrValueTs[i + 1];
      JsonNode value = v == null ? NullNode.getInstance()
          : v instanceof Boolean b ? BooleanNode.valueOf(b) : TextNode.valueOf((String) v);
      m.put((String) attrValueTs[i], new Register(value, ts((Integer) attrValueTs[i + 2])));
    }
    return m;
  }

  @Test
  @DisplayName("a plain document shows its non-null attributes")
  void plain() {
    assertEquals(Map.of("title", TextNode.valueOf("x")), Visibility.visible(doc("title", "x", 1, "note", null, 2)));
  }

  @Test
  @DisplayName("a destroy hides what is not newer, and a later write brings back only itself")
  void destroyThenWrite() {
    assertNull(Visibility.visible(doc("title", "x", 1, Delta.DELETED, true, 2)));
    assertEquals(Map.of("done", TextNode.valueOf("y")),
        Visibility.visible(doc("title", "x", 1, Delta.DELETED, true, 2, "done", "y", 3)));
    assertEquals(T + "-0002-a", Visibility.deletedAt(doc("title", "x", 1, Delta.DELETED, true, 2)));
  }

  @Test
  @DisplayName("$deleted false is no destroy")
  void restored() {
    assertNull(Visibility.deletedAt(doc(Delta.DELETED, false, 5)));
    assertEquals(Map.of("title", TextNode.valueOf("x")), Visibility.visible(doc("title", "x", 1, Delta.DELETED, false, 5)));
  }

  @Test
  @DisplayName("the visible document keeps the order of the registers it was given")
  void keepsOrder() {
    Map<String, JsonNode> v = Visibility.visible(doc("b", "1", 1, "a", "2", 1, "c", "3", 1));
    assertEquals(java.util.List.of("b", "a", "c"), java.util.List.copyOf(v.keySet()));
  }

  /**
   * Property: for random registers, Visibility agrees with a direct transcription of PROTOCOL.md:
   * "A document is visible if it has a non-null attribute whose ts is greater than the ts of
   * $deleted = true, or if $deleted is absent or false. Its visible attributes are the non-null
   * ones newer than a $deleted = true." (A document with no registers at all does not exist.)
   */
  @Test
  @DisplayName("agrees with the rule as PROTOCOL.md words it, for random documents")
  void matchesSpecRule() {
    long seed = Long.getLong("syncline.seed", new Random().nextLong()); // -Dsyncline.seed=N replays a run
    Random random = new Random(seed);
    String[] names = {"title", "done", "note", Delta.OWNER, Delta.DELETED};
    for (int i = 0; i < 20_000; i++) {
      Map<String, Register> regs = new LinkedHashMap<>();
      for (String name : names) {
        if (random.nextInt(3) == 0) continue;
        JsonNode value = name.equals(Delta.DELETED) ? BooleanNode.valueOf(random.nextBoolean())
            : random.nextInt(3) == 0 ? NullNode.getInstance() : TextNode.valueOf("v" + random.nextInt(9));
        regs.put(name, new Register(value, new Hlc(1_732_212_345_678L + random.nextInt(3), random.nextInt(2),
            random.nextBoolean() ? "a" : "b").format()));
      }
      assertEquals(specRule(regs), Visibility.visible(regs), "seed " + seed + ", registers " + regs);
    }
  }

  private static Map<String, JsonNode> specRule(Map<String, Register> regs) {
    if (regs.isEmpty()) return null;
    Register deleted = regs.get(Delta.DELETED);
    boolean destroyed = deleted != null && deleted.value().booleanValue();
    Map<String, JsonNode> attrs = new LinkedHashMap<>();
    regs.forEach((name, r) -> {
      boolean newer = !destroyed || Hlc.parse(r.ts()).compareTo(Hlc.parse(deleted.ts())) > 0;
      if (!name.equals(Delta.DELETED) && !r.value().isNull() && newer) attrs.put(name, r.value());
    });
    boolean visible = !destroyed || !attrs.isEmpty();
    return visible ? attrs : null;
  }
}
