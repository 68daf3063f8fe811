package dev.syncline.bench;

import dev.syncline.protocol.HlcClock;

/**
 * Writes {@code push} messages as JSON text by hand: the generator builds hundreds of thousands
 * of deltas a second on a machine it shares with the server, and every name it writes is plain
 * ASCII it chose itself, so there is nothing to escape. Each writer has its own clock and origin
 * (its client id). One encoder per connection; not thread-safe.
 */
final class PushEncoder {
  private final String db;
  private final HlcClock clock;
  private final StringBuilder sb = new StringBuilder(256);
  private int deltas;
  /** The write quorum asked for in every push; 0: the server's. */
  private int w;

  PushEncoder(String db, String clientId) {
    this.db = db;
    this.clock = new HlcClock(clientId);
  }

  /** Asks for write quorum {@code w} in every push from now on (0: the server's default). */
  PushEncoder quorum(int w) {
    this.w = w;
    return this;
  }

  PushEncoder begin(long rid) {
    sb.setLength(0);
    deltas = 0;
    sb.append("{\"type\":\"push\",\"rid\":").append(rid).append(",\"db\":\"").append(db).append('"');
    if (w > 0) sb.append(",\"w\":").append(w);
    sb.append(",\"deltas\":[");
    return this;
  }

  /** Adds a delta whose value is an integer; {@code col}, {@code id}, {@code attr} must need no escaping. */
  PushEncoder delta(String col, String id, String attr, long value) {
    if (deltas++ > 0) sb.append(',');
    sb.append("{\"col\":\"").append(col)
        .append("\",\"id\":\"").append(id)
        .append("\",\"attr\":\"").append(attr)
        .append("\",\"value\":").append(value)
        .append(",\"ts\":\"").append(clock.tick().format()).append("\"}");
    return this;
  }

  String end() {
    return sb.append("]}").toString();
  }
}
