package dev.syncline.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which attributes of a document a reader sees. A destroy writes {@code $deleted = true} at
 * time T; only attributes written after T are visible, so a write after a destroy brings the
 * document back with just the newer attributes, and {@code $deleted = false} restores it whole.
 */
public final class Visibility {
  private Visibility() {}

  /**
   * The visible attributes of a document (reserved attributes other than {@code $deleted}
   * included, e.g. {@code $owner}), or {@code null} when the document is not visible.
   */
  public static Map<String, JsonNode> visible(Map<String, Register> registers) {
    String deletedAt = deletedAt(registers);
    Map<String, JsonNode> out = new LinkedHashMap<>();
    for (Map.Entry<String, Register> e : registers.entrySet()) {
      Register r = e.getValue();
      if (e.getKey().equals(Delta.DELETED) || r.value().isNull()) continue;
      if (deletedAt == null || r.ts().compareTo(deletedAt) > 0) out.put(e.getKey(), r.value());
    }
    // destroyed and nothing written since: gone; never written at all: does not exist
    if (deletedAt != null && out.isEmpty()) return null;
    return registers.isEmpty() ? null : out;
  }

  /** The timestamp of a standing {@code $deleted = true}, or null when the document is not destroyed. */
  public static String deletedAt(Map<String, Register> registers) {
    Register d = registers.get(Delta.DELETED);
    return d != null && d.value().isBoolean() && d.value().booleanValue() ? d.ts() : null;
  }
}
