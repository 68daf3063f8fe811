package dev.syncline.server.cli;

import java.io.Console;

/** Questions asked on the terminal; without one, the command says which variable to set instead. */
final class Prompt {
  private Prompt() {}

  /** A secret typed without echo. */
  static String secret(String what, String envInstead) {
    Console console = System.console();
    if (console == null) throw new CliException("no terminal to ask the " + what + ": set " + envInstead);
    char[] typed = console.readPassword("%s: ", what);
    if (typed == null || typed.length == 0) throw new CliException("no " + what + " given");
    return new String(typed);
  }

  /** A new secret, typed twice. */
  static String newSecret(String what, String envInstead) {
    String first = secret(what, envInstead);
    if (!first.equals(secret(what + " (again)", envInstead))) throw new CliException("the two " + what + "s differ");
    return first;
  }

  /** True when the operator typed {@code expected} to confirm. */
  static boolean confirm(String question, String expected) {
    Console console = System.console();
    if (console == null) return false;
    String answer = console.readLine("%s (type %s to confirm): ", question, expected);
    return expected.equals(answer == null ? null : answer.trim());
  }
}
