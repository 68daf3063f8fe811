package dev.syncline.protocol;

/**
 * Limits a server enforces and announces in {@code welcome.limits}, so clients can split
 * their work to fit.
 *
 * @param maxMessageBytes largest text frame accepted; larger ones close the connection with 1009
 * @param maxDeltasPerPush most deltas in one {@code push}
 * @param maxIdLength longest document id, in characters
 * @param maxColLength longest collection name, in characters
 * @param maxAttrLength longest attribute name, in characters
 * @param maxValueBytes largest encoded JSON value of one attribute, in bytes
 * @param maxClockSkewMs how far ahead of the server's clock a delta's MS may be
 * @param maxSubscriptions most open subscriptions on one connection
 */
public record Limits(
    int maxMessageBytes,
    int maxDeltasPerPush,
    int maxIdLength,
    int maxColLength,
    int maxAttrLength,
    int maxValueBytes,
    long maxClockSkewMs,
    int maxSubscriptions) {

  /** The defaults written in PROTOCOL.md. */
  public static Limits defaults() {
    return new Limits(1 << 20, 1000, 256, 256, 256, 64 * 1024, 60_000, 100);
  }
}
