package dev.syncline.server.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The command line run as an operator runs it: {@code java … Main ARGS} in a process of its own. */
public final class Cli {
  private Cli() {}

  /** What a finished command left: its exit code and its two outputs. */
  public record Result(int exit, String out, String err) {
    /** Both outputs, for failure messages. */
    @Override
    public String toString() {
      return "exit " + exit + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
    }
  }

  /** Runs {@code Main args} with {@code env} added to this JVM's environment; waits up to two minutes. */
  public static Result run(Map<String, String> env, String... args) throws IOException, InterruptedException {
    return run(env, null, args);
  }

  /** As {@link #run(Map, String...)}, in working directory {@code dir} (null: this one). */
  public static Result run(Map<String, String> env, Path dir, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of("--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
        "dev.syncline.server.cli.Main"));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command);
    if (dir != null) builder.directory(dir.toFile());
    builder.environment().keySet().removeIf(k -> k.startsWith("SYNCLINE_"));
    builder.environment().putAll(env);
    Process p = builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
    CompletableFuture<String> out = read(p.getInputStream());
    CompletableFuture<String> err = read(p.getErrorStream());
    if (!p.waitFor(2, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("still running after two minutes: " + String.join(" ", args));
    }
    return new Result(p.exitValue(), out.join(), err.join());
  }

  private static CompletableFuture<String> read(java.io.InputStream in) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        return "unreadable: " + e;
      }
    });
  }
}
