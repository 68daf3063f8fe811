package dev.syncline.protocol;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
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

  /** Reads one value as the tree decoder would build it; not a root, so what follows is not its concern. */
  private static final ObjectReader VALUE_READER =
      Json.MAPPER.reader().without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /** The message's fields, in the order of their bits in {@code read}'s set of fields seen. */
  private static final List<String> FIELDS = List.of("type", "rid", "db", "w", "deltas");

  /** The bit of {@code type}, the first of {@link #FIELDS}. */
  private static final int TYPE = 1;

  /** Thrown to give up on the streaming pass; no stack trace, it is not an error. */
  private static final class Decline extends Exception {
    private static final Decline INSTANCE = new Decline();

    private Decline() {
      super(null, null, false, false);
    }
  }

  /** The push in {@code text}, or null when the tree decoder must decide. */
  static ClientMessage.Push decode(String text, Limits limits) {
    try (JsonParser p = Json.MAPPER.createParser(text)) {
      // the fields read here are tracked by hand (a second one declines), which costs nothing;
      // Jackson's check keeps a hash set per object. Values that are containers turn it back on.
      p.disable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
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
    String col = null;
    String id = null;
    String attr = null;
    String ts = null;
    JsonNode value = null;
    JsonToken t;
    while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken v = p.nextToken();
      switch (field) {
        case "col" -> col = text(p, v, col);
        case "id" -> id = text(p, v, id);
        case "attr" -> attr = text(p, v, attr);
        case "ts" -> ts = text(p, v, ts);
        case "value" -> {
          expect(value == null);
          value = value(p, v);
        }
        default -> throw Decline.INSTANCE;
      }
    }
    expect(t == JsonToken.END_OBJECT && col != null && id != null && attr != null && ts != null && value != null);
    // the checks decodeDelta makes once the fields have the right types; a refusal declines
    Fields.checkName("col", col, limits.maxColLength());
    expect(!col.startsWith("$"));
    Fields.checkName("id", id, limits.maxIdLength());
    Fields.checkName("attr", attr, limits.maxAttrLength());
    return MessageCodec.checkedDelta(col, id, attr, value, ts, limits);
  }

  /** A string field read once; {@code before} is what an earlier field of the same name held. */
  private static String text(JsonParser p, JsonToken v, String before) throws IOException, Decline {
    expect(v == JsonToken.VALUE_STRING && before == null);
    return p.getText();
  }

  /** Scalars built here as the tree would build them; decimals, big integers and containers by the tree's own reader. */
  private static JsonNode value(JsonParser p, JsonToken v) throws IOException {
    switch (v) {
      case VALUE_STRING:
        return TextNode.valueOf(p.getText());
      case VALUE_TRUE:
        return BooleanNode.TRUE;
      case VALUE_FALSE:
        return BooleanNode.FALSE;
      case VALUE_NULL:
        return NullNode.getInstance();
      case VALUE_NUMBER_INT:
        JsonParser.NumberType type = p.getNumberType();
        if (type == JsonParser.NumberType.INT) return IntNode.valueOf(p.getIntValue());
        if (type == JsonParser.NumberType.LONG) return LongNode.valueOf(p.getLongValue());
        return VALUE_READER.readTree(p);
      case START_OBJECT, START_ARRAY:
        // inside a value duplicate keys are refused, as everywhere: Jackson checks them from here down
        p.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        JsonNode container = VALUE_READER.readTree(p);
        p.disable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        return container;
      default:
        return VALUE_READER.readTree(p);
    }
  }

  private static void expect(boolean ok) throws Decline {
    if (!ok) throw Decline.INSTANCE;
  }
}
