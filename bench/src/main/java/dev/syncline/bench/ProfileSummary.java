package dev.syncline.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code profile-summary FILE.jfr}: where a server's CPU went, as text a reviewer can diff — the
 * busiest threads, and per thread the methods by share of samples that were in them (inclusive)
 * and at the top of the stack (self). Thread pools are folded by name (event loops together).
 */
@Command(name = "profile-summary", mixinStandardHelpOptions = true,
    description = "Summarize the CPU samples of a JFR recording as text: threads, then hot methods per thread.")
final class ProfileSummary implements Callable<Integer> {
  @Parameters(paramLabel = "FILE", description = "a recording made with -XX:StartFlightRecording=settings=profile")
  Path file;

  @Option(names = "--top", description = "methods listed per thread (default 25)")
  int top = 25;

  @Option(names = "--threads", description = "threads listed (default 4)")
  int threads = 4;

  @Option(names = "--from", description = "only samples at or after this time, epoch ms (a result's cpu.fromEpochMs: the measured window)")
  long fromEpochMs = Long.MIN_VALUE;

  @Option(names = "--to", description = "only samples before this time, epoch ms (a result's cpu.toEpochMs)")
  long toEpochMs = Long.MAX_VALUE;

  @Option(names = "--window-of", paramLabel = "RESULTS", description = "only samples in the measured window of the last result in "
      + "RESULTS (run.sh's results.jsonl)")
  Path windowOf;

  private final Map<String, Integer> samplesByThread = new HashMap<>();
  private final Map<String, Map<String, Integer>> inclusive = new HashMap<>();
  private final Map<String, Map<String, Integer>> self = new HashMap<>();

  @Override
  public Integer call() throws IOException {
    read();
    print(System.out);
    return 0;
  }

  /** Counts the recording's CPU samples in the window, by thread and method. */
  void read() throws IOException {
    if (windowOf != null) {
      List<String> lines = Files.readAllLines(windowOf).stream().filter(l -> !l.isBlank()).toList();
      if (lines.isEmpty()) throw new IOException(windowOf + ": no result");
      com.fasterxml.jackson.databind.JsonNode cpu = dev.syncline.protocol.Json.MAPPER.readTree(lines.get(lines.size() - 1)).path("cpu");
      if (!cpu.has("fromEpochMs")) throw new IOException(windowOf + ": its last result has no measured window (cpu.fromEpochMs)");
      fromEpochMs = cpu.path("fromEpochMs").asLong();
      toEpochMs = cpu.path("toEpochMs").asLong();
    }
    for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
      if (!e.getEventType().getName().equals("jdk.ExecutionSample") || e.getStackTrace() == null) continue;
      long at = e.getStartTime().toEpochMilli();
      if (at < fromEpochMs || at >= toEpochMs) continue;
      String thread = pool(e.getThread("sampledThread").getJavaName());
      samplesByThread.merge(thread, 1, Integer::sum);
      List<RecordedFrame> frames = e.getStackTrace().getFrames();
      if (frames.isEmpty()) continue;
      self.computeIfAbsent(thread, t -> new HashMap<>()).merge(name(frames.get(0)), 1, Integer::sum);
      Set<String> seen = new HashSet<>();
      for (RecordedFrame f : frames) {
        if (seen.add(name(f))) inclusive.computeIfAbsent(thread, t -> new HashMap<>()).merge(name(f), 1, Integer::sum);
      }
    }
  }

  void print(PrintStream out) {
    int total = samplesByThread.values().stream().mapToInt(Integer::intValue).sum();
    String window = fromEpochMs == Long.MIN_VALUE && toEpochMs == Long.MAX_VALUE ? ""
        : String.format(" from %s to %s", instant(fromEpochMs), instant(toEpochMs));
    out.printf("%s: %d CPU samples%s%n%nthreads%n", file.getFileName(), total, window);
    List<Map.Entry<String, Integer>> busiest = sorted(samplesByThread);
    for (Map.Entry<String, Integer> t : busiest) out.printf("  %5.1f%%  %s%n", 100.0 * t.getValue() / total, t.getKey());
    for (Map.Entry<String, Integer> t : busiest.subList(0, Math.min(threads, busiest.size()))) {
      int n = t.getValue();
      out.printf("%n== %s (%d samples)%n   incl   self  method%n", t.getKey(), n);
      Map<String, Integer> selfOf = self.getOrDefault(t.getKey(), Map.of());
      // frames under every sample (the thread's run loop) say nothing: left out
      List<Map.Entry<String, Integer>> hot = sorted(inclusive.get(t.getKey())).stream()
          .filter(m -> m.getValue() < n * 0.99).limit(top).toList();
      for (Map.Entry<String, Integer> m : hot) {
        out.printf("  %5.1f%% %5.1f%%  %s%n", 100.0 * m.getValue() / n, 100.0 * selfOf.getOrDefault(m.getKey(), 0) / n, m.getKey());
      }
      out.printf("  top of stack:%n");
      for (Map.Entry<String, Integer> m : sorted(selfOf).subList(0, Math.min(10, selfOf.size()))) {
        out.printf("  %5.1f%%  %s%n", 100.0 * m.getValue() / n, m.getKey());
      }
    }
  }

  private static List<Map.Entry<String, Integer>> sorted(Map<String, Integer> counts) {
    return counts.entrySet().stream()
        .sorted(Map.Entry.<String, Integer>comparingByValue(Comparator.reverseOrder()).thenComparing(Map.Entry.comparingByKey()))
        .collect(Collectors.toList());
  }

  private static String name(RecordedFrame f) {
    return f.getMethod().getType().getName() + "." + f.getMethod().getName();
  }

  private static String instant(long epochMs) {
    if (epochMs == Long.MIN_VALUE) return "the start";
    return epochMs == Long.MAX_VALUE ? "the end" : java.time.Instant.ofEpochMilli(epochMs).toString();
  }

  /** "vert.x-eventloop-thread-1" → "vert.x-eventloop-thread-*". */
  private static String pool(String thread) {
    return thread == null ? "?" : thread.replaceAll("-\\d+$", "-*");
  }
}
