package dev.syncline.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Arrays;

/**
 * One server message, read with a streaming parser and keeping only what the benchmarks use.
 * The generator shares two cores with the server, so decoding a fan-out frame must cost far less
 * than the server spent sending it: no tree, no databind, delta fields only when asked for.
 */
final class Incoming {
  /** The {@code rid} of a message that carries none (or a non-integer one). */
  static final long NO_RID = Long.MIN_VALUE;
  /** The value of a delta whose value is not an integer. */
  static final long NOT_A_NUMBER = Long.MIN_VALUE;

  /** Plain factory: the input is our own server's output, so none of the hardening of the server's {@code Json}. */
  private static final JsonFactory FACTORY = new JsonFactory();
  /** For the few sub-trees kept whole (admin results, refusals); reads a value and stops there. */
  private static final ObjectMapper TREES = new ObjectMapper(FACTORY);

  String type;
  long rid = NO_RID;
  String sid;
  long seq;
  long head;
  String code;
  String message;
  /** The result of an admin op. */
  JsonNode data;

  /** Deltas in a {@code changes} frame. */
  int deltaCount;
  /** Per delta, filled only when decoding with delta fields: collection, document id, integer value. */
  String[] cols = new String[0];
  String[] ids = new String[0];
  long[] values = new long[0];

  /** Outcomes of an {@code ack}. */
  int applied;
  int unchanged;
  int refused;
  /** The first refusal of an ack, as JSON text. */
  String firstRefusal;

  boolean is(String t) {
    return t.equals(type);
  }

  /** Decodes one frame; {@code deltaFields} also keeps col, id and value of each delta. */
  static Incoming parse(byte[] bytes, boolean deltaFields) throws IOException {
    Incoming m = new Incoming();
    try (JsonParser p = FACTORY.createParser(bytes)) {
      if (p.nextToken() != JsonToken.START_OBJECT) throw new IOException("a message must be an object");
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken t = p.nextToken();
        switch (field) {
          case "type" -> m.type = p.getText();
          case "rid" -> m.rid = t == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : NO_RID;
          case "sid" -> m.sid = p.getText();
          case "seq" -> m.seq = p.getLongValue();
          case "head" -> m.head = p.getLongValue();
          case "code" -> m.code = p.getText();
          case "message" -> m.message = p.getText();
          case "deltas" -> m.readDeltas(p, deltaFields);
          case "results" -> m.readResults(p);
          case "data" -> m.data = TREES.readTree(p);
          default -> p.skipChildren();
        }
      }
    }
    return m;
  }

  private void readDeltas(JsonParser p, boolean deltaFields) throws IOException {
    if (p.currentToken() != JsonToken.START_ARRAY) throw new IOException("deltas: not an array");
    while (p.nextToken() == JsonToken.START_OBJECT) {
      if (!deltaFields) {
        p.skipChildren();
        deltaCount++;
        continue;
      }
      if (deltaCount == ids.length) grow();
      String col = null;
      String id = null;
      long value = NOT_A_NUMBER;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken t = p.nextToken();
        switch (field) {
          case "col" -> col = p.getText();
          case "id" -> id = p.getText();
          case "value" -> {
            if (t == JsonToken.VALUE_NUMBER_INT) value = p.getLongValue();
            else p.skipChildren();
          }
          default -> p.skipChildren();
        }
      }
      cols[deltaCount] = col;
      ids[deltaCount] = id;
      values[deltaCount] = value;
      deltaCount++;
    }
  }

  private void grow() {
    int n = Math.max(4, ids.length * 2);
    cols = Arrays.copyOf(cols, n);
    ids = Arrays.copyOf(ids, n);
    values = Arrays.copyOf(values, n);
  }

  private void readResults(JsonParser p) throws IOException {
    if (p.currentToken() != JsonToken.START_ARRAY) throw new IOException("results: not an array");
    JsonToken t;
    while ((t = p.nextToken()) != JsonToken.END_ARRAY && t != null) {
      if (t == JsonToken.VALUE_STRING) {
        if ("applied".equals(p.getText())) applied++;
        else unchanged++;
      } else {
        refused++;
        JsonNode refusal = TREES.readTree(p);
        if (firstRefusal == null) firstRefusal = String.valueOf(refusal);
      }
    }
  }

  /** A short description of an error message, for reports. */
  String describeError() {
    return code + ": " + message;
  }
}
