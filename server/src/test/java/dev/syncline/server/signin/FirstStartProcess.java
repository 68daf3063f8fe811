package dev.syncline.server.signin;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The server's command line in a JVM of its own with no {@code SYNCLINE_*} variables in its
 * environment (unlike the shared ServerProcess, which always sets the admin password), so a first
 * start must make the admin password up. Every line of its output (stdout and stderr) is kept.
 */
final class FirstStartProcess implements AutoCloseable {
  private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");

  private final Process process;
  private final int port;
  private final List<String> output;
  private final Thread reader;
  private final Path config;

  private FirstStartProcess(Process process, int port, List<String> output, Thread reader, Path config) {
    this.process = process;
    this.port = port;
    this.output = output;
    this.reader = reader;
    this.config = config;
  }

  static FirstStartProcess start(Path data, String configJson) throws Exception {
    Path config = Files.createTempFile("syncline-signin-config", ".json");
    Files.writeString(config, configJson);
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of("-Xmx256m", "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
        "-cp", System.getProperty("java.class.path"),
        "dev.syncline.server.cli.Main", "--port", "0", "--data", data.toString(), "--config", config.toString()));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().keySet().removeIf(k -> k.startsWith("SYNCLINE_"));
    Process process = builder.start();
    List<String> output = new ArrayList<>();
    CompletableFuture<Integer> port = new CompletableFuture<>();
    BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    Thread reader = new Thread(() -> {
      try {
        for (String line; (line = out.readLine()) != null; ) {
          synchronized (output) {
            output.add(line);
          }
          Matcher m = LISTENING.matcher(line);
          if (m.find()) port.complete(Integer.parseInt(m.group(1)));
        }
        port.completeExceptionally(new AssertionError("server exited without listening: " + output));
      } catch (IOException e) {
        port.completeExceptionally(e);
      }
    }, "first-start-output");
    reader.setDaemon(true);
    reader.start();
    try {
      return new FirstStartProcess(process, port.get(60, TimeUnit.SECONDS), output, reader, config);
    } catch (Exception e) {
      process.destroyForcibly();
      Files.deleteIfExists(config);
      throw new AssertionError("server did not start; output: " + output, e);
    }
  }

  int port() {
    return port;
  }

  /** Every line so far. */
  String output() {
    synchronized (output) {
      return String.join("\n", output);
    }
  }

  /** SIGTERM, then waits for the exit and for the last of its output. */
  String stop() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    reader.join(10_000);
    return output();
  }

  @Override
  public void close() {
    process.destroyForcibly();
    try {
      Files.deleteIfExists(config);
    } catch (IOException ignored) {
      // a temp file left behind is harmless
    }
  }
}
