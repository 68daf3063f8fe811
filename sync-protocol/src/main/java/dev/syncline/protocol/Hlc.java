package dev.syncline.protocol;

/**
 * A hybrid-logical-clock timestamp {@code MS-COUNTER-ORIGIN}: 13 decimal digits of epoch
 * milliseconds, 4 lowercase hex digits of counter, and the writer's id. Because the first two
 * parts are fixed-width, timestamps order correctly as plain strings, which is how every
 * replica compares them.
 */
public record Hlc(long ms, int counter, String origin) implements Comparable<Hlc> {

  /** Largest millisecond value that fits in 13 digits. */
  public static final long MAX_MS = 9_999_999_999_999L;
  /** Largest counter that fits in 4 hex digits. */
  public static final int MAX_COUNTER = 0xffff;
  /** Longest allowed origin. */
  public static final int MAX_ORIGIN_LENGTH = 64;

  public Hlc {
    if (ms < 0 || ms > MAX_MS) throw new IllegalArgumentException("ms out of range: " + ms);
    if (counter < 0 || counter > MAX_COUNTER) throw new IllegalArgumentException("counter out of range: " + counter);
    if (!isValidOrigin(origin)) throw new IllegalArgumentException("bad origin: " + origin);
  }

  /** Parses a timestamp, or throws {@link IllegalArgumentException} naming what is wrong. */
  public static Hlc parse(String ts) {
    if (!isValid(ts)) throw new IllegalArgumentException("not an HLC timestamp: " + ts);
    return new Hlc(Long.parseLong(ts, 0, 13, 10), Integer.parseInt(ts, 14, 18, 16), ts.substring(19));
  }

  /** True when {@code ts} has exactly the {@code MS-COUNTER-ORIGIN} shape. */
  public static boolean isValid(String ts) {
    if (ts == null || ts.length() < 20 || ts.length() > 19 + MAX_ORIGIN_LENGTH) return false;
    for (int i = 0; i < 13; i++) if (!isDigit(ts.charAt(i))) return false;
    if (ts.charAt(13) != '-' || ts.charAt(18) != '-') return false;
    for (int i = 14; i < 18; i++) if (!isLowerHex(ts.charAt(i))) return false;
    return isValidOrigin(ts, 19);
  }

  /** True for 1 to 64 characters of {@code [A-Za-z0-9_.:-]}. */
  public static boolean isValidOrigin(String origin) {
    return origin != null && origin.length() <= MAX_ORIGIN_LENGTH && isValidOrigin(origin, 0);
  }

  private static boolean isValidOrigin(String s, int from) {
    if (s.length() <= from) return false;
    for (int i = from; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c)
          || c == '_' || c == '.' || c == ':' || c == '-';
      if (!ok) return false;
    }
    return true;
  }

  /** The milliseconds part of a valid timestamp string, without parsing the rest. */
  public static long msOf(String ts) {
    return Long.parseLong(ts, 0, 13, 10);
  }

  /** Orders two timestamp strings; {@code null} (no write yet) sorts before everything. */
  public static int compare(String a, String b) {
    if (a == null) return b == null ? 0 : -1;
    if (b == null) return 1;
    return a.compareTo(b);
  }

  public String format() {
    StringBuilder sb = new StringBuilder(19 + origin.length());
    String msText = Long.toString(ms);
    for (int i = msText.length(); i < 13; i++) sb.append('0');
    sb.append(msText).append('-');
    String counterText = Integer.toHexString(counter);
    for (int i = counterText.length(); i < 4; i++) sb.append('0');
    return sb.append(counterText).append('-').append(origin).toString();
  }

  @Override
  public int compareTo(Hlc other) {
    int byMs = Long.compare(ms, other.ms);
    if (byMs != 0) return byMs;
    int byCounter = Integer.compare(counter, other.counter);
    return byCounter != 0 ? byCounter : origin.compareTo(other.origin);
  }

  @Override
  public String toString() {
    return format();
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static boolean isLowerHex(char c) {
    return isDigit(c) || (c >= 'a' && c <= 'f');
  }
}
