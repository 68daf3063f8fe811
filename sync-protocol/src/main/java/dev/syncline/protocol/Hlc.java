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

  /** The refusal of a timestamp that is missing or not a string. */
  public static final String MISSING = "ts: required, a string MS-COUNTER-ORIGIN";
  /** The refusal of a timestamp whose MS part is wrong (the first part that is wrong is named). */
  public static final String BAD_MS = "ts: ms must be 13 decimal digits (epoch milliseconds), then -";
  /** The refusal of a timestamp whose COUNTER part is wrong. */
  public static final String BAD_COUNTER = "ts: counter must be 4 lowercase hex digits, then -";
  /** The refusal of a timestamp whose ORIGIN part is wrong. */
  public static final String BAD_ORIGIN = "ts: origin must be 1 to 64 of [A-Za-z0-9_.:-]";

  /** Parses a timestamp, or throws {@link IllegalArgumentException} naming the part that is wrong. */
  public static Hlc parse(String ts) {
    String fault = fault(ts);
    if (fault != null) throw new IllegalArgumentException(fault + ": " + ts);
    return new Hlc(Long.parseLong(ts, 0, 13, 10), Integer.parseInt(ts, 14, 18, 16), ts.substring(19));
  }

  /** True when {@code ts} has exactly the {@code MS-COUNTER-ORIGIN} shape. */
  public static boolean isValid(String ts) {
    return fault(ts) == null;
  }

  /**
   * Why {@code ts} is not a timestamp, or null when it is one. The parts are read by position
   * from the left, and the first that is wrong is named: {@link #BAD_MS}, {@link #BAD_COUNTER},
   * {@link #BAD_ORIGIN} (or {@link #MISSING} for null).
   */
  public static String fault(String ts) {
    if (ts == null) return MISSING;
    int n = ts.length();
    for (int i = 0; i < 13; i++) if (i >= n || !isDigit(ts.charAt(i))) return BAD_MS;
    if (n > 13 && ts.charAt(13) != '-') return BAD_MS;
    for (int i = 14; i < 18; i++) if (i >= n || !isLowerHex(ts.charAt(i))) return BAD_COUNTER;
    if (n > 18 && ts.charAt(18) != '-') return BAD_COUNTER;
    return n - 19 <= MAX_ORIGIN_LENGTH && isValidOrigin(ts, 19) ? null : BAD_ORIGIN;
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
