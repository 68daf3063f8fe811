package dev.syncline.protocol;

import java.util.Random;

/** Pieces of random messages for the tests that compare a streaming decoder with the tree's. */
final class RandomJson {
  private RandomJson() {}

  /** A delta's value: mostly plain, often one a server refuses or the tree reads its own way. */
  static String value(Random r) {
    return pick(r, 0.4, "\"x\"", "1", "-7", "2147483648", "9223372036854775808", "-9223372036854775809", "0",
        "1.50", "1e2", "-0.0", "1E+3", "0.1", "1e400", "1e99999999999999999999", "true", "false", "null",
        "\"" + "y".repeat(30) + "\"", "\"ünï😀\"", "\"\\ud800x\"", "\"tab\\t\"", "{\"a\":[1,{\"b\":null}]}", "[]", "{}",
        "[1,2,\"three\"]", "{\"k\":\"\\udc00\"}", "{\"\\ud800\":1}", "{\"a\":1,\"a\":2}", "[{\"a\":1,\"b\":{\"c\":1,\"c\":1}}]", "[{\"a\":1},{\"a\":1}]",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
        "[" + "1,".repeat(12) + "1]", "tru", "\"unterminated");
  }

  /** A timestamp: mostly valid, of a few clients; else one with a part that is wrong, or not a string. */
  static String ts(Random r) {
    if (r.nextDouble() < 0.9) return "\"173221234567" + r.nextInt(10) + "-000" + r.nextInt(10) + "-c" + r.nextInt(5) + "\"";
    return pick(r, 0.0, "\"1732212345678-0000-\"", "\"1732212345678-00G0-a\"", "\"173221234567-0000-a\"", "1732212345678",
        "null", "\"1732212345678-0000-" + "o".repeat(65) + "\"", "\"1732212345678-0000-a b\"");
  }

  /** The first option with probability {@code first}, else any option uniformly. */
  static String pick(Random r, double first, String... options) {
    return r.nextDouble() < first ? options[0] : options[r.nextInt(options.length)];
  }
}
