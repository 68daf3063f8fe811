package dev.syncline.server.replication;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.MessageCodec;

/**
 * The fields of a peer's messages, read with the checks a client's are: each reader throws
 * {@link IllegalArgumentException} naming the field when it holds what no server sends, and the
 * link fails with that ({@link PeerLink#onText}). A peer proved it knows the cluster secret, but
 * what it sends still reaches the store, the cursors and the purge horizon.
 */
final class PeerFields {
  /** Longest sid or epoch a server makes (epochs are two base-36 numbers and a dash). */
  static final int MAX_TOKEN_LENGTH = 64;

  private PeerFields() {}

  /** A database name, as a client may give it. */
  static String db(JsonNode m) {
    String db = m.path("db").asText(null);
    if (!m.path("db").isTextual() || !MessageCodec.isDatabaseName(db)) throw bad("db", "not a database name");
    return db;
  }

  /** A subscription id or an epoch: 1 to 64 printable ASCII characters. */
  static String token(JsonNode m, String field) {
    JsonNode v = m.path(field);
    if (!v.isTextual() || v.textValue().isEmpty() || v.textValue().length() > MAX_TOKEN_LENGTH) throw bad(field, "not 1 to 64 characters");
    for (int i = 0; i < v.textValue().length(); i++) {
      char c = v.textValue().charAt(i);
      if (c <= ' ' || c > '~') throw bad(field, "not printable ASCII");
    }
    return v.textValue();
  }

  /** {@link #token}, or the empty string. */
  static String tokenOrEmpty(JsonNode m, String field) {
    return m.path(field).isTextual() && m.path(field).textValue().isEmpty() ? "" : token(m, field);
  }

  /** A seq, a head or a time: a whole number, 0 or more. */
  static long count(JsonNode m, String field) {
    JsonNode v = m.path(field);
    if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) throw bad(field, "not a whole number of 0 or more");
    return v.longValue();
  }

  private static IllegalArgumentException bad(String field, String why) {
    return new IllegalArgumentException(field + ": " + why);
  }
}
