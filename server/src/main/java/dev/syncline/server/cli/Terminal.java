package dev.syncline.server.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Help.Ansi;

/**
 * Whether to colour what the command line writes: only on a terminal, and never when
 * {@code NO_COLOR} is set (no-color.org). Picocli's own test asks whether the JVM has a console,
 * which on Java 17 means standard input and output are terminals; it then coloured standard
 * error too, so {@code syncline user add 2>errors.log} put escape codes in the file. This asks
 * about each stream.
 */
final class Terminal {
  /** File descriptors of the standard streams. */
  static final int STDOUT = 1;
  static final int STDERR = 2;

  private Terminal() {}

  /** {@link Ansi#ON} when file descriptor {@code fd} is a terminal and NO_COLOR is unset, else {@link Ansi#OFF}. */
  static Ansi ansi(int fd) {
    String noColor = System.getenv("NO_COLOR");
    return (noColor == null || noColor.isEmpty()) && isTerminal(fd) ? Ansi.ON : Ansi.OFF;
  }

  /**
   * True when {@code fd} is a terminal, told by where Linux's {@code /proc/self/fd} links it
   * ({@code /dev/pts/N}, {@code /dev/ttyN}). Java 17 has no portable way to ask about one
   * stream; elsewhere this says false, and nothing is coloured.
   */
  static boolean isTerminal(int fd) {
    try {
      String target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
      return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return false;
    }
  }
}
