package dev.syncline.server.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.Merge;
import java.util.HashMap;
import java.util.Map;

/**
 * The state every replica must reach: per register, the acknowledged delta that wins by the merge
 * rule (the greatest timestamp; equal ones by value). Thread-safe, for several writers.
 */
public final class RegisterModel {
  private final Map<String, Replica.Reg> registers = new HashMap<>();

  /** Records a delta ({@code col, id, attr, value, ts}) a server acknowledged as stored. */
  public synchronized void acked(JsonNode delta) {
    String key = Replica.key(delta.get("col").asText(), delta.get("id").asText(), delta.get("attr").asText());
    Replica.Reg old = registers.get(key);
    JsonNode value = delta.get("value");
    String ts = delta.get("ts").asText();
    if (old == null || Merge.decide(old.ts(), old.value(), ts, value) == Merge.Outcome.APPLIED) {
      registers.put(key, new Replica.Reg(value, ts));
    }
  }

  public synchronized Map<String, Replica.Reg> registers() {
    return new HashMap<>(registers);
  }

  /** Where {@code actual} differs from the model, for failure messages (a few keys at most). */
  public synchronized String differences(Map<String, Replica.Reg> actual) {
    StringBuilder sb = new StringBuilder();
    int shown = 0;
    for (var e : registers.entrySet()) {
      Replica.Reg got = actual.get(e.getKey());
      if (!e.getValue().equals(got) && shown++ < 5) sb.append(e.getKey()).append(": want ").append(e.getValue()).append(" got ").append(got).append("; ");
    }
    for (String k : actual.keySet()) {
      if (!registers.containsKey(k) && shown++ < 5) sb.append(k).append(": unexpected ").append(actual.get(k)).append("; ");
    }
    return sb.length() == 0 ? "none" : sb.toString();
  }
}
