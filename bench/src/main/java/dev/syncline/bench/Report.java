package dev.syncline.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** A scenario's result: one summary line on stdout and, when asked, one JSON line. */
final class Report {
  final ObjectNode json = Json.MAPPER.createObjectNode();

  Report(String scenario) {
    json.put("scenario", scenario);
  }

  /** "MET (+12%)" or "MISSED (-30%)" for a figure that should be at least {@code goal}. */
  static String atLeast(double value, double goal) {
    return verdict(value >= goal, (value - goal) / goal);
  }

  /** "MET (-20%)" or "MISSED (+50%)" for a figure that should be at most {@code goal}. */
  static String atMost(double value, double goal) {
    return verdict(value <= goal, (value - goal) / goal);
  }

  private static String verdict(boolean met, double relative) {
    return String.format("%s (%+.0f%%)", met ? "MET" : "MISSED", relative * 100);
  }

  /** Prints the summary line, then writes the JSON to {@code jsonTarget} ("-" = stdout, null = nowhere). */
  void emit(String summary, String jsonTarget) throws IOException {
    json.put("summary", summary);
    System.out.println(summary);
    if (jsonTarget == null) return;
    String line = json.toString();
    if (jsonTarget.equals("-")) {
      System.out.println(line);
    } else {
      Files.writeString(Path.of(jsonTarget), line + "\n", StandardCharsets.UTF_8,
          StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }
  }
}
