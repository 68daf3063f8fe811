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

/**
 * What the streaming decoders ({@link StreamedPush}, {@link StreamedChanges}) share: reading a
 * message in one pass without a tree of it, and declining — handing the message to the tree
 * decoder, which owns every refusal — at the first thing that is not plain.
 */
final class StreamedJson {
  private StreamedJson() {}

  /** Reads one value as the tree decoder would build it; not a root, so what follows is not its concern. */
  private static final ObjectReader VALUE_READER =
      Json.MAPPER.reader().without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /** Thrown to give up on the streaming pass; no stack trace, it is not an error. */
  static final class Decline extends Exception {
    static final Decline INSTANCE = new Decline();

    private Decline() {
      super(null, null, false, false);
    }
  }

  /** A parser of {@code text} that leaves duplicate keys to the caller, who tracks the few fields it reads. */
  static JsonParser parser(String text) throws IOException {
    JsonParser p = Json.MAPPER.createParser(text);
    // tracked by hand (a second one declines), which costs nothing; Jackson's check keeps a hash
    // set per object. Values that are containers turn it back on.
    p.disable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    return p;
  }

  /** The fields of one delta object as read, before the checks, which differ by who sent it. */
  record DeltaFields(String col, String id, String attr, JsonNode value, String ts) {}

  /**
   * Reads a delta object after its {@code START_OBJECT}: {@code col}, {@code id}, {@code attr},
   * {@code value} and {@code ts} once each, and a whole {@code seq} of 0 or more if {@code
   * seqAllowed} (a committed delta's, which the reader does not keep); anything else declines.
   */
  static DeltaFields delta(JsonParser p, boolean seqAllowed) throws IOException, Decline {
    String col = null;
    String id = null;
    String attr = null;
    String ts = null;
    JsonNode value = null;
    boolean seq = false;
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
        case "seq" -> {
          expect(seqAllowed && !seq);
          wholeNumber(p, v);
          seq = true;
        }
        default -> throw Decline.INSTANCE;
      }
    }
    expect(t == JsonToken.END_OBJECT && col != null && id != null && attr != null && ts != null && value != null);
    return new DeltaFields(col, id, attr, value, ts);
  }

  /** A string field read once; {@code before} is what an earlier field of the same name held. */
  static String text(JsonParser p, JsonToken v, String before) throws IOException, Decline {
    expect(v == JsonToken.VALUE_STRING && before == null);
    return p.getText();
  }

  /** A whole number of 0 or more that fits a long, as {@code JsonNode.canConvertToLong} would take it. */
  static long wholeNumber(JsonParser p, JsonToken v) throws IOException, Decline {
    expect(v == JsonToken.VALUE_NUMBER_INT && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER);
    long n = p.getLongValue();
    expect(n >= 0);
    return n;
  }

  /** Scalars built here as the tree would build them; decimals, big integers and containers by the tree's own reader. */
  static JsonNode value(JsonParser p, JsonToken v) throws IOException {
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

  static void expect(boolean ok) throws Decline {
    if (!ok) throw Decline.INSTANCE;
  }
}
