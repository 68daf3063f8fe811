package dev.syncline.protocol;

import static dev.syncline.protocol.StreamedJson.expect;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.syncline.protocol.StreamedJson.Decline;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@code changes} frame decoded in one streaming pass, as {@link StreamedPush} decodes a push:
 * a server catching up from a peer reads a million deltas in such frames, and building a tree of
 * each frame was half of its event loop's work (bench/profiles/replication-catchup.txt).
 *
 * <p>Only a frame {@link MessageCodec#decodeChanges(com.fasterxml.jackson.databind.JsonNode)}
 * takes is taken here: the fields {@code type}, {@code sid}, {@code db}, {@code seq} and {@code
 * deltas} once each and nothing else, every delta with {@code col}, {@code id}, {@code attr},
 * {@code value}, {@code ts} and its {@code seq}. For anything else {@link #decode} returns null and
 * the tree decoder decides and says what is wrong; {@code StreamedChangesTest} compares the two.
 */
final class StreamedChanges {
  private StreamedChanges() {}

  private static final List<String> FIELDS = List.of("type", "sid", "db", "seq", "deltas");

  /** Every field of {@link #FIELDS} seen. */
  private static final int ALL = (1 << 5) - 1;

  /** The frame in {@code text}, or null when the tree decoder must decide. */
  static ServerMessage.Changes decode(String text) {
    try (JsonParser p = StreamedJson.parser(text)) {
      return read(p);
    } catch (Decline | IOException | RuntimeException e) {
      return null; // not a plain, valid changes frame (or not JSON at all)
    }
  }

  private static ServerMessage.Changes read(JsonParser p) throws IOException, Decline {
    expect(p.nextToken() == JsonToken.START_OBJECT);
    int seen = 0;
    String sid = null;
    String db = null;
    long seq = 0;
    List<Delta> deltas = null;
    JsonToken t;
    while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      int place = FIELDS.indexOf(field);
      expect(place >= 0 && (seen & 1 << place) == 0);
      seen |= 1 << place;
      JsonToken v = p.nextToken();
      switch (field) {
        // the type comes first from every server: anything else is over at its first field
        case "type" -> expect(v == JsonToken.VALUE_STRING && p.getText().equals("changes"));
        case "sid" -> {
          sid = StreamedJson.text(p, v, null);
          expect(!sid.isEmpty());
        }
        case "db" -> {
          db = StreamedJson.text(p, v, null);
          expect(MessageCodec.isDatabaseName(db));
        }
        case "seq" -> seq = StreamedJson.wholeNumber(p, v);
        case "deltas" -> {
          expect(v == JsonToken.START_ARRAY);
          deltas = deltas(p);
        }
        default -> throw Decline.INSTANCE;
      }
    }
    expect(t == JsonToken.END_OBJECT && p.nextToken() == null && seen == ALL);
    return new ServerMessage.Changes(sid, db, seq, deltas);
  }

  private static List<Delta> deltas(JsonParser p) throws IOException, Decline {
    List<Delta> deltas = new ArrayList<>();
    JsonToken t;
    while ((t = p.nextToken()) == JsonToken.START_OBJECT) {
      StreamedJson.DeltaFields d = StreamedJson.delta(p, true);
      // decodeStoredDelta's checks
      expect(MessageCodec.isStoredText(d.col()) && MessageCodec.isStoredText(d.id()) && MessageCodec.isStoredText(d.attr())
          && MessageCodec.isStoredText(d.ts()) && Hlc.isValid(d.ts()) && MessageCodec.valueFault(d.value()) == null);
      deltas.add(new Delta(d.col(), d.id(), d.attr(), d.value(), d.ts()));
    }
    expect(t == JsonToken.END_ARRAY);
    return deltas;
  }
}
