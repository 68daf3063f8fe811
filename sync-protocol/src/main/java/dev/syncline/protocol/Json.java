package dev.syncline.protocol;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import java.io.IOException;

/**
 * The one Jackson configuration every part of Syncline uses, hardened for hostile input:
 * duplicate keys, trailing garbage, deep nesting and huge numbers are refused, and numbers keep
 * their exact text (a stored {@code 1.50} comes back as {@code 1.50}, never as a lossy double).
 */
public final class Json {
  private Json() {}

  /** Deepest nesting accepted in any message, values included. */
  public static final int MAX_NESTING_DEPTH = 64;

  public static final ObjectMapper MAPPER = build();

  private static ObjectMapper build() {
    JsonFactory factory = JsonFactory.builder()
        .streamReadConstraints(StreamReadConstraints.builder()
            .maxNestingDepth(MAX_NESTING_DEPTH)
            .maxNumberLength(100)
            // keys are bounded by the value and message limits, as in the SDKs; Jackson's 50,000
            // would refuse a whole push for one value the SDKs accept, and they would send it again
            .maxNameLength(Integer.MAX_VALUE)
            .build())
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
        // "😀" as its 4 UTF-8 bytes, not as an escaped surrogate pair: smaller, and the same
        // bytes as the hand-built delta encoding
        .enable(com.fasterxml.jackson.core.json.JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8)
        .build();
    SimpleModule wire = new SimpleModule("syncline-wire")
        .addSerializer(Delta.class, new DeltaSerializer())
        .addSerializer(PushResult.class, new PushResultSerializer())
        .addDeserializer(PushResult.class, new PushResultDeserializer());
    return JsonMapper.builder(factory)
        .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .disable(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
        .addModule(wire)
        .build();
  }

  /** Encodes any value; a failure here is a bug, not bad input. */
  public static byte[] bytes(Object value) {
    try {
      return MAPPER.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot encode " + value.getClass().getSimpleName(), e);
    }
  }

  private static final byte[] NULL = {'n', 'u', 'l', 'l'};
  private static final byte[] TRUE = {'t', 'r', 'u', 'e'};
  private static final byte[] FALSE = {'f', 'a', 'l', 's', 'e'};

  /**
   * A JSON value's compact UTF-8 encoding, as the mapper writes it; scalars without the mapper's
   * per-call set-up, which dominates for small values.
   */
  public static byte[] valueBytes(JsonNode value) {
    if (value.isNull()) return NULL;
    if (value.isBoolean()) return value.booleanValue() ? TRUE : FALSE;
    if (value.isTextual()) return quoted(value.textValue());
    if (value.isIntegralNumber() && value.canConvertToLong()) {
      return Long.toString(value.longValue()).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }
    return bytes(value);
  }

  /** A JSON string literal, quotes and escapes included, in UTF-8. */
  public static byte[] quoted(String s) {
    if (isPlain(s)) {
      byte[] out = new byte[s.length() + 2];
      putPlain(out, 0, s);
      return out;
    }
    byte[] body = com.fasterxml.jackson.core.io.JsonStringEncoder.getInstance().quoteAsUTF8(s);
    byte[] out = new byte[body.length + 2];
    out[0] = '"';
    System.arraycopy(body, 0, out, 1, body.length);
    out[out.length - 1] = '"';
    return out;
  }

  /**
   * {@link #quoted} of {@code s}, or null when {@code s} is all printable ASCII without {@code "}
   * or {@code \}: then its JSON string is its characters between quotes, and the caller can write
   * them without an intermediate array.
   */
  public static byte[] quotedUnlessPlain(String s) {
    return isPlain(s) ? null : quoted(s);
  }

  /** Writes {@code s}, plain (see {@link #quotedUnlessPlain}), as a JSON string at {@code at}; returns where it ends. */
  @SuppressWarnings("deprecation") // getBytes(int, int, byte[], int) keeps each char's low byte: exact for ASCII
  static int putPlain(byte[] out, int at, String s) {
    out[at] = '"';
    s.getBytes(0, s.length(), out, at + 1);
    out[at + 1 + s.length()] = '"';
    return at + s.length() + 2;
  }

  private static boolean isPlain(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
    }
    return true;
  }

  /** A delta on the wire: {@code {"col","id","attr","value","ts"}} plus {@code seq} once committed. */
  static final class DeltaSerializer extends JsonSerializer<Delta> {
    @Override
    public void serialize(Delta d, JsonGenerator g, SerializerProvider p) throws IOException {
      g.writeStartObject();
      g.writeStringField("col", d.col());
      g.writeStringField("id", d.id());
      g.writeStringField("attr", d.attr());
      g.writeFieldName("value");
      g.writeTree(d.value());
      g.writeStringField("ts", d.ts());
      if (d.seq() != 0) g.writeNumberField("seq", d.seq());
      g.writeEndObject();
    }
  }

  static final class PushResultSerializer extends JsonSerializer<PushResult> {
    @Override
    public void serialize(PushResult r, JsonGenerator g, SerializerProvider p) throws IOException {
      write(r, g);
    }

    /** One entry of {@code ack.results}; the hand-streamed ack writes its entries with this too. */
    static void write(PushResult r, JsonGenerator g) throws IOException {
      if (!r.isError()) {
        g.writeString(r.outcome().wire());
        return;
      }
      g.writeStartObject();
      g.writeStringField("error", r.error().wire());
      if (r.message() != null) g.writeStringField("message", r.message());
      if (r.serverTime() != null) g.writeNumberField("serverTime", r.serverTime());
      if (r.servers() != null) g.writeNumberField("servers", r.servers());
      g.writeEndObject();
    }
  }

  static final class PushResultDeserializer extends JsonDeserializer<PushResult> {
    @Override
    public PushResult deserialize(JsonParser parser, DeserializationContext ctx) throws IOException {
      // ctx.readTree, not parser.readValueAsTree: the latter reads as a root value and, with
      // FAIL_ON_TRAILING_TOKENS, refuses the rest of the message that follows this element
      JsonNode node = ctx.readTree(parser);
      if (node.isTextual()) return PushResult.of(Merge.Outcome.fromWire(node.textValue()));
      String message = node.hasNonNull("message") ? node.get("message").asText() : null;
      Long serverTime = node.hasNonNull("serverTime") ? node.get("serverTime").asLong() : null;
      Integer servers = node.hasNonNull("servers") ? node.get("servers").asInt() : null;
      return new PushResult(null, ErrorCode.fromWire(node.path("error").asText()), message, serverTime, servers);
    }
  }
}
