package dev.syncline.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class HlcTest {
  private static final String ORIGIN_CHARS =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-";

  @Test
  @DisplayName("format zero-pads ms to 13 digits and the counter to 4 lowercase hex digits")
  void formatPads() {
    assertEquals("0000000000000-0000-a", new Hlc(0, 0, "a").format());
    assertEquals("0000000000042-00ab-n1", new Hlc(42, 0xab, "n1").format());
    assertEquals("9999999999999-ffff-z", new Hlc(Hlc.MAX_MS, Hlc.MAX_COUNTER, "z").format());
    assertEquals("1732212345678-0000-c7f3a", new Hlc(1732212345678L, 0, "c7f3a").toString());
  }

  @Test
  @DisplayName("the constructor refuses what cannot be written in the fixed-width format")
  void constructorRefusesOutOfRange() {
    assertThrows(IllegalArgumentException.class, () -> new Hlc(-1, 0, "a"));
    assertThrows(IllegalArgumentException.class, () -> new Hlc(Hlc.MAX_MS + 1, 0, "a"));
    assertThrows(IllegalArgumentException.class, () -> new Hlc(0, -1, "a"));
    assertThrows(IllegalArgumentException.class, () -> new Hlc(0, Hlc.MAX_COUNTER + 1, "a"));
    assertThrows(IllegalArgumentException.class, () -> new Hlc(0, 0, ""));
    assertThrows(IllegalArgumentException.class, () -> new Hlc(0, 0, null));
    assertThrows(IllegalArgumentException.class, () -> new Hlc(0, 0, "a b"));
    assertThrows(IllegalArgumentException.class, () -> new Hlc(0, 0, "x".repeat(65)));
  }

  @Test
  @DisplayName("null (a register never written) orders before every timestamp")
  void nullOrdersFirst() {
    assertEquals(0, Hlc.compare(null, null));
    assertTrue(Hlc.compare(null, "0000000000000-0000-0") < 0);
    assertTrue(Hlc.compare("0000000000000-0000-0", null) > 0);
  }

  @Test
  @DisplayName("isValid refuses null and strings cut anywhere")
  void isValidRefusesPrefixes() {
    assertFalse(Hlc.isValid(null));
    String ts = "1732212345678-00ff-c7f3a";
    for (int i = 0; i < 20; i++) assertFalse(Hlc.isValid(ts.substring(0, i)), ts.substring(0, i));
    assertTrue(Hlc.isValid(ts));
  }

  @Test
  @DisplayName("string order equals (ms, counter, origin) order, and parse inverts format, for random timestamps")
  void stringOrderMatchesFieldOrder() {
    long seed = Long.getLong("syncline.seed", new Random().nextLong()); // -Dsyncline.seed=N replays a run
    Random random = new Random(seed);
    for (int i = 0; i < 20_000; i++) {
      Hlc a = random(random);
      Hlc b = random.nextInt(4) == 0 ? near(random, a) : random(random);
      String sa = a.format();
      String sb = b.format();
      String why = "seed " + seed + ": " + sa + " vs " + sb;
      assertEquals(a, Hlc.parse(sa), why);
      assertEquals(Integer.signum(a.compareTo(b)), Integer.signum(sa.compareTo(sb)), why);
      assertEquals(Integer.signum(a.compareTo(b)), Integer.signum(Hlc.compare(sa, sb)), why);
    }
  }

  /** Random timestamps that often share ms or counter, so the later fields decide. */
  private static Hlc random(Random r) {
    long ms = r.nextBoolean() ? r.nextInt(3) : (long) (r.nextDouble() * Hlc.MAX_MS);
    int counter = r.nextBoolean() ? r.nextInt(3) : r.nextInt(Hlc.MAX_COUNTER + 1);
    return new Hlc(ms, counter, origin(r));
  }

  private static Hlc near(Random r, Hlc a) {
    return switch (r.nextInt(3)) {
      case 0 -> new Hlc(a.ms(), a.counter(), origin(r));
      case 1 -> new Hlc(a.ms(), r.nextInt(Hlc.MAX_COUNTER + 1), a.origin());
      // an origin that extends the other: the shorter one orders first
      default -> a.origin().length() == Hlc.MAX_ORIGIN_LENGTH ? a
          : new Hlc(a.ms(), a.counter(), a.origin() + ORIGIN_CHARS.charAt(r.nextInt(ORIGIN_CHARS.length())));
    };
  }

  private static String origin(Random r) {
    int n = 1 + (r.nextInt(4) == 0 ? r.nextInt(Hlc.MAX_ORIGIN_LENGTH) : r.nextInt(3));
    StringBuilder sb = new StringBuilder(n);
    for (int i = 0; i < n; i++) sb.append(ORIGIN_CHARS.charAt(r.nextInt(ORIGIN_CHARS.length())));
    return sb.toString();
  }
}
