package dev.syncline.server.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The command line run on a terminal, made by util-linux's {@code script}: standard input and
 * output are the terminal, and standard error goes where the test redirects it.
 */
@DisplayName("Colour only on a terminal: nothing in files, nothing with NO_COLOR")
class ColourTest {
  private static final String ESC = "\u001b[";

  @Test
  @DisplayName("a mistake's usage written to a file holds no colour codes, though stdin and stdout are a terminal")
  void usageToFile() throws Exception {
    Path errors = Files.createTempFile("syncline-err", ".log");
    String onTerminal = onTerminal(Map.of(), "user add 2>" + errors);
    String err = Files.readString(errors);
    assertTrue(err.contains("Missing required parameter: 'USERNAME'") && err.contains("Usage: syncline user add"), err);
    assertFalse(err.contains(ESC), "no escape codes in the file: " + err);
    assertFalse(onTerminal.contains("Missing"), "the mistake went to the file: " + onTerminal);
  }

  @Test
  @DisplayName("help on a terminal is coloured, unless NO_COLOR is set; help written to a file is not")
  void helpOnTerminal() throws Exception {
    String coloured = onTerminal(Map.of(), "--help");
    assertTrue(coloured.contains("Usage:") && coloured.contains(ESC), coloured);
    String plain = onTerminal(Map.of("NO_COLOR", "1"), "--help");
    assertTrue(plain.contains("Usage:") && !plain.contains(ESC), plain);
    Path out = Files.createTempFile("syncline-help", ".txt");
    onTerminal(Map.of(), "user --help >" + out);
    String file = Files.readString(out);
    assertTrue(file.contains("Usage: syncline user") && !file.contains(ESC), file);
  }

  /** Runs {@code Main} with {@code args} (shell words, redirections allowed) on a terminal; returns what the terminal showed. */
  private static String onTerminal(Map<String, String> env, String args) throws Exception {
    assumeTrue(new File("/usr/bin/script").canExecute(), "util-linux script makes the terminal");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String command = "'" + java + "' -cp '" + System.getProperty("java.class.path") + "' dev.syncline.server.cli.Main " + args;
    ProcessBuilder builder = new ProcessBuilder(List.of("/usr/bin/script", "-q", "-e", "-c", command, "/dev/null"));
    builder.environment().keySet().removeIf(k -> k.startsWith("SYNCLINE_") || k.equals("NO_COLOR"));
    builder.environment().putAll(env);
    builder.redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    Process p = builder.start();
    String shown = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(2, TimeUnit.MINUTES), "still running");
    return shown;
  }
}
