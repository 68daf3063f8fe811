package dev.syncline.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DecimalNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class MessageCodecTest {
  private static final Limits LIMITS = Limits.defaults();
  private static final String TS = "1732212345678-0000-c7f3a";

  private static ClientMessage decode(String text) throws ProtocolException {
    return MessageCodec.decodeClient(text, LIMITS);
  }

  private static ProtocolException refused(String text) {
    return assertThrows(ProtocolException.class, () -> decode(text));
  }

  private static String push(String valueJson) {
    return "{\"type\":\"push\",\"db\":\"d\",\"deltas\":[{\"col\":\"c\",\"id\":\"i\",\"attr\":\"a\",\"value\":"
        + valueJson + ",\"ts\":\"" + TS + "\"}]}";
  }

  @Test
  @DisplayName("the default limits are the ones PROTOCOL.md states")
  void defaultLimits() {
    Limits l = Limits.defaults();
    assertEquals(1 << 20, l.maxMessageBytes());
    assertEquals(1000, l.maxDeltasPerPush());
    assertEquals(256, l.maxIdLength());
    assertEquals(256, l.maxColLength());
    assertEquals(256, l.maxAttrLength());
    assertEquals(65536, l.maxValueBytes());
    assertEquals(60_000, l.maxClockSkewMs());
    assertEquals(100, l.maxSubscriptions());
  }

  // ---- client messages: encode then decode gives the same message ----

  @Test
  @DisplayName("every client message type survives encode then decode")
  void clientRoundTrips() throws ProtocolException {
    ObjectNode args = Json.MAPPER.createObjectNode().put("db", "todos");
    List<Delta> deltas = List.of(
        new Delta("todos", "t1", "title", TextNode.valueOf("Buy milk"), TS),
        new Delta("todos", "t1", "done", BooleanNode.TRUE, TS),
        new Delta("todos", "t1", "note", NullNode.getInstance(), TS),
        new Delta("todos", "t1", Delta.DELETED, BooleanNode.FALSE, TS));
    List<ClientMessage> messages = List.of(
        new ClientMessage.Hello(IntNode.valueOf(1), 1, "c7f3a", null),
        new ClientMessage.Hello(TextNode.valueOf("r"), 1, "c7f3a", "jwt.token.here"),
        new ClientMessage.Login(null, "zoë", "pässwörd"),
        new ClientMessage.Sub(IntNode.valueOf(3), "todos", null, 0, null),
        new ClientMessage.Sub(null, "todos", List.of("todos", "lists"), 42, "m3x9k2-1f3a"),
        new ClientMessage.Unsub(TextNode.valueOf("u"), "s1"),
        ClientMessage.Push.of(LongNode.valueOf(-5), "todos", deltas),
        new ClientMessage.Push(null, "todos", deltas, Collections.nCopies(deltas.size(), null), 3),
        new ClientMessage.Admin(IntNode.valueOf(9), "db.create", args),
        new ClientMessage.Admin(null, "db.list", Json.MAPPER.createObjectNode()),
        new ClientMessage.Ping(null),
        new ClientMessage.Ping(TextNode.valueOf("p")));
    for (ClientMessage m : messages) {
      String text = MessageCodec.encode(m);
      ClientMessage back = decode(text);
      JsonValues.assertJsonEquals(JsonValues.normalForm(m), JsonValues.normalForm(back), text);
      assertEquals(m.getClass(), back.getClass(), text);
    }
  }

  @Test
  @DisplayName("random pushes survive encode then decode with every value intact")
  void randomPushRoundTrips() throws ProtocolException {
    long seed = new Random().nextLong();
    Random random = new Random(seed);
    for (int i = 0; i < 500; i++) {
      List<Delta> deltas = new ArrayList<>();
      int n = 1 + random.nextInt(5);
      for (int j = 0; j < n; j++) {
        deltas.add(new Delta(name(random), name(random), name(random), value(random, 3),
            new Hlc(random.nextInt(1 << 30), random.nextInt(Hlc.MAX_COUNTER + 1), "o" + random.nextInt(99)).format()));
      }
      ClientMessage.Push p = ClientMessage.Push.of(IntNode.valueOf(i), "db", deltas);
      String text = MessageCodec.encode(p);
      ClientMessage.Push back = assertInstanceOf(ClientMessage.Push.class, decode(text), "seed " + seed);
      assertEquals(Collections.nCopies(n, null), back.rejects(), "seed " + seed + ": " + text);
      for (int j = 0; j < n; j++) {
        Delta a = deltas.get(j);
        Delta b = back.deltas().get(j);
        assertEquals(List.of(a.col(), a.id(), a.attr(), a.ts()), List.of(b.col(), b.id(), b.attr(), b.ts()), "seed " + seed);
        JsonValues.assertJsonEquals(a.value(), b.value(), "seed " + seed + ": " + text);
      }
    }
  }

  private static String name(Random r) {
    String[] parts = {"a", "Z", "é", "名", "😀", " ", "$", "-", "0"};
    StringBuilder sb = new StringBuilder("n");
    int len = r.nextInt(6);
    for (int i = 0; i < len; i++) sb.append(parts[r.nextInt(parts.length)]);
    return sb.toString();
  }

  private static JsonNode value(Random r, int depth) {
    switch (depth == 0 ? r.nextInt(5) : r.nextInt(7)) {
      case 0: return NullNode.getInstance();
      case 1: return BooleanNode.valueOf(r.nextBoolean());
      case 2: return IntNode.valueOf(r.nextInt());
      case 3: return DecimalNode.valueOf(new BigDecimal(r.nextInt(100000)).movePointLeft(r.nextInt(4)));
      case 4: return TextNode.valueOf(name(r) + "\n\t\"\\\u0001");
      case 5: {
        var a = Json.MAPPER.createArrayNode();
        for (int i = r.nextInt(3); i > 0; i--) a.add(value(r, depth - 1));
        return a;
      }
      default: {
        var o = Json.MAPPER.createObjectNode();
        for (int i = r.nextInt(3); i > 0; i--) o.set(name(r), value(r, depth - 1));
        return o;
      }
    }
  }

  // ---- server messages: encode then decodeServer gives the same record ----

  @Test
  @DisplayName("every server message type survives encode then decodeServer")
  void serverRoundTrips() throws Exception {
    List<Delta> changes = List.of(new Delta("todos", "t1", "title", TextNode.valueOf("x"), TS, 7),
        new Delta("todos", "t1", "note", NullNode.getInstance(), TS, 8));
    List<ServerMessage> messages = List.of(
        new ServerMessage.Welcome(IntNode.valueOf(1), 1, "node-a", 1_732_212_345_678L, null, LIMITS),
        new ServerMessage.Welcome(null, 1, "node-a", 5, new UserInfo("alice", List.of("admin")), LIMITS),
        new ServerMessage.Token(TextNode.valueOf("l"), "jwt", 99, new UserInfo("alice", List.of())),
        new ServerMessage.Subscribed(IntNode.valueOf(3), "s1", "todos", 12, "m3x9k2-1f3a"),
        new ServerMessage.Changes("s1", "todos", 9, changes),
        new ServerMessage.Synced("s1", 9),
        new ServerMessage.Reset("s1", "e2"),
        new ServerMessage.Ack(IntNode.valueOf(7), "todos", 9, List.of(
            PushResult.of(Merge.Outcome.APPLIED), PushResult.of(Merge.Outcome.SUPERSEDED),
            PushResult.of(Merge.Outcome.DUPLICATE), PushResult.refused(ErrorCode.CLOCK_SKEW, "ahead"),
            PushResult.refused(ErrorCode.BAD_REQUEST, null), PushResult.quorumTimeout(1, "held by 1 server"))),
        new ServerMessage.Result(IntNode.valueOf(9), Json.MAPPER.createObjectNode().put("db", "todos").put("created", true)),
        new ServerMessage.Ok(TextNode.valueOf("u")),
        new ServerMessage.Pong(null),
        ServerMessage.Error.of(null, ErrorCode.BAD_REQUEST, "type: unknown message type"),
        new ServerMessage.Error(IntNode.valueOf(4), ErrorCode.OVERLOADED, "busy", 250L, null, null, null),
        new ServerMessage.Error(null, ErrorCode.CLOCK_SKEW, "ahead", null, 1_732_212_345_678L, 2, null),
        new ServerMessage.Error(null, ErrorCode.NOT_FOUND, "gone", null, null, null, "s1"));
    for (ServerMessage m : messages) {
      String text = MessageCodec.encodeToString(m);
      assertEquals(m, MessageCodec.decodeServer(text), text);
    }
  }

  @Test
  @DisplayName("push.w is an integer from 1 to 64; anything else refuses the whole push naming w; absent or null is 0")
  void writeQuorum() throws ProtocolException {
    String push = "{\"type\":\"push\",\"db\":\"d\",%s\"deltas\":[{\"col\":\"c\",\"id\":\"i\",\"attr\":\"a\",\"value\":1,\"ts\":\"" + TS + "\"}]}";
    assertEquals(0, ((ClientMessage.Push) decode(push.formatted(""))).w());
    assertEquals(0, ((ClientMessage.Push) decode(push.formatted("\"w\":null,"))).w());
    assertEquals(1, ((ClientMessage.Push) decode(push.formatted("\"w\":1,"))).w());
    assertEquals(64, ((ClientMessage.Push) decode(push.formatted("\"w\":64,"))).w());
    for (String bad : List.of("0", "-1", "65", "2147483648", "1.5", "2.0", "1e0", "\"2\"", "true", "[2]", "{}")) {
      ProtocolException e = refused(push.formatted("\"w\":" + bad + ","));
      assertEquals(ErrorCode.BAD_REQUEST, e.code(), bad);
      assertTrue(e.getMessage().startsWith("w: "), bad + ": " + e.getMessage());
    }
    // the encoder leaves out a w that was not given
    assertTrue(!MessageCodec.encode(ClientMessage.Push.of(null, "d", List.of(new Delta("c", "i", "a", null, TS)))).contains("\"w\""));
  }

  @Test
  @DisplayName("the hand-built ack equals the general encoder's, byte for byte, on random acks")
  void ackEncodingMatchesTheMapper() {
    long seed = new Random().nextLong();
    Random r = new Random(seed);
    JsonNode[] rids = {null, IntNode.valueOf(0), IntNode.valueOf(-7), LongNode.valueOf(Long.MAX_VALUE), TextNode.valueOf("r-1"),
        TextNode.valueOf("quote\" \\ tab\t zoë 😀"), TextNode.valueOf("")};
    PushResult[] results = {PushResult.of(Merge.Outcome.APPLIED), PushResult.of(Merge.Outcome.SUPERSEDED),
        PushResult.of(Merge.Outcome.DUPLICATE), PushResult.refused(ErrorCode.BAD_REQUEST, "col: \"x\" is reserved"),
        PushResult.refused(ErrorCode.FORBIDDEN, null), PushResult.clockSkew("ahead", 1_732_212_345_678L),
        PushResult.quorumTimeout(2, "held by 2")};
    String[] dbs = {"todos", "a.b-c_d", "$system"};
    for (int i = 0; i < 500; i++) {
      List<PushResult> rs = new ArrayList<>();
      for (int n = r.nextInt(6); n >= 0; n--) rs.add(results[r.nextInt(results.length)]);
      ServerMessage.Ack ack = new ServerMessage.Ack(rids[r.nextInt(rids.length)], dbs[r.nextInt(dbs.length)],
          r.nextBoolean() ? r.nextInt(10) : r.nextLong() & Long.MAX_VALUE, rs);
      assertEquals(new String(Json.bytes(ack), StandardCharsets.UTF_8), MessageCodec.encodeToString(ack), "seed " + seed);
    }
  }

  @Test
  @DisplayName("a quorum_timeout result carries servers, in the hand-streamed ack and the general encoder alike")
  void quorumTimeoutResult() throws Exception {
    ServerMessage.Ack ack = new ServerMessage.Ack(IntNode.valueOf(4), "todos", 9,
        List.of(PushResult.quorumTimeout(2, "held by 2"), PushResult.of(Merge.Outcome.APPLIED)));
    String expected = "{\"type\":\"ack\",\"rid\":4,\"db\":\"todos\",\"seq\":9,\"results\":"
        + "[{\"error\":\"quorum_timeout\",\"message\":\"held by 2\",\"servers\":2},\"applied\"]}";
    assertEquals(expected, MessageCodec.encodeToString(ack));
    assertEquals(expected, new String(Json.bytes(ack), StandardCharsets.UTF_8));
    PushResult back = ((ServerMessage.Ack) MessageCodec.decodeServer(expected)).results().get(0);
    assertEquals(ErrorCode.QUORUM_TIMEOUT, back.error());
    assertEquals(2, back.servers());
  }

  @Test
  @DisplayName("welcome writes user as null for a connection that is not signed in")
  void welcomeUserNull() {
    String text = MessageCodec.encodeToString(new ServerMessage.Welcome(null, 1, "n", 5, null, LIMITS));
    assertTrue(text.contains("\"user\":null"), text);
  }

  @Test
  @DisplayName("a delta inside changes is {col,id,attr,value,ts,seq}, with the value's number text kept exactly")
  void deltaEncoding() throws Exception {
    JsonNode value = Json.MAPPER.readTree("1.50");
    assertEquals("{\"col\":\"c\",\"id\":\"i\",\"attr\":\"a\",\"value\":1.50,\"ts\":\"" + TS + "\",\"seq\":3}",
        new String(MessageCodec.encodeDelta(new Delta("c", "i", "a", value, TS, 3)), StandardCharsets.UTF_8));
    assertEquals("{\"col\":\"c\",\"id\":\"i\",\"attr\":\"a\",\"value\":null,\"ts\":\"" + TS + "\"}",
        new String(MessageCodec.encodeDelta(new Delta("c", "i", "a", null, TS)), StandardCharsets.UTF_8));
  }

  @Test
  @DisplayName("decoded values keep numbers exactly: 1.50 stays 1.50, big integers and long fractions stay exact")
  void exactNumbers() throws ProtocolException {
    ClientMessage.Push p = (ClientMessage.Push) decode(push("[1.50, 12345678901234567890123, 0.1000000000000000000001]"));
    assertEquals("[1.50,12345678901234567890123,0.1000000000000000000001]", p.deltas().get(0).value().toString());
    // an exponent may be re-written, with the same value
    JsonNode e = ((ClientMessage.Push) decode(push("1e2"))).deltas().get(0).value();
    assertEquals(0, e.decimalValue().compareTo(new BigDecimal(100)), e.toString());
  }

  // ---- limits at their defaults (the vectors test them with small configured limits) ----

  @Test
  @DisplayName("a value of exactly 64 KiB encoded is accepted, one byte more is too_large")
  void valueBytesAtDefault() throws ProtocolException {
    String fits = "\"" + "x".repeat(65536 - 2) + "\"";
    assertNull(((ClientMessage.Push) decode(push(fits))).rejects().get(0));
    ClientMessage.Push over = (ClientMessage.Push) decode(push("\"" + "x".repeat(65536 - 1) + "\""));
    assertEquals(ErrorCode.TOO_LARGE, over.rejects().get(0).code());
    // escapes count as written: each \n is 2 bytes
    ClientMessage.Push escaped = (ClientMessage.Push) decode(push("\"" + "\\n".repeat(32767) + "\""));
    assertNull(escaped.rejects().get(0));
    escaped = (ClientMessage.Push) decode(push("\"" + "\\n".repeat(32768) + "\""));
    assertEquals(ErrorCode.TOO_LARGE, escaped.rejects().get(0).code());
  }

  @Test
  @DisplayName("a long unknown type is shown cut after 40 characters, never inside a surrogate pair")
  void unknownTypeCutBetweenCharacters() {
    String type = "a".repeat(39) + "\uD83D\uDE00" + "x".repeat(10);
    ProtocolException e = refused("{\"type\":\"" + type + "\"}");
    assertTrue(e.getMessage().contains("\"" + "a".repeat(39) + "\uD83D\uDE00…\""), e.getMessage());
  }

  @Test
  @DisplayName("an object key as long as a value may be is accepted, as the SDKs do (Jackson's own limit is 50,000 characters)")
  void longObjectKey() throws Exception {
    String key = "k".repeat(60_000);
    ClientMessage.Push p = (ClientMessage.Push) decode(push("{\"" + key + "\":1}"));
    assertNull(p.rejects().get(0));
    assertTrue(p.deltas().get(0).value().has(key));
    JsonNode tree = assertInstanceOf(JsonNode.class, Json.MAPPER.readTree("{\"" + key + "\":1}"), "the tree decoder too");
    assertTrue(tree.has(key));
  }

  @Test
  @DisplayName("1000 deltas in a push are accepted, 1001 are too_large")
  void deltasPerPushAtDefault() throws ProtocolException {
    String delta = "{\"col\":\"c\",\"id\":\"i\",\"attr\":\"a\",\"value\":1,\"ts\":\"" + TS + "\"}";
    String ok = "{\"type\":\"push\",\"db\":\"d\",\"deltas\":[" + String.join(",", Collections.nCopies(1000, delta)) + "]}";
    assertEquals(1000, ((ClientMessage.Push) decode(ok)).deltas().size());
    String over = "{\"type\":\"push\",\"db\":\"d\",\"deltas\":[" + String.join(",", Collections.nCopies(1001, delta)) + "]}";
    assertEquals(ErrorCode.TOO_LARGE, refused(over).code());
  }

  @Test
  @DisplayName("a hello token of any length decodes: the server, not the decoder, refuses an oversized one (unauthenticated)")
  void tokenLength() throws ProtocolException {
    String hello = "{\"type\":\"hello\",\"protocol\":1,\"clientId\":\"c\",\"token\":\"%s\"}";
    assertEquals(20000, ((ClientMessage.Hello) decode(hello.formatted("t".repeat(20000)))).token().length());
    assertEquals(ErrorCode.BAD_REQUEST, refused(hello.formatted("")).code());
  }

  @Test
  @DisplayName("a login password may be 1024 characters, not more")
  void passwordLength() throws ProtocolException {
    String login = "{\"type\":\"login\",\"username\":\"u\",\"password\":\"%s\"}";
    assertEquals(1024, ((ClientMessage.Login) decode(login.formatted("p".repeat(1024)))).password().length());
    assertEquals(ErrorCode.BAD_REQUEST, refused(login.formatted("p".repeat(1025))).code());
  }

  @Test
  @DisplayName("integer fields refuse 1.0 and 1e0: integers are written without fraction or exponent")
  void integersWithoutFraction() {
    assertEquals(ErrorCode.BAD_REQUEST, refused("{\"type\":\"hello\",\"protocol\":1.0,\"clientId\":\"c\"}").code());
    assertEquals(ErrorCode.BAD_REQUEST, refused("{\"type\":\"sub\",\"db\":\"d\",\"since\":1e2}").code());
    assertEquals(ErrorCode.BAD_REQUEST, refused("{\"type\":\"ping\",\"rid\":2.0}").code());
  }

  @Test
  @DisplayName("since accepts the whole non-negative 64-bit range")
  void sinceRange() throws ProtocolException {
    assertEquals(Long.MAX_VALUE, ((ClientMessage.Sub) decode("{\"type\":\"sub\",\"db\":\"d\",\"since\":9223372036854775807}")).since());
    assertEquals(ErrorCode.BAD_REQUEST, refused("{\"type\":\"sub\",\"db\":\"d\",\"since\":9223372036854775808}").code());
  }

  // ---- rid of refused messages ----

  @Test
  @DisplayName("ridOf finds the rid of a message refused for another reason, so the error can carry it")
  void ridOfRefused() {
    String text = "{\"type\":\"sub\",\"rid\":42,\"db\":\"no such\"}";
    refused(text);
    assertEquals(IntNode.valueOf(42), MessageCodec.ridOf(text));
    assertEquals(TextNode.valueOf("r"), MessageCodec.ridOf("{\"type\":\"nope\",\"rid\":\"r\"}"));
    assertNull(MessageCodec.ridOf("{\"type\":\"ping\",\"rid\":[1]}"));
    assertNull(MessageCodec.ridOf("{\"type\":\"ping\",\"rid\":\"\\ud800\"}"));
    assertNull(MessageCodec.ridOf("not json"));
    assertNull(MessageCodec.ridOf("[1]"));
    assertNull(MessageCodec.ridOf("{\"type\":\"ping\",\"rid\":1,\"rid\":1}"));
    assertNull(MessageCodec.ridOf("{\"type\":\"ping\",\"rid\":18446744073709551616}"));
    assertEquals(LongNode.valueOf(1L << 40), MessageCodec.ridOf("{\"type\":\"ping\",\"rid\":1099511627776}"));
  }

  @Test
  @DisplayName("a number no decimal can hold (exponent past 32 bits) is bad_request naming where it is, and the rid is still read")
  void unreadableNumbers() {
    String huge = "1e99999999999999999999";
    String push = "{\"type\":\"push\",\"rid\":\"p\",\"db\":\"d\",\"deltas\":[{\"col\":\"c\",\"id\":\"i\",\"attr\":\"a\","
        + "\"value\":{\"list\":[0," + huge + "]},\"ts\":\"" + TS + "\"}]}";
    ProtocolException e = refused(push);
    assertEquals(ErrorCode.BAD_REQUEST, e.code());
    assertTrue(e.getMessage().startsWith("deltas[0].value.list[1]: "), e.getMessage());
    assertEquals(TextNode.valueOf("p"), MessageCodec.ridOf(push));
    assertTrue(refused("{\"type\":\"hello\",\"rid\":7,\"protocol\":" + huge + ",\"clientId\":\"c\"}").getMessage()
        .startsWith("protocol: "));
    assertEquals(IntNode.valueOf(7), MessageCodec.ridOf("{\"type\":\"hello\",\"rid\":7,\"protocol\":" + huge + "}"));
    assertTrue(refused("{\"type\":\"ping\",\"rid\":" + huge + "}").getMessage().startsWith("rid: "));
    assertNull(MessageCodec.ridOf("{\"type\":\"ping\",\"rid\":" + huge + "}"));
  }

  @Test
  @DisplayName("decodeDelta checks one delta on its own, as replication and tools use it")
  void decodeDeltaAlone() throws Exception {
    Delta d = MessageCodec.decodeDelta(Json.MAPPER.readTree(
        "{\"col\":\"c\",\"id\":\"i\",\"attr\":\"$deleted\",\"value\":true,\"ts\":\"" + TS + "\"}"), LIMITS);
    assertEquals(new Delta("c", "i", Delta.DELETED, BooleanNode.TRUE, TS), d);
    ProtocolException e = assertThrows(ProtocolException.class, () -> MessageCodec.decodeDelta(Json.MAPPER.readTree(
        "{\"col\":\"c\",\"id\":\"i\",\"attr\":\"$owner\",\"value\":\"me\",\"ts\":\"" + TS + "\"}"), LIMITS));
    assertEquals(ErrorCode.BAD_REQUEST, e.code());
  }

  @org.junit.jupiter.api.Test
  @org.junit.jupiter.api.DisplayName("the hand-built delta encoding equals the general encoder's, byte for byte")
  void deltaEncodingMatchesTheMapper() throws Exception {
    long seed = Long.getLong("syncline.seed", System.nanoTime()); // -Dsyncline.seed=N replays a run
    java.util.Random rnd = new java.util.Random(seed);
    String[] strings = {"", "plain", "quote\" and \\ backslash", "tab\tnew\nline\u0001\u001f", "zoë 😀 ✓", "\u2028 / <script>", "x".repeat(300),
        "~!#$%&'()*+,-./:;<=>?@[]^_`{|}", "del\u007f", "1732212345678-0000-c7f3a"};
    String[] values = {"null", "true", "false", "0", "-7", "9007199254740993", "123456789012345678901234567890", "1.50", "1e2", "-0.0",
        "\"s\"", "[]", "{}", "[1,\"a\",{\"k\":[null,true]}]", "{\"nested\":{\"deep\":[1.25,\"zoë\"]}}"};
    for (int i = 0; i < 2000; i++) {
      JsonNode value = rnd.nextBoolean()
          ? Json.MAPPER.readTree(values[rnd.nextInt(values.length)])
          : com.fasterxml.jackson.databind.node.TextNode.valueOf(strings[rnd.nextInt(strings.length)]);
      Delta d = new Delta(strings[1 + rnd.nextInt(strings.length - 1)], strings[1 + rnd.nextInt(strings.length - 1)],
          strings[1 + rnd.nextInt(strings.length - 1)], value, "1732212345678-000" + rnd.nextInt(10) + "-c7f3a",
          rnd.nextBoolean() ? 1 + rnd.nextInt(1_000_000) : Long.MAX_VALUE >> rnd.nextInt(63)); // every digit count
      byte[] expected = Json.bytes(d);
      byte[] actual = MessageCodec.withSeq(MessageCodec.encodeDeltaOpen(d), d.seq());
      org.junit.jupiter.api.Assertions.assertEquals(new String(expected, StandardCharsets.UTF_8), new String(actual, StandardCharsets.UTF_8),
          "seed " + seed);
    }
    // a negative seq is a writer bug: refused, not written as "-1"
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> MessageCodec.withSeq(MessageCodec.encodeDeltaOpen(new Delta("c", "i", "a", null, "1732212345678-0000-c7f3a")), -1));
  }

  @Test
  @DisplayName("a $deleted = true a server marks valuesPurged is listed as such; the mark on anything else is passed over, "
      + "and a server writes it once")
  void valuesPurgedMarks() throws Exception {
    String frame = "{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"d\",\"seq\":9,\"deltas\":["
        + "{\"col\":\"c\",\"id\":\"a\",\"attr\":\"$deleted\",\"value\":true,\"ts\":\"" + TS + "\",\"valuesPurged\":true,\"seq\":7},"
        + "{\"col\":\"c\",\"id\":\"b\",\"attr\":\"$deleted\",\"value\":true,\"ts\":\"" + TS + "\",\"seq\":8},"
        + "{\"col\":\"c\",\"id\":\"c\",\"attr\":\"$deleted\",\"value\":false,\"ts\":\"" + TS + "\",\"valuesPurged\":true,\"seq\":9},"
        + "{\"col\":\"c\",\"id\":\"d\",\"attr\":\"x\",\"value\":true,\"ts\":\"" + TS + "\",\"valuesPurged\":true,\"seq\":9}]}";
    ServerMessage.Changes c = MessageCodec.decodeChanges(Json.MAPPER.readTree(frame));
    assertEquals(4, c.deltas().size());
    assertEquals(List.of(new Delta("c", "a", "$deleted", BooleanNode.TRUE, TS)), c.valuesPurged());
    // tools read it through decodeServer: the same marks
    ServerMessage.Changes viaTools = (ServerMessage.Changes) MessageCodec.decodeServer(frame);
    assertEquals(4, viaTools.deltas().size());
    assertEquals(List.of(viaTools.deltas().get(0)), viaTools.valuesPurged());
    byte[] open = MessageCodec.encodeDeltaOpen(new Delta("c", "a", "$deleted", BooleanNode.TRUE, TS));
    byte[] marked = MessageCodec.withValuesPurged(open);
    assertArrayEquals(marked, MessageCodec.withValuesPurged(marked));
    JsonNode stored = Json.MAPPER.readTree(MessageCodec.withSeq(marked, 7));
    assertTrue(stored.path("valuesPurged").asBoolean() && stored.path("seq").asLong() == 7, stored.toString());
  }

  @Test
  @DisplayName("a changes frame is read as a server sends it, deltas without their seq, $owner too; a field no server sends is named")
  void changesFrames() throws Exception {
    String frame = "{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"d\",\"seq\":12,\"deltas\":["
        + "{\"col\":\"c\",\"id\":\"i\",\"attr\":\"a\",\"value\":{\"n\":[1,2]},\"ts\":\"" + TS + "\",\"seq\":11},"
        + "{\"col\":\"c\",\"id\":\"i\",\"attr\":\"$owner\",\"value\":\"u\",\"ts\":\"" + TS + "\",\"seq\":12}]}";
    ObjectNode n = Json.MAPPER.createObjectNode();
    n.putArray("n").add(1).add(2);
    assertEquals(new ServerMessage.Changes("s1", "d", 12, List.of(new Delta("c", "i", "a", n, TS),
        new Delta("c", "i", "$owner", TextNode.valueOf("u"), TS))), MessageCodec.decodeChanges(Json.MAPPER.readTree(frame)));
    for (String[] fault : new String[][] {
        {"\"sid\":\"s1\"", "\"sid\":\"\"", "sid: "},
        {"\"db\":\"d\"", "\"db\":\"a b\"", "db: "},
        {"\"seq\":12,", "\"seq\":-1,", "seq: "},
        {"\"seq\":12,", "\"seq\":1.5,", "seq: "},
        {"\"deltas\":[", "\"deltas\":7,\"x\":[", "deltas: "},
        {"{\"col\":\"c\",\"id\":\"i\",\"attr\":\"a\"", "{\"col\":\"c\",\"id\":\"\",\"attr\":\"a\"", "id: "},
        {"\"value\":\"u\"", "\"value\":\"\\ud800\"", "value: unpaired surrogate"},
        // a $deleted that is not a boolean: readers and the purge would disagree on whether it destroys
        {"\"attr\":\"$owner\",\"value\":\"u\"", "\"attr\":\"$deleted\",\"value\":1", "value: $deleted must be"},
        {"\"ts\":\"" + TS + "\",\"seq\":11", "\"ts\":\"t1\",\"seq\":11", "ts: "}}) {
      String bad = frame.replace(fault[0], fault[1]);
      JsonNode m = Json.MAPPER.readTree(bad);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MessageCodec.decodeChanges(m), bad);
      assertTrue(e.getMessage().startsWith(fault[2]), e.getMessage());
    }
  }
}
