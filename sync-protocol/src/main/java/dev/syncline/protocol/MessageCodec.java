package dev.syncline.protocol;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Decodes and encodes protocol messages. Client messages are decoded by hand, field by field,
 * because the server faces hostile input and every fault must come back as a typed error that
 * names the field; server messages (trusted, decoded by SDKs and tools) go through databind.
 *
 * <p>Message types dispatch through one table, {@link #CLIENT_DECODERS}.
 */
public final class MessageCodec {
  private MessageCodec() {}

  /** The protocol version this codec speaks. */
  public static final int PROTOCOL_VERSION = 1;

  /** Longest {@code rid} string accepted. */
  public static final int MAX_RID_LENGTH = 128;

  /** Longest database name; names are {@code [A-Za-z0-9_.-]}, or {@code $system}. */
  public static final int MAX_DB_LENGTH = 64;

  /** Largest {@code push.w}: more servers than any cluster this protocol expects. */
  public static final int MAX_WRITE_QUORUM = 64;

  /** True for a database name: 1 to 64 of {@code [A-Za-z0-9_.-]}, where a reserved name starts with {@code $}. */
  public static boolean isDatabaseName(String db) {
    if (db == null || db.isEmpty() || db.length() > MAX_DB_LENGTH || db.equals("$")) return false;
    for (int i = 0; i < db.length(); i++) {
      char c = db.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '_' || c == '.' || c == '-' || (c == '$' && i == 0);
      if (!ok) return false;
    }
    return true;
  }

  @FunctionalInterface
  private interface Decoder {
    ClientMessage decode(Fields f, JsonNode rid, Limits limits) throws ProtocolException;
  }

  private static final Map<String, Decoder> CLIENT_DECODERS = Map.of(
      "hello", (f, rid, l) -> new ClientMessage.Hello(
          rid, f.requireInt("protocol"), f.requireOrigin("clientId"), f.optString("token", Integer.MAX_VALUE),
          f.obj.hasNonNull("peer") ? f.optObject("peer") : null),
      "login", (f, rid, l) -> new ClientMessage.Login(
          rid, f.requireString("username", 256), f.requireString("password", 1024)),
      "signup", (f, rid, l) -> new ClientMessage.Signup(
          rid, f.requireString("username", 256), f.requireString("password", 1024)),
      "renew", (f, rid, l) -> new ClientMessage.Renew(rid),
      "sub", (f, rid, l) -> new ClientMessage.Sub(
          rid, f.requireDb("db"), f.optCollections("cols", l), f.optSeq("since"), f.optString("epoch", 64)),
      "unsub", (f, rid, l) -> new ClientMessage.Unsub(rid, f.requireString("sid", 64)),
      "push", MessageCodec::decodePush,
      "admin", (f, rid, l) -> new ClientMessage.Admin(rid, f.requireString("op", 64), f.optObject("args")),
      "ping", (f, rid, l) -> new ClientMessage.Ping(rid));

  /** The client message types, in order, for the refusal of an unknown one. */
  private static final String CLIENT_TYPES = String.join(", ", new java.util.TreeSet<>(CLIENT_DECODERS.keySet()));

  /** Longest unknown type a refusal repeats in full. */
  private static final int SHOWN_TYPE_LENGTH = 40;

  /** The wire name of a client message type. */
  public static String typeOf(ClientMessage m) {
    if (m instanceof ClientMessage.Hello) return "hello";
    if (m instanceof ClientMessage.Login) return "login";
    if (m instanceof ClientMessage.Signup) return "signup";
    if (m instanceof ClientMessage.Renew) return "renew";
    if (m instanceof ClientMessage.Sub) return "sub";
    if (m instanceof ClientMessage.Unsub) return "unsub";
    if (m instanceof ClientMessage.Push) return "push";
    if (m instanceof ClientMessage.Admin) return "admin";
    return "ping";
  }

  /**
   * Decodes one client message. Throws with {@code bad_request} for anything malformed,
   * naming the field; per-delta faults of a push are not thrown but returned in
   * {@link ClientMessage.Push#rejects()}.
   */
  public static ClientMessage decodeClient(String text, Limits limits) throws ProtocolException {
    ClientMessage.Push push = StreamedPush.decode(text, limits);
    return push != null ? push : decodeTree(text, limits);
  }

  /** {@link #decodeClient} through a tree of the whole message: every message, every typed refusal. */
  static ClientMessage decodeTree(String text, Limits limits) throws ProtocolException {
    JsonNode root = parse(text);
    if (!(root instanceof ObjectNode obj)) throw ProtocolException.badRequest("a message must be a JSON object");
    JsonNode type = obj.get("type");
    if (type == null || !type.isTextual()) throw ProtocolException.badRequest("type: required string");
    Decoder decoder = CLIENT_DECODERS.get(type.textValue());
    if (decoder == null) {
      String name = type.textValue();
      // never echoed: a string the protocol forbids (§2), garbled with whatever follows it by the encoder
      if (Fields.hasUnpairedSurrogate(name)) throw ProtocolException.badRequest("type: unpaired surrogate");
      // cut between characters, never inside a surrogate pair (its half would garble the answer)
      String shown = name.codePointCount(0, name.length()) <= SHOWN_TYPE_LENGTH ? name
          : name.substring(0, name.offsetByCodePoints(0, SHOWN_TYPE_LENGTH)) + "…";
      throw ProtocolException.badRequest("type: unknown message type " + new TextNode(shown) + "; one of " + CLIENT_TYPES);
    }
    String fault = messageFault(obj);
    if (fault != null) throw ProtocolException.badRequest(fault);
    return decoder.decode(new Fields(obj), rid(obj), limits);
  }

  /**
   * A fault anywhere in a message, fields the decoder ignores included, except inside delta
   * values: those fail only their own delta (see {@link #decodeDelta}).
   */
  private static String messageFault(ObjectNode obj) {
    for (Map.Entry<String, JsonNode> field : obj.properties()) {
      if (Fields.hasUnpairedSurrogate(field.getKey())) return "unpaired surrogate in a key";
      JsonNode v = field.getValue();
      String fault = field.getKey().equals("deltas") && v.isArray() ? deltasFault(v) : valueFault(v);
      if (fault != null) return field.getKey() + ": " + fault;
    }
    return null;
  }

  /** The fields of a delta that {@link #decodeDelta} checks; a fault there fails only that delta. */
  private static final java.util.Set<String> DELTA_FIELDS = java.util.Set.of("col", "id", "attr", "value", "ts");

  private static String deltasFault(JsonNode deltas) {
    for (JsonNode d : deltas) {
      if (!d.isObject()) continue; // refused on its own as a delta
      for (Map.Entry<String, JsonNode> field : d.properties()) {
        if (Fields.hasUnpairedSurrogate(field.getKey())) return "unpaired surrogate in a key";
        if (DELTA_FIELDS.contains(field.getKey())) continue; // checked per delta
        String fault = valueFault(field.getValue());
        if (fault != null) return fault;
      }
    }
    return null;
  }

  /**
   * The {@code rid} of a message that failed to decode, when the message is strict JSON and its
   * rid is valid, so the error can carry it. Reads tokens only: no number is converted, so a
   * message refused for a number Java cannot hold still has its rid read.
   */
  public static JsonNode ridOf(String text) {
    try (JsonParser p = Json.MAPPER.createParser(text)) {
      if (p.nextToken() != JsonToken.START_OBJECT) return null;
      JsonNode rid = null;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        if (name.equals("rid")) rid = ridToken(p, value);
        else p.skipChildren();
      }
      return p.nextToken() == null ? rid : null;
    } catch (IOException e) {
      return null;
    }
  }

  /** A {@code rid} token as {@link #rid} would accept it, or null. */
  static JsonNode ridToken(JsonParser p, JsonToken token) throws IOException {
    if (token == JsonToken.VALUE_STRING) {
      String s = p.getText();
      return Fields.isLongerThan(s, MAX_RID_LENGTH) || Fields.hasUnpairedSurrogate(s) ? null : TextNode.valueOf(s);
    }
    if (token == JsonToken.VALUE_NUMBER_INT) {
      // as the tree would hold it: an int, a long, or (beyond 64 bits) no rid
      JsonParser.NumberType type = p.getNumberType();
      if (type == JsonParser.NumberType.INT) return IntNode.valueOf(p.getIntValue());
      if (type == JsonParser.NumberType.LONG) return LongNode.valueOf(p.getLongValue());
    }
    return null;
  }

  private static JsonNode parse(String text) throws ProtocolException {
    try {
      return Json.MAPPER.readTree(text);
    } catch (StreamConstraintsException e) {
      throw ProtocolException.badRequest("message nests or numbers too deeply");
    } catch (JacksonException e) {
      throw ProtocolException.badRequest("not valid JSON");
    } catch (NumberFormatException e) {
      // valid JSON, but an exponent beyond what a number can hold (e.g. 1e99999999999999999999)
      throw ProtocolException.badRequest(unreadableNumberAt(text) + ": number out of range (its exponent is too large)");
    }
  }

  /**
   * Where the first number that cannot be read as a decimal is, as {@code field} or
   * {@code deltas[0].value}; {@code message} when it cannot be told.
   */
  private static String unreadableNumberAt(String text) {
    try (JsonParser p = Json.MAPPER.createParser(text)) {
      for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
        if (t != JsonToken.VALUE_NUMBER_FLOAT) continue;
        try {
          p.getDecimalValue();
        } catch (NumberFormatException e) {
          return pathOf(p.getParsingContext());
        }
      }
    } catch (IOException | RuntimeException e) {
      // fall through: the caller still refuses the message
    }
    return "message";
  }

  private static String pathOf(JsonStreamContext at) {
    StringBuilder path = new StringBuilder();
    for (JsonStreamContext c = at; c != null && !c.inRoot(); c = c.getParent()) {
      String step = c.inArray() ? "[" + c.getCurrentIndex() + "]" : c.getCurrentName();
      boolean dot = path.length() > 0 && path.charAt(0) != '[';
      path.insert(0, dot ? step + "." : step);
    }
    return path.length() == 0 ? "message" : path.toString();
  }

  private static JsonNode rid(ObjectNode obj) throws ProtocolException {
    JsonNode rid = obj.get("rid");
    if (rid == null || rid.isNull()) return null;
    if (rid.isTextual()
        && !Fields.isLongerThan(rid.textValue(), MAX_RID_LENGTH)
        && !Fields.hasUnpairedSurrogate(rid.textValue())) {
      return rid;
    }
    if (rid.isIntegralNumber() && rid.canConvertToLong()) return rid;
    throw ProtocolException.badRequest("rid: must be a string of at most " + MAX_RID_LENGTH + " characters or an integer");
  }

  private static ClientMessage decodePush(Fields f, JsonNode rid, Limits limits) throws ProtocolException {
    String db = f.requireDb("db");
    int w = f.optIntIn("w", 1, MAX_WRITE_QUORUM);
    JsonNode raw = f.obj.get("deltas");
    if (raw == null || !raw.isArray()) throw ProtocolException.badRequest("deltas: required array");
    if (raw.isEmpty()) throw ProtocolException.badRequest("deltas: must not be empty");
    if (raw.size() > limits.maxDeltasPerPush()) {
      throw new ProtocolException(ErrorCode.TOO_LARGE,
          "deltas: at most " + limits.maxDeltasPerPush() + " per push, got " + raw.size());
    }
    List<Delta> deltas = new ArrayList<>(raw.size());
    List<ProtocolException> rejects = null;
    for (int i = 0; i < raw.size(); i++) {
      try {
        deltas.add(decodeDelta(raw.get(i), limits));
      } catch (ProtocolException e) {
        if (rejects == null) rejects = new ArrayList<>(Collections.nCopies(raw.size(), null));
        deltas.add(null);
        rejects.set(i, e);
      }
    }
    return new ClientMessage.Push(rid, db, deltas,
        rejects == null ? Collections.nCopies(raw.size(), null) : rejects, w);
  }

  /** Checks one delta as a client sends it; the server adds ownership and sequence itself. */
  public static Delta decodeDelta(JsonNode node, Limits limits) throws ProtocolException {
    if (!(node instanceof ObjectNode obj)) throw ProtocolException.badRequest("delta: must be an object");
    Fields f = new Fields(obj);
    String col = f.requireName("col", limits.maxColLength());
    if (col.startsWith("$")) throw ProtocolException.badRequest("col: names starting with $ are reserved");
    String id = f.requireName("id", limits.maxIdLength());
    String attr = f.requireName("attr", limits.maxAttrLength());
    JsonNode value = obj.get("value");
    if (value == null) throw ProtocolException.badRequest("value: required (null removes the attribute)");
    JsonNode ts = obj.get("ts");
    return checkedDelta(col, id, attr, value, ts != null && ts.isTextual() ? ts.textValue() : null, limits);
  }

  /**
   * The rest of {@link #decodeDelta}'s checks, in its order, once col, id and attr are checked
   * names and the value is present; {@code ts} is null when missing or not a string.
   */
  static Delta checkedDelta(String col, String id, String attr, JsonNode value, String ts, Limits limits)
      throws ProtocolException {
    if (attr.startsWith("$")) {
      if (!attr.equals(Delta.DELETED)) throw ProtocolException.badRequest("attr: " + attr + " is reserved");
      if (!value.isBoolean()) throw ProtocolException.badRequest("value: $deleted must be true or false");
    }
    String tsFault = Hlc.fault(ts);
    if (tsFault != null) throw ProtocolException.badRequest(tsFault);
    String fault = valueFault(value);
    if (fault != null) throw ProtocolException.badRequest("value: " + fault);
    int valueBytes = encodedSize(value);
    if (valueBytes > limits.maxValueBytes()) {
      throw new ProtocolException(ErrorCode.TOO_LARGE,
          "value: " + valueBytes + " bytes, at most " + limits.maxValueBytes());
    }
    return new Delta(col, id, attr, value, ts);
  }

  /**
   * What makes a JSON value unfit to store, or null when it is fine: a string or key with an
   * unpaired surrogate, or a number too large for a double (JavaScript would read it as Infinity
   * and write it back as null). Recursion is bounded by {@link Json#MAX_NESTING_DEPTH}.
   */
  static String valueFault(JsonNode node) {
    if (node.isTextual()) {
      return Fields.hasUnpairedSurrogate(node.textValue()) ? "unpaired surrogate in a string" : null;
    }
    if (node.isNumber()) {
      return Double.isInfinite(node.doubleValue()) ? "number out of range (beyond a double's)" : null;
    }
    if (node.isArray()) {
      for (JsonNode item : node) {
        String fault = valueFault(item);
        if (fault != null) return fault;
      }
      return null;
    }
    if (node.isObject()) {
      for (Map.Entry<String, JsonNode> field : node.properties()) {
        if (Fields.hasUnpairedSurrogate(field.getKey())) return "unpaired surrogate in a key";
        String fault = valueFault(field.getValue());
        if (fault != null) return fault;
      }
    }
    return null;
  }

  /** Bytes of the value's compact UTF-8 JSON encoding, which is how it is stored and sent. */
  private static int encodedSize(JsonNode value) {
    return Json.valueBytes(value).length;
  }

  // ---- encoding ----

  public static byte[] encode(ServerMessage message) {
    if (message instanceof ServerMessage.Ack ack) return encodeAck(ack);
    return Json.bytes(message);
  }

  /**
   * {@code ack} is the most frequent answer: built by hand from constant parts, the same bytes as
   * the general path ({@code MessageCodecTest} compares them on random acks).
   */
  private static byte[] encodeAck(ServerMessage.Ack ack) {
    com.fasterxml.jackson.core.util.ByteArrayBuilder out =
        new com.fasterxml.jackson.core.util.ByteArrayBuilder(64 + 12 * ack.results().size());
    out.write(ACK_TYPE);
    if (ack.rid() != null) {
      out.write(ACK_RID);
      // a rid is a string or an integer (see rid())
      JsonNode rid = ack.rid();
      out.write(rid.isTextual() ? Json.quoted(rid.textValue())
          : rid.canConvertToLong() ? ascii(Long.toString(rid.longValue())) : Json.bytes(rid));
    }
    out.write(ACK_DB);
    out.write(Json.quoted(ack.db()));
    out.write(ACK_SEQ);
    out.write(ascii(Long.toString(ack.seq())));
    out.write(ACK_RESULTS);
    for (int i = 0; i < ack.results().size(); i++) {
      PushResult r = ack.results().get(i);
      if (i > 0) out.write(',');
      out.write(r.isError() ? Json.bytes(r) : OUTCOMES[r.outcome().ordinal()]);
    }
    out.write(ACK_END);
    return out.toByteArray();
  }

  private static final byte[] ACK_TYPE = ascii("{\"type\":\"ack\"");
  private static final byte[] ACK_RID = ascii(",\"rid\":");
  private static final byte[] ACK_DB = ascii(",\"db\":");
  private static final byte[] ACK_SEQ = ascii(",\"seq\":");
  private static final byte[] ACK_RESULTS = ascii(",\"results\":[");
  private static final byte[] ACK_END = ascii("]}");
  /** Each merge outcome as a JSON string, by ordinal. */
  private static final byte[][] OUTCOMES = java.util.Arrays.stream(Merge.Outcome.values())
      .map(o -> Json.quoted(o.wire())).toArray(byte[][]::new);

  public static String encodeToString(ServerMessage message) {
    return new String(encode(message), java.nio.charset.StandardCharsets.UTF_8);
  }

  /** Encodes a client message, for SDKs and tools. */
  public static String encode(ClientMessage message) {
    ObjectNode o = Json.MAPPER.createObjectNode();
    o.put("type", typeOf(message));
    if (message.rid() != null) o.set("rid", message.rid());
    if (message instanceof ClientMessage.Hello h) {
      o.put("protocol", h.protocol()).put("clientId", h.clientId());
      if (h.token() != null) o.put("token", h.token());
    } else if (message instanceof ClientMessage.Login l) {
      o.put("username", l.username()).put("password", l.password());
    } else if (message instanceof ClientMessage.Signup l) {
      o.put("username", l.username()).put("password", l.password());
    } else if (message instanceof ClientMessage.Sub s) {
      o.put("db", s.db());
      if (s.cols() != null) s.cols().forEach(o.putArray("cols")::add);
      if (s.since() != 0) o.put("since", s.since());
      if (s.epoch() != null) o.put("epoch", s.epoch());
    } else if (message instanceof ClientMessage.Unsub u) {
      o.put("sid", u.sid());
    } else if (message instanceof ClientMessage.Push p) {
      o.put("db", p.db());
      ArrayNode arr = o.putArray("deltas");
      for (Delta d : p.deltas()) arr.add(Json.MAPPER.valueToTree(d));
      if (p.w() != 0) o.put("w", p.w());
    } else if (message instanceof ClientMessage.Admin a) {
      o.put("op", a.op());
      if (a.args() != null) o.set("args", a.args());
    }
    return o.toString();
  }

  /** Decodes a server message, for SDKs and tools. */
  public static ServerMessage decodeServer(String text) throws IOException {
    try {
      JsonNode tree = Json.MAPPER.readTree(text);
      if (tree == null || !tree.isObject()) throw new IOException("not a JSON object");
      ServerMessage m = Json.MAPPER.readValue(Json.MAPPER.treeAsTokens(tree), ServerMessage.class);
      // Jackson does not read the marks (a field of a delta, not of the record)
      if (m instanceof ServerMessage.Changes c && c.deltas() != null && tree.path("deltas").size() == c.deltas().size()) {
        List<Delta> valuesPurged = valuesPurged(c.deltas(), tree.get("deltas"));
        if (!valuesPurged.isEmpty()) m = new ServerMessage.Changes(c.sid(), c.db(), c.seq(), c.deltas(), valuesPurged);
      }
      return m;
    } catch (NumberFormatException e) {
      throw new IOException("a number out of range", e);
    }
  }

  /** Encodes one delta exactly as it appears inside {@code changes.deltas}. */
  /**
   * The encoding of an uncommitted delta without its closing brace, so that the committed form is
   * this plus {@link #withSeq}: encoding (the costly part) can happen before the seq is known.
   * Built by hand — it runs for every delta written — and byte-for-byte the same as the general
   * encoder ({@code MessageCodecTest} checks that).
   */
  public static byte[] encodeDeltaOpen(Delta d) {
    // one array, no intermediate ones for the common names that need no escaping
    byte[] col = Json.quotedUnlessPlain(d.col());
    byte[] id = Json.quotedUnlessPlain(d.id());
    byte[] attr = Json.quotedUnlessPlain(d.attr());
    byte[] ts = Json.quotedUnlessPlain(d.ts());
    byte[] value = Json.valueBytes(d.value());
    byte[] out = new byte[OPEN_FIXED_BYTES + quotedLength(d.col(), col) + quotedLength(d.id(), id)
        + quotedLength(d.attr(), attr) + value.length + quotedLength(d.ts(), ts)];
    int at = put(out, 0, COL);
    at = putQuoted(out, at, d.col(), col);
    at = put(out, at, ID);
    at = putQuoted(out, at, d.id(), id);
    at = put(out, at, ATTR);
    at = putQuoted(out, at, d.attr(), attr);
    at = put(out, at, VALUE);
    at = put(out, at, value);
    at = put(out, at, TS);
    putQuoted(out, at, d.ts(), ts);
    return out;
  }

  private static int quotedLength(String s, byte[] quoted) {
    return quoted != null ? quoted.length : s.length() + 2;
  }

  private static int put(byte[] out, int at, byte[] part) {
    System.arraycopy(part, 0, out, at, part.length);
    return at + part.length;
  }

  /** {@code s} as a JSON string: {@code quoted} when it needed escaping, else its chars as they are. */
  private static int putQuoted(byte[] out, int at, String s, byte[] quoted) {
    return quoted != null ? put(out, at, quoted) : Json.putPlain(out, at, s);
  }

  private static final byte[] COL = ascii("{\"col\":");
  private static final byte[] ID = ascii(",\"id\":");
  private static final byte[] ATTR = ascii(",\"attr\":");
  private static final byte[] VALUE = ascii(",\"value\":");
  private static final byte[] TS = ascii(",\"ts\":");
  private static final int OPEN_FIXED_BYTES = COL.length + ID.length + ATTR.length + VALUE.length + TS.length;

  private static byte[] ascii(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  }

  /**
   * A delta as a server stored or forwarded it (a peer's feed, a dump): it was checked when it was
   * first taken, so only its shape, and that its value is one a server stores ({@link #valueFault}),
   * are checked here — unlike {@link #decodeDelta}, reserved attributes such as {@code $owner} pass.
   * Throws {@link IllegalArgumentException} naming the field.
   */
  public static Delta decodeStoredDelta(JsonNode d) {
    String col = storedText(d, "col");
    String id = storedText(d, "id");
    String attr = storedText(d, "attr");
    String ts = storedText(d, "ts");
    JsonNode value = d.get("value");
    if (value == null) throw new IllegalArgumentException("value: missing in " + d);
    if (!Hlc.isValid(ts)) throw new IllegalArgumentException("ts: not a timestamp in " + d);
    // what no server stores: a lone surrogate would fail the encoder later, or be merged with its neighbour
    String fault = valueFault(value);
    if (fault != null) throw new IllegalArgumentException("value: " + fault + " in " + d);
    // as from a client: readers and the purge would read another value differently (1 is not a destroy to readers)
    if (attr.equals(Delta.DELETED) && !value.isBoolean()) throw new IllegalArgumentException("value: $deleted must be true or false in " + d);
    return new Delta(col, id, attr, value, ts);
  }

  private static String storedText(JsonNode d, String field) {
    JsonNode v = d.get(field);
    if (v == null || !v.isTextual() || v.textValue().isEmpty() || v.textValue().indexOf('\0') >= 0) {
      throw new IllegalArgumentException(field + ": not a non-empty string in " + d);
    }
    return v.textValue();
  }

  /**
   * A {@code changes} frame as a server sends it, to a peer or to a client: {@code sid}, {@code db},
   * {@code seq} and stored deltas ({@link #decodeStoredDelta}). Throws {@link IllegalArgumentException}
   * naming the field that is wrong; other fields are passed over.
   */
  public static ServerMessage.Changes decodeChanges(JsonNode m) {
    JsonNode sid = m.path("sid");
    if (!sid.isTextual() || sid.textValue().isEmpty()) throw new IllegalArgumentException("sid: not a non-empty string");
    JsonNode db = m.path("db");
    if (!db.isTextual() || !isDatabaseName(db.textValue())) throw new IllegalArgumentException("db: not a database name");
    JsonNode seq = m.path("seq");
    if (!seq.isIntegralNumber() || !seq.canConvertToLong() || seq.longValue() < 0) {
      throw new IllegalArgumentException("seq: not a whole number of 0 or more");
    }
    JsonNode array = m.get("deltas");
    List<Delta> deltas = decodeStoredDeltas(array);
    return new ServerMessage.Changes(sid.textValue(), db.textValue(), seq.longValue(), deltas, valuesPurged(deltas, array));
  }

  /** The {@code $deleted = true} of {@code deltas} whose encoding (same index in {@code array}) is marked {@link #VALUES_PURGED}. */
  private static List<Delta> valuesPurged(List<Delta> deltas, JsonNode array) {
    List<Delta> valuesPurged = List.of();
    for (int i = 0; i < deltas.size(); i++) {
      Delta delta = deltas.get(i);
      // the attribute first: a peer's catch-up decodes a million of these, hardly any a $deleted
      if (delta.attr().equals(Delta.DELETED) && delta.value().asBoolean(false) && array.get(i).path(VALUES_PURGED).asBoolean(false)) {
        if (valuesPurged.isEmpty()) valuesPurged = new ArrayList<>();
        valuesPurged.add(delta);
      }
    }
    return valuesPurged;
  }

  /**
   * Marks a stored {@code $deleted = true} (§6) that a server commits again once it purged the
   * values it hides, so that clients drop their copies of them too.
   */
  public static final String VALUES_PURGED = "valuesPurged";

  /** {@link #encodeDeltaOpen an open encoding} with {@code "valuesPurged":true} added (once). */
  public static byte[] withValuesPurged(byte[] open) {
    int from = open.length - VALUES_PURGED_FIELD.length;
    if (from > 0 && java.util.Arrays.equals(open, from, open.length, VALUES_PURGED_FIELD, 0, VALUES_PURGED_FIELD.length)) return open;
    byte[] out = java.util.Arrays.copyOf(open, open.length + VALUES_PURGED_FIELD.length);
    put(out, open.length, VALUES_PURGED_FIELD);
    return out;
  }

  private static final byte[] VALUES_PURGED_FIELD = ascii(",\"" + VALUES_PURGED + "\":true");

  /** An array of {@link #decodeStoredDelta stored deltas} (a changes frame's, a repair page's). */
  public static List<Delta> decodeStoredDeltas(JsonNode array) {
    if (array == null || !array.isArray()) throw new IllegalArgumentException("deltas: not an array");
    List<Delta> deltas = new ArrayList<>(array.size());
    for (JsonNode d : array) deltas.add(decodeStoredDelta(d));
    return deltas;
  }

  /** Closes an {@link #encodeDeltaOpen} encoding with its seq: {@code …,"seq":N}}. */
  public static byte[] withSeq(byte[] open, long seq) {
    if (seq < 0) throw new IllegalArgumentException("seq: negative " + seq);
    int digits = 1;
    for (long rest = seq / 10; rest > 0; rest /= 10) digits++;
    // the writer closes every delta it stores: digits written in place, no string in between
    byte[] out = java.util.Arrays.copyOf(open, open.length + SEQ.length + digits + 1);
    int at = put(out, open.length, SEQ) + digits;
    out[at] = '}';
    for (long rest = seq; at > open.length + SEQ.length; rest /= 10) out[--at] = (byte) ('0' + rest % 10);
    return out;
  }

  private static final byte[] SEQ = ascii(",\"seq\":");

  public static byte[] encodeDelta(Delta delta) {
    return Json.bytes(delta);
  }
}
