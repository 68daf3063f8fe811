package dev.syncline.protocol;

import static dev.syncline.protocol.StreamedJson.expect;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.StreamedJson.Decline;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The common push decoded in one streaming pass, without a tree of the whole message: pushes are
 * most of a server's traffic, and the tree (a map per delta) was most of an event loop's work.
 *
 * <p>Only a push the tree decoder would take whole is taken here: the fields {@code type},
 * {@code rid}, {@code db}, {@code w} and {@code deltas}, every delta with exactly {@code col},
 * {@code id}, {@code attr}, {@code value} and {@code ts}, and nothing refused. For anything else
 * — another message type, an unknown field, any fault — {@link #decode} returns null and the tree
 * decoder runs, which owns every typed refusal. So this class only has to agree with it on what it
 * accepts, and {@code StreamedPushTest} compares the two on random pushes.
 */
final class StreamedPush {
  private StreamedPush() {}

  /** The message's fields, in the order of their bits in {@code read}'s set of fields seen. */
  private static final List<String> FIELDS = List.of("type", "rid", "db", "w", "deltas");

  /** The bit of {@code type}, the first of {@link #FIELDS}. */
  private static final int TYPE = 1;

  /** The push in {@code text}, or null when the tree decoder must decide. */
  static ClientMessage.Push decode(String text, Limits limits) {
    try (JsonParser p = StreamedJson.parser(text)) {
      return read(p, limits);
    } catch (Decline | ProtocolException | IOException | RuntimeException e) {
      // not a plain, valid push (or not JSON at all): the tree decoder says exactly what is wrong
      return null;
    }
  }

  private static ClientMessage.Push read(JsonParser p, Limits limits) throws IOException, Decline, ProtocolException {
    expect(p.nextToken() == JsonToken.START_OBJECT);
    int seen = 0; // one bit per field, by its place in FIELDS
    JsonNode rid = null;
    String db = null;
    int w = 0;
    List<Delta> deltas = null;
    JsonToken t;
    while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      int place = FIELDS.indexOf(field); // -1 for a field the tree would ignore: declined
      expect(place >= 0 && (seen & 1 << place) == 0);
      seen |= 1 << place;
      JsonToken v = p.nextToken();
      switch (field) {
        case "type" -> expect(v == JsonToken.VALUE_STRING && p.getText().equals("push"));
        case "rid" -> {
          if (v != JsonToken.VALUE_NULL) {
            rid = MessageCodec.ridToken(p, v);
            expect(rid != null);
          }
        }
        case "db" -> {
          expect(v == JsonToken.VALUE_STRING);
          db = p.getText();
          expect(MessageCodec.isDatabaseName(db));
        }
        case "w" -> {
          if (v != JsonToken.VALUE_NULL) {
            expect(v == JsonToken.VALUE_NUMBER_INT && p.getNumberType() == JsonParser.NumberType.INT);
            w = p.getIntValue();
            expect(w >= 1 && w <= MessageCodec.MAX_WRITE_QUORUM);
          }
        }
        case "deltas" -> {
          expect(v == JsonToken.START_ARRAY);
          deltas = deltas(p, limits);
        }
        default -> throw Decline.INSTANCE;
      }
    }
    expect(t == JsonToken.END_OBJECT && p.nextToken() == null);
    expect((seen & TYPE) != 0 && db != null && deltas != null);
    return new ClientMessage.Push(rid, db, deltas, Collections.nCopies(deltas.size(), null), w);
  }

  private static List<Delta> deltas(JsonParser p, Limits limits) throws IOException, Decline, ProtocolException {
    List<Delta> deltas = new ArrayList<>();
    JsonToken t;
    while ((t = p.nextToken()) == JsonToken.START_OBJECT) {
      expect(deltas.size() < limits.maxDeltasPerPush());
      deltas.add(delta(p, limits));
    }
    expect(t == JsonToken.END_ARRAY && !deltas.isEmpty());
    return deltas;
  }

  private static Delta delta(JsonParser p, Limits limits) throws IOException, Decline, ProtocolException {
    StreamedJson.DeltaFields d = StreamedJson.delta(p, false);
    // the checks decodeDelta makes once the fields have the right types; a refusal declines
    Fields.checkName("col", d.col(), limits.maxColLength());
    expect(!d.col().startsWith("$"));
    Fields.checkName("id", d.id(), limits.maxIdLength());
    Fields.checkName("attr", d.attr(), limits.maxAttrLength());
    return MessageCodec.checkedDelta(d.col(), d.id(), d.attr(), d.value(), d.ts(), limits);
  }
}
