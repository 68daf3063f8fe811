package dev.syncline.protocol;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@code changes} page from a peer server read in one streaming pass: a server catching up reads
 * millions of deltas in pages of thousands, and a tree of each page was half of its event loop's
 * work. The deltas are checked as {@link MessageCodec#decodeStoredDelta} checks them (their shape
 * only: a peer stored them after checking them), and fields the tree reader would ignore are
 * skipped. Anything else — another message type, a malformed page — gives null, and the caller
 * reads the message through the tree as before, which says what is wrong ({@code
 * StreamedChangesTest} compares the two).
 */
public final class StreamedChanges {
  private StreamedChanges() {}

  /** The changes page in {@code text}, or null when the tree reader must decide. */
  public static ServerMessage.Changes decode(String text) {
    try (JsonParser p = Json.MAPPER.createParser(text)) {
      return read(p);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private static ServerMessage.Changes read(JsonParser p) throws IOException {
    if (p.nextToken() != JsonToken.START_OBJECT) return null;
    boolean changes = false;
    String sid = null;
    String db = null;
    long seq = -1;
    List<Delta> deltas = null;
    JsonToken t;
    while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken v = p.nextToken();
      switch (field) {
        case "type" -> {
          if (v != JsonToken.VALUE_STRING || !p.getText().equals("changes")) return null;
          changes = true;
        }
        case "sid" -> sid = v == JsonToken.VALUE_STRING ? p.getText() : null;
        case "db" -> db = v == JsonToken.VALUE_STRING ? p.getText() : null;
        case "seq" -> seq = v == JsonToken.VALUE_NUMBER_INT && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER
            ? p.getLongValue() : -1;
        case "deltas" -> {
          if (v != JsonToken.START_ARRAY) return null;
          deltas = deltas(p);
          if (deltas == null) return null;
        }
        default -> p.skipChildren();
      }
    }
    if (t != JsonToken.END_OBJECT || p.nextToken() != null) return null;
    return changes && sid != null && db != null && seq >= 0 && deltas != null ? new ServerMessage.Changes(sid, db, seq, deltas) : null;
  }

  private static List<Delta> deltas(JsonParser p) throws IOException {
    List<Delta> deltas = new ArrayList<>();
    JsonToken t;
    while ((t = p.nextToken()) == JsonToken.START_OBJECT) {
      Delta d = delta(p);
      if (d == null) return null;
      deltas.add(d);
    }
    return t == JsonToken.END_ARRAY ? deltas : null;
  }

  private static Delta delta(JsonParser p) throws IOException {
    String col = null;
    String id = null;
    String attr = null;
    String ts = null;
    JsonNode value = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken v = p.nextToken();
      switch (field) {
        case "col" -> col = name(p, v);
        case "id" -> id = name(p, v);
        case "attr" -> attr = name(p, v);
        case "ts" -> ts = name(p, v);
        case "value" -> value = StreamedPush.value(p, v);
        default -> p.skipChildren();
      }
    }
    // the parser refuses a duplicate key itself, so each field above was read once
    if (col == null || id == null || attr == null || ts == null || value == null || !Hlc.isValid(ts)) return null;
    return new Delta(col, id, attr, value, ts);
  }

  /** A name as decodeStoredDelta takes it: a non-empty string without NUL; null otherwise. */
  private static String name(JsonParser p, JsonToken v) throws IOException {
    if (v != JsonToken.VALUE_STRING) return null;
    String s = p.getText();
    return s.isEmpty() || s.indexOf('\0') >= 0 ? null : s;
  }
}
