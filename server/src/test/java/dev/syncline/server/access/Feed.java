package dev.syncline.server.access;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.server.testing.Replica;
import dev.syncline.server.testing.WsClient;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The frames of one subscription on one connection ({@code subscribed}, {@code changes},
 * {@code synced}, {@code reset}, {@code error} with its sid), read from what the client recorded.
 * A {@code reset} starts a new segment: the client drops its copy, so the replica is built from
 * the frames after the last one.
 */
final class Feed {
  final WsClient client;
  final String sid;
  final JsonNode subscribed;

  private Feed(WsClient client, JsonNode subscribed) {
    this.client = client;
    this.sid = subscribed.get("sid").asText();
    this.subscribed = subscribed;
  }

  /** Sends {@code sub} and waits for {@code subscribed}; fails with the answer when it is anything else. */
  static Feed open(WsClient client, ObjectNode sub) {
    JsonNode answer = client.request(sub);
    if (!"subscribed".equals(answer.path("type").asText())) throw new AssertionError("sub " + sub + " was answered " + answer);
    return new Feed(client, answer);
  }

  String epoch() {
    return subscribed.get("epoch").asText();
  }

  /** Every frame of this subscription so far, in arrival order (the {@code subscribed} answer first). */
  List<JsonNode> frames() {
    List<JsonNode> out = new ArrayList<>();
    boolean started = false;
    for (JsonNode m : client.received()) {
      if (m == subscribed) started = true;
      if (started && sid.equals(m.path("sid").asText())) out.add(m);
    }
    return out;
  }

  List<JsonNode> resets() {
    return frames().stream().filter(m -> type(m, "reset")).toList();
  }

  /** The frames after the last reset (all frames after {@code subscribed} when there was none). */
  List<JsonNode> lastSegment() {
    List<JsonNode> f = frames();
    int from = 1;
    for (int i = 0; i < f.size(); i++) if (type(f.get(i), "reset")) from = i + 1;
    return f.subList(from, f.size());
  }

  /** The segments between resets: the first after {@code subscribed}, then one after each reset. */
  List<List<JsonNode>> segments() {
    List<List<JsonNode>> out = new ArrayList<>();
    List<JsonNode> cur = new ArrayList<>();
    List<JsonNode> f = frames();
    for (int i = 1; i < f.size(); i++) {
      if (type(f.get(i), "reset")) {
        out.add(cur);
        cur = new ArrayList<>();
      } else {
        cur.add(f.get(i));
      }
    }
    out.add(cur);
    return out;
  }

  /** The client's copy: the changes after the last reset, merged. */
  Replica replica() {
    Replica r = new Replica();
    lastSegment().forEach(r::apply);
    return r;
  }

  /** The cursor the client would store: the last {@code changes.seq} or {@code synced.seq} of the last segment. */
  long cursor() {
    long c = 0;
    for (JsonNode m : lastSegment()) {
      if (type(m, "changes") || type(m, "synced")) c = Math.max(c, m.get("seq").asLong());
    }
    return c;
  }

  /** Waits for the {@code n}-th reset (1-based) and returns it. */
  JsonNode awaitReset(int n) {
    client.until(() -> resets().size() >= n, "reset #" + n + " on " + sid + "; frames: " + tail());
    return resets().get(n - 1);
  }

  /** Waits until the last segment holds a {@code synced}, after at least {@code resets} resets. */
  void awaitSynced(int resets) {
    client.until(() -> resets().size() >= resets && lastSegment().stream().anyMatch(m -> type(m, "synced")),
        "synced after reset #" + resets + " on " + sid + "; frames: " + tail());
  }

  /** Waits until a delta matching {@code p} arrives in the last segment, after its synced. */
  void awaitDelta(Predicate<JsonNode> p, String what) {
    client.until(() -> {
      for (JsonNode m : lastSegment()) {
        if (!type(m, "changes")) continue;
        for (JsonNode d : m.get("deltas")) if (p.test(d)) return true;
      }
      return false;
    }, what + " on " + sid + "; frames: " + tail());
  }

  /** Every delta this subscription ever received, across resets. */
  List<JsonNode> allDeltas() {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode m : frames()) if (type(m, "changes")) m.get("deltas").forEach(out::add);
    return out;
  }

  String tail() {
    List<JsonNode> f = frames();
    return f.subList(Math.max(0, f.size() - 4), f.size()).toString();
  }

  static boolean type(JsonNode m, String type) {
    return type.equals(m.path("type").asText());
  }
}
