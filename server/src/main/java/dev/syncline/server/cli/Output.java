package dev.syncline.server.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.Json;
import java.util.ArrayList;
import java.util.List;

/** What commands print: JSON when asked for ({@code --json}), else aligned columns for people. */
final class Output {
  private Output() {}

  static void json(JsonNode node) {
    try {
      System.out.println(Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(node));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A table: the header, then one row per element of {@code rows}, each cell the text of {@code fields}. */
  static void table(JsonNode rows, String... fields) {
    List<String[]> lines = new ArrayList<>();
    lines.add(fields);
    for (JsonNode row : rows) {
      String[] cells = new String[fields.length];
      for (int i = 0; i < fields.length; i++) cells[i] = text(row.get(fields[i]));
      lines.add(cells);
    }
    int[] widths = new int[fields.length];
    for (String[] l : lines) for (int i = 0; i < l.length; i++) widths[i] = Math.max(widths[i], l[i].length());
    for (String[] l : lines) {
      StringBuilder b = new StringBuilder();
      for (int i = 0; i < l.length; i++) {
        b.append(l[i]);
        if (i < l.length - 1) b.append(" ".repeat(widths[i] - l[i].length() + 2));
      }
      System.out.println(b);
    }
  }

  private static String text(JsonNode v) {
    if (v == null || v.isNull()) return "-";
    if (v.isArray()) {
      List<String> parts = new ArrayList<>();
      v.forEach(e -> parts.add(e.asText()));
      return String.join(",", parts);
    }
    return v.asText();
  }
}
