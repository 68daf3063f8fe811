package dev.syncline.server.testing;

import dev.syncline.server.auth.Policy;
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
 * The server's command line in a JVM of its own: for tests of signals, exit, and memory that must
 * not be mixed with the test's own heap. Its output is scanned for the address it logs.
 */
public final class ServerProcess implements AutoCloseable {
  private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");

  private final Process process;
  private final int port;
  private final List<String> output;
  private final java.util.concurrent.atomic.AtomicReference<String> watchedFor;
  private final java.util.concurrent.atomic.AtomicInteger watchedLines;

  private ServerProcess(Process process, int port, List<String> output, java.util.concurrent.atomic.AtomicReference<String> watchedFor,
      java.util.concurrent.atomic.AtomicInteger watchedLines) {
    this.process = process;
    this.port = port;
    this.output = output;
    this.watchedFor = watchedFor;
    this.watchedLines = watchedLines;
  }

  /** From now on, counts the lines of output that contain {@code text} (see {@link #watchedLines}). */
  public void watchFor(String text) {
    watchedLines.set(0);
    watchedFor.set(text);
  }

  /** How many lines contained the text given to {@link #watchFor} since. */
  public int watchedLines() {
    return watchedLines.get();
  }

  /** The process id, for {@code jcmd}. */
  public long pid() {
    return process.pid();
  }

  /** The process's recent output, for failure messages. */
  public String recentOutput() {
    synchronized (output) {
      return String.join("\n", output);
    }
  }

  /** Starts {@code Main --port 0 --data DATA --config CONFIG} with the given JVM options. */
  public static ServerProcess start(Path data, String configJson, String... jvmOptions) throws Exception {
    Path config = Files.createTempFile("syncline-config", ".json");
    config.toFile().deleteOnExit();
    Files.writeString(config, configJson);
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of(jvmOptions));
    command.addAll(List.of("--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
        "dev.syncline.server.cli.Main", "--port", "0", "--data", data.toString(), "--config", config.toString()));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    // the same admin and open new databases as TestServer
    builder.environment().put("SYNCLINE_ADMIN_PASSWORD", TestServer.ADMIN_PASSWORD);
    builder.environment().put("SYNCLINE_NEW_DATABASE_POLICY", Policy.OPEN.toJson().toString());
    Process process = builder.start();
    List<String> output = new java.util.LinkedList<>();
    var watchedFor = new java.util.concurrent.atomic.AtomicReference<String>();
    var watchedLines = new java.util.concurrent.atomic.AtomicInteger();
    try {
      return new ServerProcess(process, awaitPort(process, output, watchedFor, watchedLines), output, watchedFor, watchedLines);
    } catch (Exception e) {
      process.destroyForcibly();
      throw e;
    }
  }

  public int port() {
    return port;
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** Sends SIGTERM and waits for the process to exit; false if it did not within 30 s. */
  public boolean terminate() throws InterruptedException {
    process.destroy();
    return process.waitFor(30, TimeUnit.SECONDS);
  }

  /** SIGKILL, and waits until the process is gone. */
  public void kill() {
    process.destroyForcibly();
    try {
      process.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    process.destroyForcibly();
    try {
      process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS); // gone before its data folder is deleted
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static int awaitPort(Process process, List<String> output, java.util.concurrent.atomic.AtomicReference<String> watchedFor,
      java.util.concurrent.atomic.AtomicInteger watchedLines) throws Exception {
    BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<Integer> port = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try {
        for (String line; (line = out.readLine()) != null; ) {
          Matcher m = LISTENING.matcher(line);
          if (m.find()) port.complete(Integer.parseInt(m.group(1)));
          String watched = watchedFor.get();
          if (watched != null && line.contains(watched)) watchedLines.incrementAndGet();
          synchronized (output) {
            output.add(line);
            if (output.size() > 40) output.remove(0);
          }
        }
        port.completeExceptionally(new AssertionError("server exited without listening"));
      } catch (IOException e) {
        port.completeExceptionally(e);
      }
    }, "server-process-output");
    reader.setDaemon(true);
    reader.start();
    return port.get(30, TimeUnit.SECONDS);
  }
}
