package dev.syncline.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;

/**
 * The writer counters of {@code server.stats} at one moment. Two snapshots give what happened in
 * between: how many group commits, how many pushes and deltas each held, and the mean time of one
 * group transaction including its fsync.
 */
record ServerStats(long groups, long pushes, long deltas, double meanCommitMicros, long overloaded,
    long logFilesCleaned, long cleanMs, long logEntriesSwept, long sweepMs, long heapUsedBytes, long connections, long subscriptions,
    long diskBytes) {

  /** A snapshot, or null when the server does not answer {@code server.stats} (it is optional). */
  static ServerStats fetch(BenchConnection c, Deadline deadline) {
    try {
      JsonNode d = deadline.await(c.adminStats(), "server.stats").data;
      JsonNode w = d.path("writes");
      return new ServerStats(w.path("groups").asLong(), w.path("pushes").asLong(), w.path("deltas").asLong(),
          w.path("meanCommitMicros").asDouble(), w.path("overloaded").asLong(),
          w.path("logFilesCleaned").asLong(), w.path("cleanMs").asLong(),
          w.path("logEntriesSwept").asLong(), w.path("sweepMs").asLong(),
          d.path("heap").path("usedBytes").asLong(), d.path("connections").asLong(),
          d.path("subscriptions").asLong(), d.path("diskBytes").asLong());
    } catch (Exception e) {
      System.err.println("server.stats unavailable: " + e.getMessage());
      return null;
    }
  }

  /**
   * The writer's work between two snapshots taken {@code wallSeconds} apart, as JSON; empty when
   * either is missing. {@code commitBusyPercent} is the share of that time the writer thread spent
   * inside group transactions: near 100 means the writer is the bottleneck. {@code cleanMs} is the
   * writer's time cleaning the store's log between groups, not part of the commits; {@code
   * sweepMs} the same for deleting superseded log entries. {@code storeMb} is the store's size on
   * disk at the second snapshot: whether cleaning keeps the log near its live data.
   */
  static ObjectNode between(ServerStats before, ServerStats after, double wallSeconds) {
    ObjectNode out = Json.MAPPER.createObjectNode();
    if (before == null || after == null) return out;
    long groups = after.groups - before.groups;
    long pushes = after.pushes - before.pushes;
    long deltas = after.deltas - before.deltas;
    double commitMicros = after.meanCommitMicros * after.groups - before.meanCommitMicros * before.groups;
    out.put("groups", groups)
        .put("pushes", pushes)
        .put("deltas", deltas)
        .put("pushesPerGroup", groups == 0 ? 0 : round1((double) pushes / groups))
        .put("deltasPerGroup", groups == 0 ? 0 : round1((double) deltas / groups))
        .put("meanCommitMicros", groups == 0 ? 0 : round1(commitMicros / groups))
        .put("commitBusyPercent", wallSeconds <= 0 ? 0 : round1(commitMicros / 1e4 / wallSeconds))
        .put("overloaded", after.overloaded - before.overloaded)
        .put("logFilesCleaned", after.logFilesCleaned - before.logFilesCleaned)
        .put("cleanMs", after.cleanMs - before.cleanMs)
        .put("logEntriesSwept", after.logEntriesSwept - before.logEntriesSwept)
        .put("sweepMs", after.sweepMs - before.sweepMs)
        .put("storeMb", round1(after.diskBytes / 1e6));
    return out;
  }

  /** A short text of {@link #between}, for summary lines. */
  static String describe(ObjectNode between) {
    if (!between.has("groups")) return "server stats n/a";
    return String.format("server: %d groups, %.1f pushes / %.1f deltas per group, commit %.0f us, writer busy %.0f%%, "
            + "cleaned %d log files in %d ms, swept %d log entries in %d ms, store %.1f MB",
        between.get("groups").asLong(), between.get("pushesPerGroup").asDouble(),
        between.get("deltasPerGroup").asDouble(), between.get("meanCommitMicros").asDouble(),
        between.get("commitBusyPercent").asDouble(), between.get("logFilesCleaned").asLong(),
        between.get("cleanMs").asLong(), between.get("logEntriesSwept").asLong(), between.get("sweepMs").asLong(),
        between.get("storeMb").asDouble());
  }

  static double round1(double v) {
    return Math.round(v * 10) / 10.0;
  }
}
