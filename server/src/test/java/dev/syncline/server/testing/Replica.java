package dev.syncline.server.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.Merge;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A subscriber's copy of a database, built from {@code changes} frames with the merge rule, and
 * a check that seqs only ever increase (a re-sent or out-of-order delta would be a duplicate).
 */
public final class Replica {
  /** A register: value and ts. */
  public record Reg(JsonNode value, String ts) {}

  private final Map<String, Reg> registers = new HashMap<>();
  private long lastSeq;
  private long cursor;
  private long deltaCount;
  private String violation;

  /** Applies one server message; ignores everything but {@code changes}. */
  public synchronized void apply(JsonNode msg) {
    if (!"changes".equals(msg.path("type").asText())) return;
    for (JsonNode d : msg.get("deltas")) {
      long seq = d.get("seq").asLong();
      if (seq <= lastSeq && violation == null) violation = "seq " + seq + " after " + lastSeq;
      lastSeq = Math.max(lastSeq, seq);
      deltaCount++;
      String key = d.get("col").asText() + "/" + d.get("id").asText() + "/" + d.get("attr").asText();
      String ts = d.get("ts").asText();
      Reg old = registers.get(key);
      if (old == null || Merge.decide(old.ts(), old.value(), ts, d.get("value")) == Merge.Outcome.APPLIED) {
        registers.put(key, new Reg(d.get("value"), ts));
      }
    }
    cursor = Math.max(cursor, msg.get("seq").asLong());
  }

  public synchronized Map<String, Reg> registers() {
    return new HashMap<>(registers);
  }

  public synchronized long cursor() {
    return cursor;
  }

  public synchronized long deltaCount() {
    return deltaCount;
  }

  /** Null when seqs only increased; else what went wrong first. */
  public synchronized String violation() {
    return violation;
  }

  public static String key(String col, String id, String attr) {
    return col + "/" + id + "/" + attr;
  }

  public synchronized boolean holds(Map<String, Reg> expected) {
    if (registers.size() != expected.size()) return false;
    for (var e : expected.entrySet()) {
      Reg r = registers.get(e.getKey());
      if (r == null || !Objects.equals(r.ts(), e.getValue().ts()) || !Objects.equals(r.value(), e.getValue().value())) {
        return false;
      }
    }
    return true;
  }
}
