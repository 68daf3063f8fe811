package dev.syncline.bench;

import java.io.IOException;
import java.io.PrintStream;
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

  private final Map<String, Integer> samplesByThread = new HashMap<>();
  private final Map<String, Map<String, Integer>> inclusive = new HashMap<>();
  private final Map<String, Map<String, Integer>> self = new HashMap<>();

  @Override
  public Integer call() throws IOException {
    for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
      if (!e.getEventType().getName().equals("jdk.ExecutionSample") || e.getStackTrace() == null) continue;
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
    print(System.out);
    return 0;
  }

  private void print(PrintStream out) {
    int total = samplesByThread.values().stream().mapToInt(Integer::intValue).sum();
    out.printf("%s: %d CPU samples%n%nthreads%n", file.getFileName(), total);
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

  /** "vert.x-eventloop-thread-1" → "vert.x-eventloop-thread-*". */
  private static String pool(String thread) {
    return thread == null ? "?" : thread.replaceAll("-\\d+$", "-*");
  }
}
