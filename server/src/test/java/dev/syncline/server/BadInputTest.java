package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static java.util.stream.Collectors.joining;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import dev.syncline.server.testing.Deltas;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The bad-input matrix of PROTOCOL.md §1, §2, §7, §9, §11 and §12 against a running server: each
 * malformed, hostile or boundary message gets its typed error (with the rid echoed when one was
 * readable), the connection lives on where the contract says so, and nothing refused is stored.
 * Every row runs on its own connection. The last test audits the database: it must hold exactly
 * the valid writes this class made, which are tracked in {@link #stored}.
 */
@DisplayName("Bad input: every client message, malformed or hostile, gets its typed error and stores nothing")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BadInputTest {
  /** The database the matrix writes to and then audits. */
  static final String DB = "matrix";
  /**
   * The clientId the matrix's pushing connections say hello with, so the ORIGIN of their deltas:
   * a delta refused for some other fault must not also be refused for a stranger's ORIGIN.
   */
  static final String ME = "bad-input";
  /** A valid timestamp for the deltas that are refused for some other fault. */
  static final String TS = Deltas.now(0, ME);
  /** Default limits of PROTOCOL.md §3 (the matrix server runs with them). */
  static final int MAX_VALUE_BYTES = 65536;
  static final int MAX_DELTAS = 1000;
  static final long MAX_SKEW_MS = 60_000;
  /** A character outside the BMP: one code point, two UTF-16 units, four UTF-8 bytes. */
  static final String EMOJI = "\uD83D\uDE00";
  /** A number whose exponent no decimal can hold: Jackson cannot read it at all. */
  static final String HUGE = "1e99999999999999999999";

  static TestServer server;
  /** Every register the test wrote on purpose, by col/id/attr: what the audit must find, and nothing else. */
  static final Map<String, JsonNode> stored = new TreeMap<>();
  /** The head of {@link #DB} after the test's own valid writes. */
  static long head;
  static final AtomicInteger unique = new AtomicInteger();

  @BeforeAll
  static void start() {
    server = TestServer.start();
    try (WsClient c = server.connect("matrix-admin")) {
      JsonNode created = server.admin(admin("db.create", args().put("db", DB)));
      assertEquals("result", created.get("type").asText(), created.toString());
      writeValid(c, delta("seed", "s1", "title", "first", now(0, c.clientId())),
          delta("seed", "s1", "done", false, now(1, c.clientId())));
    }
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  // ======================================================================================
  // Whole messages after hello: typed error, rid when readable, connection survives
  // ======================================================================================

  /**
   * What the server must answer: a message of {@code type} (with {@code code} for errors) and this
   * rid (null: none), and a {@code message} that contains each of {@code messageHas}.
   */
  record Expect(String type, String code, Object rid, List<String> messageHas) {
    Expect(String type, String code, Object rid) {
      this(type, code, rid, List.of());
    }
  }

  /** One line of a table: a message (or a binary frame) and the answer it must get. */
  record Row(String name, Consumer<WsClient> send, Expect expect) {
    /** This row, its answer's message containing each of {@code parts}. */
    Row withMessage(String... parts) {
      return new Row(name, send, new Expect(expect.type(), expect.code(), expect.rid(), List.of(parts)));
    }
  }

  /** What the refusal of an unknown message type lists. */
  static final String CLIENT_TYPES = "one of admin, hello, login, ping, push, renew, signup, sub, unsub";

  static Row err(String name, String frame, String code, Object rid) {
    return new Row(name, c -> c.sendRaw(frame), new Expect("error", code, rid));
  }

  static Row answer(String name, String frame, String type, Object rid) {
    return new Row(name, c -> c.sendRaw(frame), new Expect(type, null, rid));
  }

  @TestFactory
  @Order(1)
  @DisplayName("after hello, each malformed message gets its typed error and the connection keeps serving")
  Stream<DynamicNode> afterHello() {
    return Stream.of(
        table("any message: not one strict JSON object", anyMessageRows()),
        table("rid", ridRows()),
        table("hello (a second one)", secondHelloRows()),
        table("login", loginRows()),
        table("sub", subRows()),
        table("unsub", unsubRows()),
        table("push, refused as a whole", wholePushRows()),
        table("admin", adminRows(), true),
        table("ping", pingRows()));
  }

  static DynamicNode table(String name, List<Row> rows) {
    return table(name, rows, false);
  }

  /** Rows sent after hello, by an anonymous connection or one signed in as admin. */
  static DynamicNode table(String name, List<Row> rows, boolean asAdmin) {
    return dynamicContainer(name, rows.stream().map(r -> dynamicTest(r.name(), () -> runAfterHello(r, asAdmin))));
  }

  static void runAfterHello(Row row, boolean asAdmin) {
    try (WsClient c = asAdmin ? server.connectAs(ME, "admin", TestServer.ADMIN_PASSWORD) : server.connect(ME)) {
      if (asAdmin) c.next("token");
      row.send().accept(c);
      JsonNode reply = c.next(m -> !"welcome".equals(m.path("type").asText()));
      assertAnswer(row.expect(), reply);
      assertServes(c);
    }
  }

  static List<Row> anyMessageRows() {
    return List.of(
        err("plain text, not JSON", "hello", "bad_request", null),
        err("an empty frame", "", "bad_request", null),
        err("whitespace only", "  \n ", "bad_request", null),
        err("a truncated object", q("{'type':'ping','rid':'r'"), "bad_request", null),
        err("a top-level array", q("[{'type':'ping','rid':'r'}]"), "bad_request", null),
        err("a top-level string", q("'ping'"), "bad_request", null),
        err("a top-level number", "1", "bad_request", null),
        err("a top-level null", "null", "bad_request", null),
        err("a top-level true", "true", "bad_request", null),
        err("trailing data after the object", q("{'type':'ping','rid':'r'} x"), "bad_request", null),
        err("two objects in one frame", q("{'type':'ping','rid':'r'}{'type':'ping'}"), "bad_request", null),
        err("a trailing comma", q("{'type':'ping','rid':'r',}"), "bad_request", null),
        err("single-quoted strings", "{'type':'ping','rid':'r'}", "bad_request", null),
        err("a comment", q("{'type':'ping','rid':'r' /* hi */}"), "bad_request", null),
        err("NaN", q("{'type':'ping','rid':'r','x':NaN}"), "bad_request", null),
        err("Infinity", q("{'type':'ping','rid':'r','x':Infinity}"), "bad_request", null),
        err("a leading zero", q("{'type':'ping','rid':'r','x':01}"), "bad_request", null),
        err("a raw control character in a string", q("{'type':'ping','rid':'r','x':'a\u0001b'}"), "bad_request", null),
        err("a leading byte-order mark", "\uFEFF" + q("{'type':'ping','rid':'r'}"), "bad_request", null),
        err("a duplicate key (type twice)", q("{'type':'ping','rid':'r','type':'ping'}"), "bad_request", null),
        err("a duplicate key deep in an ignored field", q("{'type':'ping','rid':'r','x':{'a':[{'k':1,'k':2}]}}"), "bad_request", null),
        err("nesting of 65 levels", q("{'type':'ping','rid':'r','x':" + nested(64) + "}"), "bad_request", null),
        answer("nesting of exactly 64 levels is fine", q("{'type':'ping','rid':'r64','x':" + nested(63) + "}"), "pong", "r64"),
        err("a number of 101 digits", q("{'type':'ping','rid':'r','x':" + "1".repeat(101) + "}"), "bad_request", null),
        answer("a number of 100 digits is fine", q("{'type':'ping','rid':'r100','x':" + "1".repeat(100) + "}"), "pong", "r100"),
        err("an exponent too large for any number, in an ignored field", q("{'type':'ping','rid':'r','x':" + HUGE + "}"), "bad_request", "r"),
        err("a negative exponent too large for any number", q("{'type':'ping','rid':'r','x':-1e-99999999999999999999}"), "bad_request", "r"),
        err("an exponent too large in sub.since", q("{'type':'sub','rid':'r','db':'matrix','since':" + HUGE + "}"), "bad_request", "r"),
        err("an exponent too large in rid", q("{'type':'ping','rid':" + HUGE + "}"), "bad_request", null),
        err("an exponent too large in login", q("{'type':'login','rid':'r','username':'admin','password':" + HUGE + "}"), "bad_request", "r"),
        err("an unpaired surrogate escape in an ignored field", q("{'type':'ping','rid':'r','x':'a\\ud800'}"), "bad_request", "r"),
        err("an unpaired surrogate escape in an ignored key", q("{'type':'ping','rid':'r','\\udc00':1}"), "bad_request", "r"),
        err("an unknown type", q("{'type':'subscribe','rid':'r'}"), "bad_request", "r").withMessage("\"subscribe\"", CLIENT_TYPES),
        // not echoed: the encoder would join it with the quote after it, or send a lone surrogate back
        err("an unknown type that is a lone high surrogate", q("{'type':'\\ud800','rid':'r'}"), "bad_request", "r")
            .withMessage("type: unpaired surrogate"),
        err("an unknown type ending in a lone low surrogate", q("{'type':'x\\udfff','rid':'r'}"), "bad_request", "r")
            .withMessage("type: unpaired surrogate"),
        err("a type in upper case", q("{'type':'PING','rid':'r'}"), "bad_request", "r"),
        err("no type", q("{'rid':'r'}"), "bad_request", "r"),
        err("type null", q("{'type':null,'rid':'r'}"), "bad_request", "r"),
        err("type a number", q("{'type':7,'rid':'r'}"), "bad_request", "r"),
        err("type an array", q("{'type':['ping'],'rid':'r'}"), "bad_request", "r"),
        err("a server message type", q("{'type':'welcome','rid':'r'}"), "bad_request", "r"),
        new Row("a binary frame", c -> c.sendBinary(new byte[] {'{', '}', 0, (byte) 0xff}), new Expect("error", "bad_request", null)),
        new Row("a binary frame holding a valid ping", c -> c.sendBinary(bytes(q("{'type':'ping','rid':'r'}"))),
            new Expect("error", "bad_request", null)));
  }

  static List<Row> ridRows() {
    String max = "r".repeat(128);
    String maxWide = EMOJI.repeat(128);
    return List.of(
        err("a rid of 129 characters", q("{'type':'ping','rid':'" + "r".repeat(129) + "'}"), "bad_request", null),
        err("a rid of 129 code points", q("{'type':'ping','rid':'" + EMOJI.repeat(129) + "'}"), "bad_request", null),
        err("a rid that is an object", q("{'type':'ping','rid':{'a':1}}"), "bad_request", null),
        err("a rid that is an array", q("{'type':'ping','rid':[1]}"), "bad_request", null),
        err("a rid that is a boolean", q("{'type':'ping','rid':true}"), "bad_request", null),
        err("a rid that is a fraction", q("{'type':'ping','rid':1.5}"), "bad_request", null),
        err("a rid written 1.0", q("{'type':'ping','rid':1.0}"), "bad_request", null),
        err("a rid written 1e0", q("{'type':'ping','rid':1e0}"), "bad_request", null),
        err("a rid beyond 64 bits", q("{'type':'ping','rid':9223372036854775808}"), "bad_request", null),
        err("a rid with an unpaired surrogate", q("{'type':'ping','rid':'a\\ud800'}"), "bad_request", null),
        err("an over-long rid on an otherwise valid push stores nothing",
            pushText("r".repeat(200), canary("long-rid")), "bad_request", null),
        answer("a rid of exactly 128 characters is echoed", q("{'type':'ping','rid':'" + max + "'}"), "pong", max),
        answer("a rid of 128 code points is echoed", q("{'type':'ping','rid':'" + maxWide + "'}"), "pong", maxWide),
        answer("an empty rid is echoed", q("{'type':'ping','rid':''}"), "pong", ""),
        answer("the smallest 64-bit rid is echoed", q("{'type':'ping','rid':-9223372036854775808}"), "pong", Long.MIN_VALUE),
        answer("the largest 64-bit rid is echoed", q("{'type':'ping','rid':9223372036854775807}"), "pong", Long.MAX_VALUE),
        answer("a null rid means none", q("{'type':'ping','rid':null}"), "pong", null));
  }

  static List<Row> secondHelloRows() {
    return List.of(
        err("a valid second hello", q("{'type':'hello','rid':'h2','protocol':1,'clientId':'again'}"), "bad_request", "h2"),
        err("a second hello asking for protocol 2", q("{'type':'hello','rid':'h2','protocol':2,'clientId':'again'}"), "bad_request", "h2"),
        err("hello without protocol", q("{'type':'hello','rid':'h2','clientId':'c'}"), "bad_request", "h2"),
        err("hello with protocol as a string", q("{'type':'hello','rid':'h2','protocol':'1','clientId':'c'}"), "bad_request", "h2"),
        err("hello with protocol 1.0", q("{'type':'hello','rid':'h2','protocol':1.0,'clientId':'c'}"), "bad_request", "h2"),
        err("hello with protocol beyond 32 bits", q("{'type':'hello','rid':'h2','protocol':2147483648,'clientId':'c'}"), "bad_request", "h2"),
        err("hello without clientId", q("{'type':'hello','rid':'h2','protocol':1}"), "bad_request", "h2"),
        err("hello with an empty clientId", q("{'type':'hello','rid':'h2','protocol':1,'clientId':''}"), "bad_request", "h2"),
        err("hello with a clientId of 65 characters", q("{'type':'hello','rid':'h2','protocol':1,'clientId':'" + "c".repeat(65) + "'}"), "bad_request", "h2"),
        err("hello with a space in clientId", q("{'type':'hello','rid':'h2','protocol':1,'clientId':'a b'}"), "bad_request", "h2"),
        err("hello with NUL in clientId", q("{'type':'hello','rid':'h2','protocol':1,'clientId':'a\\u0000'}"), "bad_request", "h2"),
        err("hello with a numeric clientId", q("{'type':'hello','rid':'h2','protocol':1,'clientId':7}"), "bad_request", "h2"),
        err("hello with an empty token", q("{'type':'hello','rid':'h2','protocol':1,'clientId':'c','token':''}"), "bad_request", "h2"),
        err("hello with a numeric token", q("{'type':'hello','rid':'h2','protocol':1,'clientId':'c','token':5}"), "bad_request", "h2"),
        err("hello with a token of 16385 characters",
            q("{'type':'hello','rid':'h2','protocol':1,'clientId':'c','token':'" + "t".repeat(16385) + "'}"), "bad_request", "h2"));
  }

  static List<Row> loginRows() {
    return List.of(
        err("a well-formed login (sign-in is not enabled)", q("{'type':'login','rid':'l','username':'alice','password':'secret'}"), "unauthenticated", "l"),
        err("a username of 256 code points decodes",
            q("{'type':'login','rid':'l','username':'" + EMOJI.repeat(256) + "','password':'p'}"), "unauthenticated", "l"),
        err("no username", q("{'type':'login','rid':'l','password':'p'}"), "bad_request", "l"),
        err("no password", q("{'type':'login','rid':'l','username':'u'}"), "bad_request", "l"),
        err("a numeric username", q("{'type':'login','rid':'l','username':1,'password':'p'}"), "bad_request", "l"),
        err("a null password", q("{'type':'login','rid':'l','username':'u','password':null}"), "bad_request", "l"),
        err("an empty username", q("{'type':'login','rid':'l','username':'','password':'p'}"), "bad_request", "l"),
        err("an empty password", q("{'type':'login','rid':'l','username':'u','password':''}"), "bad_request", "l"),
        err("a username of 257 characters", q("{'type':'login','rid':'l','username':'" + "u".repeat(257) + "','password':'p'}"), "bad_request", "l"),
        err("a password of 1025 characters", q("{'type':'login','rid':'l','username':'u','password':'" + "p".repeat(1025) + "'}"), "bad_request", "l"),
        err("a password with an unpaired surrogate", q("{'type':'login','rid':'l','username':'u','password':'\\udc00'}"), "bad_request", "l"));
  }

  static List<Row> subRows() {
    String cols65 = IntStream.range(0, 65).mapToObj(i -> "'c" + i + "'").collect(joining(",", "[", "]"));
    String cols64 = IntStream.range(0, 64).mapToObj(i -> "'c" + i + "'").collect(joining(",", "[", "]"));
    return List.of(
        err("no db", q("{'type':'sub','rid':'s'}"), "bad_request", "s"),
        err("a numeric db", q("{'type':'sub','rid':'s','db':1}"), "bad_request", "s"),
        err("a null db", q("{'type':'sub','rid':'s','db':null}"), "bad_request", "s"),
        err("an empty db", q("{'type':'sub','rid':'s','db':''}"), "bad_request", "s"),
        err("a db with a space", q("{'type':'sub','rid':'s','db':'my db'}"), "bad_request", "s"),
        err("a db of only $", q("{'type':'sub','rid':'s','db':'$'}"), "bad_request", "s"),
        err("a db with $ inside", q("{'type':'sub','rid':'s','db':'a$b'}"), "bad_request", "s"),
        err("a db with NUL", q("{'type':'sub','rid':'s','db':'matrix\\u0000'}"), "bad_request", "s"),
        err("a db with a non-ASCII letter", q("{'type':'sub','rid':'s','db':'caf\u00e9'}"), "bad_request", "s"),
        err("a db of 65 characters", q("{'type':'sub','rid':'s','db':'" + "d".repeat(65) + "'}"), "bad_request", "s"),
        err("a well-formed db of 64 characters that does not exist", q("{'type':'sub','rid':'s','db':'" + "d".repeat(64) + "'}"), "not_found", "s"),
        err("an unknown database", q("{'type':'sub','rid':'s','db':'nope'}"), "not_found", "s"),
        err("the reserved database $system", q("{'type':'sub','rid':'s','db':'$system'}"), "forbidden", "s"),
        err("a reserved name of the store, $meta", q("{'type':'sub','rid':'s','db':'$meta'}"), "forbidden", "s"),
        err("cols a string", q("{'type':'sub','rid':'s','db':'matrix','cols':'todos'}"), "bad_request", "s"),
        err("cols an object", q("{'type':'sub','rid':'s','db':'matrix','cols':{}}"), "bad_request", "s"),
        err("cols empty", q("{'type':'sub','rid':'s','db':'matrix','cols':[]}"), "bad_request", "s"),
        err("cols of 65 names", q("{'type':'sub','rid':'s','db':'matrix','cols':" + cols65 + "}"), "bad_request", "s"),
        err("cols with a number", q("{'type':'sub','rid':'s','db':'matrix','cols':[1]}"), "bad_request", "s"),
        err("cols with null", q("{'type':'sub','rid':'s','db':'matrix','cols':[null]}"), "bad_request", "s"),
        err("cols with an empty name", q("{'type':'sub','rid':'s','db':'matrix','cols':['']}"), "bad_request", "s"),
        err("cols with NUL in a name", q("{'type':'sub','rid':'s','db':'matrix','cols':['a\\u0000b']}"), "bad_request", "s"),
        err("cols with a name of 257 characters", q("{'type':'sub','rid':'s','db':'matrix','cols':['" + "c".repeat(257) + "']}"), "bad_request", "s"),
        err("cols with an unpaired surrogate", q("{'type':'sub','rid':'s','db':'matrix','cols':['\\ud800']}"), "bad_request", "s"),
        err("since negative", q("{'type':'sub','rid':'s','db':'matrix','since':-1}"), "bad_request", "s"),
        err("since a fraction", q("{'type':'sub','rid':'s','db':'matrix','since':1.5}"), "bad_request", "s"),
        err("since written 1e0", q("{'type':'sub','rid':'s','db':'matrix','since':1e0}"), "bad_request", "s"),
        err("since a string", q("{'type':'sub','rid':'s','db':'matrix','since':'1'}"), "bad_request", "s"),
        err("since beyond 2^63 - 1", q("{'type':'sub','rid':'s','db':'matrix','since':9223372036854775808}"), "bad_request", "s"),
        err("since 1e400", q("{'type':'sub','rid':'s','db':'matrix','since':1e400}"), "bad_request", "s"),
        err("epoch a number", q("{'type':'sub','rid':'s','db':'matrix','epoch':5}"), "bad_request", "s"),
        err("epoch of 65 characters", q("{'type':'sub','rid':'s','db':'matrix','epoch':'" + "e".repeat(65) + "'}"), "bad_request", "s"),
        answer("cols of exactly 64 names is fine", q("{'type':'sub','rid':'s','db':'matrix','cols':" + cols64 + "}"), "subscribed", "s"),
        answer("since 2^63 - 1 is fine", q("{'type':'sub','rid':'s','db':'matrix','since':9223372036854775807}"), "subscribed", "s"));
  }

  static List<Row> unsubRows() {
    return List.of(
        err("no sid", q("{'type':'unsub','rid':'u'}"), "bad_request", "u"),
        err("a numeric sid", q("{'type':'unsub','rid':'u','sid':1}"), "bad_request", "u"),
        err("a null sid", q("{'type':'unsub','rid':'u','sid':null}"), "bad_request", "u"),
        err("an empty sid", q("{'type':'unsub','rid':'u','sid':''}"), "bad_request", "u"),
        err("a sid of 65 characters", q("{'type':'unsub','rid':'u','sid':'" + "s".repeat(65) + "'}"), "bad_request", "u"),
        err("a sid with an unpaired surrogate", q("{'type':'unsub','rid':'u','sid':'s\\ud800'}"), "bad_request", "u"),
        err("a sid this connection never opened", q("{'type':'unsub','rid':'u','sid':'s1'}"), "not_found", "u"));
  }

  static List<Row> wholePushRows() {
    return wholePushRows(() -> canary("whole-" + unique.incrementAndGet()));
  }

  /** Each row carries its own canary: a valid delta that must not be stored, since the message is refused. */
  static List<Row> wholePushRows(java.util.function.Supplier<String> canary) {
    String tooMany = IntStream.range(0, MAX_DELTAS + 1).mapToObj(i -> canary("many-" + i)).collect(joining(","));
    return List.of(
        err("no db", q("{'type':'push','rid':'p','deltas':[" + canary.get() + "]}"), "bad_request", "p"),
        err("a numeric db", q("{'type':'push','rid':'p','db':5,'deltas':[" + canary.get() + "]}"), "bad_request", "p"),
        err("an empty db", q("{'type':'push','rid':'p','db':'','deltas':[" + canary.get() + "]}"), "bad_request", "p"),
        err("a db with a space", q("{'type':'push','rid':'p','db':'my db','deltas':[" + canary.get() + "]}"), "bad_request", "p"),
        err("a db with NUL", q("{'type':'push','rid':'p','db':'matrix\\u0000','deltas':[" + canary.get() + "]}"), "bad_request", "p"),
        err("the reserved database $system", q("{'type':'push','rid':'p','db':'$system','deltas':[" + canary.get() + "]}"), "forbidden", "p"),
        err("a reserved name of the store, $meta", q("{'type':'push','rid':'p','db':'$meta','deltas':[" + canary.get() + "]}"), "forbidden", "p"),
        err("an unknown database", q("{'type':'push','rid':'p','db':'nope','deltas':[" + canary.get() + "]}"), "not_found", "p"),
        err("no deltas", q("{'type':'push','rid':'p','db':'matrix'}"), "bad_request", "p"),
        err("deltas null", q("{'type':'push','rid':'p','db':'matrix','deltas':null}"), "bad_request", "p"),
        err("deltas an object", q("{'type':'push','rid':'p','db':'matrix','deltas':" + canary.get() + "}"), "bad_request", "p"),
        err("deltas a string", q("{'type':'push','rid':'p','db':'matrix','deltas':'x'}"), "bad_request", "p"),
        err("empty deltas", q("{'type':'push','rid':'p','db':'matrix','deltas':[]}"), "bad_request", "p"),
        err("maxDeltasPerPush + 1 deltas", q("{'type':'push','rid':'p','db':'matrix','deltas':[" + tooMany + "]}"), "too_large", "p"),
        err("a duplicate key inside one delta's value",
            pushText("p", canary.get(), deltaWith("value", q("{'k':1,'k':2}"))), "bad_request", null),
        err("a duplicate field in a delta", pushText("p", canary.get(), q("{'col':'canary','col':'x','id':'d','attr':'a','value':1,'ts':'" + TS + "'}")),
            "bad_request", null),
        err("a value nested one level too deep (62)", pushText("p", canary.get(), deltaWith("value", nested(62))), "bad_request", null),
        err("a number of 101 digits in a value", pushText("p", canary.get(), deltaWith("value", "9".repeat(101))), "bad_request", null),
        err("an exponent too large in a value", pushText("p", canary.get(), deltaWith("value", HUGE)), "bad_request", "p"),
        err("an exponent too large deep in a value", pushText("p", canary.get(), deltaWith("value", q("{'a':[1," + HUGE + "]}"))), "bad_request", "p"),
        err("NaN in a value", pushText("p", canary.get(), deltaWith("value", "NaN")), "bad_request", null),
        err("a raw newline in a value string", pushText("p", canary.get(), deltaWith("value", "\"a\nb\"")), "bad_request", null),
        err("an unpaired surrogate in an ignored field of a delta",
            pushText("p", canary.get(), q("{'col':'canary','id':'ignored-field','attr':'a','value':1,'ts':'" + TS + "','note':'\\ud800'}")),
            "bad_request", "p"));
  }

  static List<Row> adminRows() {
    return List.of(
        err("no op", q("{'type':'admin','rid':'a','args':{}}"), "bad_request", "a"),
        err("a numeric op", q("{'type':'admin','rid':'a','op':1}"), "bad_request", "a"),
        err("a null op", q("{'type':'admin','rid':'a','op':null}"), "bad_request", "a"),
        err("an empty op", q("{'type':'admin','rid':'a','op':''}"), "bad_request", "a"),
        err("an op of 65 characters", q("{'type':'admin','rid':'a','op':'" + "o".repeat(65) + "'}"), "bad_request", "a"),
        err("args an array", q("{'type':'admin','rid':'a','op':'db.list','args':[]}"), "bad_request", "a"),
        err("args a string", q("{'type':'admin','rid':'a','op':'db.list','args':'x'}"), "bad_request", "a"),
        err("args a number", q("{'type':'admin','rid':'a','op':'db.list','args':1}"), "bad_request", "a"),
        err("args with an unpaired surrogate", q("{'type':'admin','rid':'a','op':'db.create','args':{'db':'\\ud800'}}"), "bad_request", "a"),
        err("args with an unpaired surrogate in a key", q("{'type':'admin','rid':'a','op':'db.list','args':{'\\udc00':1}}"), "bad_request", "a"),
        err("args with a number beyond a double", q("{'type':'admin','rid':'a','op':'db.list','args':{'n':1e400}}"), "bad_request", "a"),
        err("an unknown op", q("{'type':'admin','rid':'a','op':'db.explode','args':{}}"), "bad_request", "a").withMessage("db.explode", "one of ", "db.create, db.destroy", "policy.get, policy.set", "user.create"),
        err("db.digest without db", q("{'type':'admin','rid':'a','op':'db.digest','args':{}}"), "bad_request", "a"),
        err("db.digest of an unknown database", q("{'type':'admin','rid':'a','op':'db.digest','args':{'db':'nope'}}"), "not_found", "a"),
        err("user.create with a password too short", q("{'type':'admin','rid':'a','op':'user.create','args':{'username':'u','password':'p'}}"), "bad_request", "a"),
        err("an op of 64 characters that does not exist", q("{'type':'admin','rid':'a','op':'" + "o".repeat(64) + "'}"), "bad_request", "a"),
        err("db.stats without db", q("{'type':'admin','rid':'a','op':'db.stats','args':{}}"), "bad_request", "a"),
        err("db.stats with a numeric db", q("{'type':'admin','rid':'a','op':'db.stats','args':{'db':3}}"), "bad_request", "a"),
        err("db.stats of an unknown database", q("{'type':'admin','rid':'a','op':'db.stats','args':{'db':'nope'}}"), "not_found", "a"),
        err("db.create with a space in the name", q("{'type':'admin','rid':'a','op':'db.create','args':{'db':'a b'}}"), "bad_request", "a"),
        err("db.create of the reserved $system", q("{'type':'admin','rid':'a','op':'db.create','args':{'db':'$system'}}"), "forbidden", "a"),
        err("db.destroy of the reserved $system", q("{'type':'admin','rid':'a','op':'db.destroy','args':{'db':'$system'}}"), "forbidden", "a"),
        err("db.destroy of an unknown database", q("{'type':'admin','rid':'a','op':'db.destroy','args':{'db':'nope'}}"), "not_found", "a"));
  }

  static List<Row> pingRows() {
    return List.of(
        answer("a ping with unknown fields of every kind", q("{'type':'ping','rid':'p','x':{'a':[1,2.50,null,true]},'y':'\\u0000'}"), "pong", "p"),
        answer("a ping whose type comes last", q("{'rid':7,'x':1,'type':'ping'}"), "pong", 7),
        err("a ping with a duplicate rid", q("{'type':'ping','rid':18,'rid':18}"), "bad_request", null),
        err("a ping with a bad rid", q("{'type':'ping','rid':{}}"), "bad_request", null));
  }

  // ======================================================================================
  // Pushes with one bad delta: that delta refused on its own, the other one applied
  // ======================================================================================

  /**
   * A delta and what its ack result must be: an error code, or null for "applied"; the start of
   * the error's message (null: any); and the clientId the row's connection says hello with (the
   * valid delta beside it carries that ORIGIN).
   */
  record DeltaRow(String name, String delta, String code, String messageStart, String clientId) {
    /** This row, its message starting with {@code start}. */
    DeltaRow withMessage(String start) {
      return new DeltaRow(name, delta, code, start, clientId);
    }

    /** This row, sent on a connection that said hello with {@code id}. */
    DeltaRow as(String id) {
      return new DeltaRow(name, delta, code, messageStart, id);
    }
  }

  static DeltaRow refused(String name, String delta, String code) {
    return new DeltaRow(name, delta, code, null, ME);
  }

  static DeltaRow applied(String name, String delta) {
    return new DeltaRow(name, delta, null, null, ME);
  }

  @TestFactory
  @Order(2)
  @DisplayName("a push with one bad delta refuses that delta with its code and applies the valid one beside it")
  Stream<DynamicNode> perDelta() {
    return Stream.of(
        deltaTable("not an object", List.of(
            refused("a number", "1", "bad_request"),
            refused("a string", "\"delta\"", "bad_request"),
            refused("an array", "[]", "bad_request"),
            refused("null", "null", "bad_request"),
            refused("true", "true", "bad_request"))),
        deltaTable("missing or wrong-typed fields", List.of(
            refused("no col", deltaWith("col", null), "bad_request"),
            refused("no id", deltaWith("id", null), "bad_request"),
            refused("no attr", deltaWith("attr", null), "bad_request"),
            refused("no value (null is how to remove)", deltaWith("value", null), "bad_request"),
            refused("no ts", deltaWith("ts", null), "bad_request").withMessage("ts: required"),
            refused("col a number", deltaWith("col", "1"), "bad_request"),
            refused("col null", deltaWith("col", "null"), "bad_request"),
            refused("id a boolean", deltaWith("id", "true"), "bad_request"),
            refused("id an object", deltaWith("id", "{}"), "bad_request"),
            refused("attr an array", deltaWith("attr", "['a']".replace('\'', '"')), "bad_request"),
            refused("ts a number", deltaWith("ts", "1732212345678"), "bad_request").withMessage("ts: required"),
            refused("ts null", deltaWith("ts", "null"), "bad_request").withMessage("ts: required"))),
        deltaTable("names: empty, too long, NUL, unpaired surrogates", List.of(
            refused("an empty col", deltaWith("col", "\"\""), "bad_request"),
            refused("an empty id", deltaWith("id", "\"\""), "bad_request"),
            refused("an empty attr", deltaWith("attr", "\"\""), "bad_request"),
            refused("a col of 257 characters", deltaWith("col", str("c".repeat(257))), "bad_request"),
            refused("an id of 257 characters", deltaWith("id", str("i".repeat(257))), "bad_request"),
            refused("an attr of 257 characters", deltaWith("attr", str("a".repeat(257))), "bad_request"),
            refused("an id of 257 code points", deltaWith("id", str(EMOJI.repeat(257))), "bad_request"),
            refused("NUL in col", deltaWith("col", "\"to\\u0000dos\""), "bad_request"),
            refused("NUL in id", deltaWith("id", "\"\\u0000\""), "bad_request"),
            refused("NUL in attr", deltaWith("attr", "\"title\\u0000\""), "bad_request"),
            refused("an unpaired high surrogate in col", deltaWith("col", "\"\\ud800\""), "bad_request"),
            refused("an unpaired low surrogate in id", deltaWith("id", "\"x\\udc00\""), "bad_request"),
            refused("surrogates in the wrong order in attr", deltaWith("attr", "\"\\ude00\\ud83d\""), "bad_request"),
            applied("a col, id and attr of exactly 256 characters",
                fine(str("c".repeat(256)), str("i".repeat(255) + unique.incrementAndGet() % 10), str("a".repeat(256)), "1")),
            applied("an id of 256 code points", fine("\"fine\"", str(EMOJI.repeat(255) + (char) ('a' + unique.incrementAndGet() % 26)), "\"a\"", "1")))),
        deltaTable("reserved $ names and $deleted", List.of(
            refused("a col starting with $", deltaWith("col", "\"$todos\""), "bad_request"),
            refused("attr $owner", deltaWith("attr", "\"$owner\""), "bad_request"),
            refused("attr $DELETED (the check is case-sensitive)", deltaWith("attr", "\"$DELETED\""), "bad_request"),
            refused("attr $ alone", deltaWith("attr", "\"$\""), "bad_request"),
            refused("attr $anything", deltaWith("attr", "\"$x\""), "bad_request"),
            refused("$deleted as the string \"true\"", deleted("\"true\""), "bad_request"),
            refused("$deleted as 1", deleted("1"), "bad_request"),
            refused("$deleted as null", deleted("null"), "bad_request"),
            refused("$deleted as an object", deleted("{}"), "bad_request"),
            applied("$deleted false", fine("\"fine\"", uniqueId(), "\"$deleted\"", "false")),
            applied("an id starting with $", fine("\"fine\"", str("$" + uniqueName()), "\"a\"", "1")),
            applied("an attr with $ later (a$deleted)", fine("\"fine\"", uniqueId(), "\"a$deleted\"", "1")),
            applied("an attr ending in $ (price$)", fine("\"fine\"", uniqueId(), "\"price$\"", "1")))),
        deltaTable("timestamps", List.of(
            refused("an empty ts", deltaWith("ts", "\"\""), "bad_request").withMessage("ts: ms"),
            refused("a leading space", deltaWith("ts", str(" " + TS)), "bad_request").withMessage("ts: ms"),
            refused("a trailing space", deltaWith("ts", str(TS + " ")), "bad_request").withMessage("ts: origin"),
            refused("upper-case hex in the counter", deltaWith("ts", str("1732212345678-00AF-" + ME)), "bad_request").withMessage("ts: counter"),
            refused("12 digits of ms", deltaWith("ts", str("173221234567-0000-" + ME)), "bad_request").withMessage("ts: ms"),
            refused("14 digits of ms", deltaWith("ts", str("17322123456789-0000-" + ME)), "bad_request").withMessage("ts: ms"),
            refused("3 hex digits of counter", deltaWith("ts", str("1732212345678-000-" + ME)), "bad_request").withMessage("ts: counter"),
            refused("no origin", deltaWith("ts", "\"1732212345678-0000-\""), "bad_request").withMessage("ts: origin"),
            refused("a space in the origin", deltaWith("ts", "\"1732212345678-0000-a b\""), "bad_request").withMessage("ts: origin"),
            refused("an origin of 65 characters", deltaWith("ts", str("1732212345678-0000-" + "o".repeat(65))), "bad_request").withMessage("ts: origin"),
            refused("a sign", deltaWith("ts", str("+732212345678-0000-" + ME)), "bad_request").withMessage("ts: ms"),
            refused("other digit scripts", deltaWith("ts", str("\u0661".repeat(13) + "-0000-" + ME)), "bad_request").withMessage("ts: ms"),
            refused("underscores for dashes", deltaWith("ts", str("1732212345678_0000_" + ME)), "bad_request").withMessage("ts: ms"),
            applied("an origin with - and : in it", fine("\"fine\"", uniqueId(), "\"a\"", "1", Deltas.now(0, "node-a:1.x")))
                .as("node-a:1.x"),
            refused("an ORIGIN other than the connection's clientId", deltaWith("ts", str(Deltas.now(0, "someone-else"))), "bad_request")
                .withMessage("ts:"))),
        deltaTable("values", List.of(
            refused("an unpaired surrogate in a string value", deltaWith("value", "\"ab\\ud83d\""), "bad_request"),
            refused("an unpaired surrogate deep in a value", deltaWith("value", "{\"a\":[\"ok\",[\"\\udc00\"]]}"), "bad_request"),
            refused("an unpaired surrogate in a key of a value", deltaWith("value", "{\"\\ud800\":1}"), "bad_request"),
            refused("1e400", deltaWith("value", "1e400"), "bad_request"),
            refused("-1e400", deltaWith("value", "-1e400"), "bad_request"),
            refused("1e400 inside an object", deltaWith("value", "{\"n\":[1e400]}"), "bad_request"),
            refused("a value one byte over maxValueBytes", deltaWith("value", str("x".repeat(MAX_VALUE_BYTES - 1))), "too_large"),
            refused("a value far over maxValueBytes", deltaWith("value", str("x".repeat(3 * MAX_VALUE_BYTES))), "too_large"),
            refused("a multi-byte value one byte over maxValueBytes",
                deltaWith("value", str("\u00e9".repeat((MAX_VALUE_BYTES - 2) / 2) + "x")), "too_large"),
            applied("a value of exactly maxValueBytes", fine("\"fine\"", uniqueId(), "\"big\"", str("x".repeat(MAX_VALUE_BYTES - 2)))),
            applied("a value nested 61 levels deep (the most a push allows)", fine("\"fine\"", uniqueId(), "\"deep\"", nested(61))),
            applied("NUL inside a string value", fine("\"fine\"", uniqueId(), "\"a\"", "\"nul\\u0000inside\"")),
            applied("a number of 100 digits", fine("\"fine\"", uniqueId(), "\"n\"", "1".repeat(100))),
            applied("1e308", fine("\"fine\"", uniqueId(), "\"n\"", "1e308")),
            applied("an emoji value", fine("\"fine\"", uniqueId(), "\"e\"", str(EMOJI))))),
        deltaTable("clock skew", List.of(
            refused("a ts more than maxClockSkewMs ahead", deltaWith("ts",
                str(Deltas.ts(System.currentTimeMillis() + MAX_SKEW_MS + 120_000, 0, ME))), "clock_skew"),
            refused("a ts at the largest representable ms", deltaWith("ts", str("9999999999999-ffff-" + ME)), "clock_skew"),
            applied("a ts well inside maxClockSkewMs",
                fine("\"fine\"", uniqueId(), "\"a\"", "1", Deltas.ts(System.currentTimeMillis() + MAX_SKEW_MS / 4, 0, ME))))));
  }

  static DynamicNode deltaTable(String name, List<DeltaRow> rows) {
    return dynamicContainer(name, rows.stream().map(r -> dynamicTest(r.name(), () -> runDeltaRow(r))));
  }

  static void runDeltaRow(DeltaRow row) {
    String companion = fine("\"ok\"", uniqueId(), "\"a\"", "1", Deltas.now(unique.incrementAndGet() % 0x10000, row.clientId()));
    String rid = "pd-" + unique.incrementAndGet();
    try (WsClient c = server.connect(row.clientId())) {
      long headBefore = currentHead(c);
      long before = System.currentTimeMillis();
      c.sendRaw(pushText(rid, row.delta(), companion));
      JsonNode ack = c.next(m -> rid.equals(m.path("rid").asText()) || !m.has("rid"));
      long after = System.currentTimeMillis();
      assertEquals("ack", ack.path("type").asText(), ack.toString());
      assertEquals(rid, ack.path("rid").asText());
      assertEquals(DB, ack.path("db").asText());
      JsonNode results = ack.get("results");
      assertEquals(2, results.size(), "one result per delta: " + ack);
      if (row.code() == null) {
        assertEquals("applied", results.get(0).asText(), ack.toString());
        record(row.delta());
      } else {
        JsonNode r = results.get(0);
        assertEquals(row.code(), r.path("error").asText(), ack.toString());
        assertTrue(r.path("message").isTextual() && !r.get("message").asText().isEmpty(), "a message for people: " + r);
        if (row.messageStart() != null) {
          assertTrue(r.get("message").asText().startsWith(row.messageStart()), "the message starts with " + row.messageStart() + ": " + r);
        }
        if (row.code().equals("clock_skew")) {
          long serverTime = r.path("serverTime").asLong(-1);
          assertTrue(serverTime >= before - 1000 && serverTime <= after + 1000, "serverTime is the server clock: " + r);
        } else {
          assertFalse(r.has("serverTime"), "serverTime only with clock_skew: " + r);
        }
      }
      assertEquals("applied", results.get(1).asText(), "the valid delta beside it still applies: " + ack);
      record(companion);
      assertEquals(headBefore + (row.code() == null ? 2 : 1), ack.path("seq").asLong(),
          "seq is the head after the commit, one seq per applied delta: " + ack);
      assertServes(c);
    }
  }

  @Test
  @Order(3)
  @DisplayName("a push whose every delta is refused is acked with the unchanged head and writes nothing")
  void everyDeltaRefused() {
    try (WsClient c = server.connect(ME)) {
      String rid = "all-bad";
      long headBefore = currentHead(c);
      c.sendRaw(pushText(rid, deltaWith("attr", "\"$owner\""), deltaWith("value", str("x".repeat(MAX_VALUE_BYTES))),
          deltaWith("ts", str(Deltas.ts(System.currentTimeMillis() + 10 * MAX_SKEW_MS, 0, c.clientId())))));
      JsonNode ack = c.next(m -> rid.equals(m.path("rid").asText()) || !m.has("rid"));
      assertEquals("ack", ack.path("type").asText(), ack.toString());
      assertEquals(headBefore, ack.path("seq").asLong(), "the unchanged head");
      assertEquals(headBefore, currentHead(c), "nothing was written");
      List<String> codes = new ArrayList<>();
      ack.get("results").forEach(r -> codes.add(r.path("error").asText()));
      assertEquals(List.of("bad_request", "too_large", "clock_skew"), codes);
      assertServes(c);
    }
  }

  @Test
  @Order(4)
  @DisplayName("exactly maxDeltasPerPush deltas are accepted in one push")
  void maxDeltasAccepted() {
    try (WsClient c = server.connect("max-deltas")) {
      ObjectNode[] deltas = new ObjectNode[MAX_DELTAS];
      for (int i = 0; i < MAX_DELTAS; i++) deltas[i] = delta("bulk", "b" + i, "n", i, now(i % 0x10000, c.clientId()));
      writeValid(c, deltas);
    }
  }

  // ======================================================================================
  // Before hello: error, then close 1002
  // ======================================================================================

  @TestFactory
  @Order(5)
  @DisplayName("before hello, anything but a valid hello of protocol 1 gets an error and then close 1002")
  Stream<DynamicNode> beforeHello() {
    return Stream.of(
        err("ping first", q("{'type':'ping','rid':'first'}"), "bad_request", "first"),
        err("login first", q("{'type':'login','rid':'first','username':'u','password':'p'}"), "bad_request", "first"),
        err("sub first", q("{'type':'sub','rid':'first','db':'matrix'}"), "bad_request", "first"),
        err("unsub first", q("{'type':'unsub','rid':'first','sid':'s1'}"), "bad_request", "first"),
        err("a valid push first (stores nothing)", pushText("first", canary("before-hello")), "bad_request", "first"),
        err("admin first (creates nothing)", q("{'type':'admin','rid':'first','op':'db.create','args':{'db':'early'}}"), "bad_request", "first"),
        err("not JSON first", "hello", "bad_request", null),
        err("an unknown type first", q("{'type':'helo','rid':'first'}"), "bad_request", "first").withMessage("\"helo\"", CLIENT_TYPES),
        err("a hello with a duplicate key", q("{'type':'hello','rid':'first','protocol':1,'clientId':'a','clientId':'b'}"), "bad_request", null),
        err("a hello without clientId", q("{'type':'hello','rid':'first','protocol':1}"), "bad_request", "first"),
        err("a hello with a bad clientId", q("{'type':'hello','rid':'first','protocol':1,'clientId':'a/b'}"), "bad_request", "first"),
        err("a hello with protocol \"1\"", q("{'type':'hello','rid':'first','protocol':'1','clientId':'c'}"), "bad_request", "first"),
        err("a hello with protocol 1.0", q("{'type':'hello','rid':'first','protocol':1.0,'clientId':'c'}"), "bad_request", "first"),
        err("a hello with protocol beyond 32 bits", q("{'type':'hello','rid':'first','protocol':4294967297,'clientId':'c'}"), "bad_request", "first"),
        err("a hello with an exponent too large for any number", q("{'type':'hello','rid':'first','protocol':" + HUGE + ",'clientId':'c'}"),
            "bad_request", "first"),
        err("a hello with an exponent too large in an ignored field", q("{'type':'hello','rid':'first','protocol':1,'clientId':'c','x':" + HUGE + "}"),
            "bad_request", "first"),
        err("hello protocol 2", q("{'type':'hello','rid':'first','protocol':2,'clientId':'c'}"), "unsupported_protocol", "first"),
        err("hello protocol 0", q("{'type':'hello','rid':0,'protocol':0,'clientId':'c'}"), "unsupported_protocol", 0L),
        err("hello protocol -1", q("{'type':'hello','protocol':-1,'clientId':'c'}"), "unsupported_protocol", null),
        err("hello protocol 2^31 - 1", q("{'type':'hello','rid':'first','protocol':2147483647,'clientId':'c'}"), "unsupported_protocol", "first"),
        new Row("a binary frame first", c -> c.sendBinary(bytes(q("{'type':'hello','protocol':1,'clientId':'c'}"))),
            new Expect("error", "bad_request", null)))
        .map(r -> dynamicTest(r.name(), () -> runBeforeHello(r)));
  }

  static void runBeforeHello(Row row) {
    try (WsClient c = WsClient.connect(server.port())) {
      row.send().accept(c);
      JsonNode reply = c.next(m -> true);
      assertAnswer(row.expect(), reply);
      assertEquals(1002, c.awaitClose(), "close code");
      assertEquals(1, c.received().size(), "nothing after the error: " + c.received());
    }
  }

  // ======================================================================================
  // The audit: only the valid writes are stored
  // ======================================================================================

  @Test
  @Order(100)
  @DisplayName("after the matrix, the database holds exactly the valid writes: db.stats and a fresh subscriber agree")
  void nothingRefusedWasStored() {
    try (WsClient c = server.connect("auditor")) {
      JsonNode subscribed = c.request(sub(DB, 0));
      assertEquals("subscribed", subscribed.path("type").asText(), subscribed.toString());
      String sid = subscribed.get("sid").asText();
      Map<String, JsonNode> seen = new TreeMap<>();
      List<String> repeated = new ArrayList<>();
      JsonNode synced;
      while (true) {
        JsonNode m = c.next(x -> sid.equals(x.path("sid").asText()) && !"subscribed".equals(x.path("type").asText()));
        if (m.path("type").asText().equals("synced")) {
          synced = m;
          break;
        }
        assertEquals("changes", m.path("type").asText(), m.toString());
        for (JsonNode d : m.get("deltas")) {
          ObjectNode reg = Json.MAPPER.createObjectNode();
          reg.set("value", d.get("value"));
          reg.set("ts", d.get("ts"));
          if (seen.put(key(d), reg) != null) repeated.add(key(d));
        }
      }
      Set<String> unexpected = new TreeSet<>(seen.keySet());
      unexpected.removeAll(stored.keySet());
      Set<String> missing = new TreeSet<>(stored.keySet());
      missing.removeAll(seen.keySet());
      // the leaked registers first: they say which refused message got through
      assertEquals(Set.of(), printable(unexpected), "stored although refused");
      assertEquals(Set.of(), printable(missing), "acked as applied but not stored");
      assertEquals(List.of(), repeated, "each attribute is sent once");
      for (var e : stored.entrySet()) {
        assertEquals(e.getValue(), seen.get(e.getKey()), "register " + printable(Set.of(e.getKey())));
      }
      assertEquals(head, synced.get("seq").asLong(), "synced at the head");

      JsonNode stats = server.admin(admin("db.stats", args().put("db", DB)));
      assertEquals("result", stats.path("type").asText(), stats.toString());
      JsonNode data = stats.get("data");
      Set<String> documents = new HashSet<>();
      stored.keySet().forEach(k -> documents.add(k.substring(0, k.lastIndexOf('\u0001'))));
      assertEquals(head, data.get("head").asLong(), "head: one seq per applied delta, none for refused ones");
      assertEquals(stored.size(), data.get("attributes").asLong(), "attributes");
      assertEquals(documents.size(), data.get("documents").asLong(), "documents");
      assertEquals(0, data.get("tombstones").asLong(), "tombstones");

      JsonNode list = server.admin(admin("db.list", null));
      Set<String> names = new TreeSet<>();
      list.get("data").get("databases").forEach(d -> names.add(d.get("db").asText()));
      names.remove("$system");
      assertEquals(Set.of("app", DB), names, "no refused message created a database");
      list.get("data").get("databases").forEach(d -> {
        if (d.get("db").asText().equals("app")) assertEquals(0, d.get("head").asLong(), "nothing was written to app");
      });
    }
  }

  // ======================================================================================
  // The bad-message budget, on its own server
  // ======================================================================================

  @Nested
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  @DisplayName("with maxBadMessagesPerMinute = 5")
  class GarbageBudget {
    static final int BUDGET = 5;
    TestServer strict;

    @BeforeAll
    void start() {
      strict = TestServer.start(c -> c.maxBadMessagesPerMinute = BUDGET);
      strict.admin(admin("db.create", args().put("db", "flood")));
    }

    @AfterAll
    void stop() {
      strict.close();
    }

    @Test
    @DisplayName("five malformed messages of any kind are forgiven; the sixth gets its error, then close 1008")
    void sixthMalformedMessageCloses() {
      try (WsClient c = strict.connect("garbage-1")) {
        c.sendRaw("not json");
        c.sendBinary(new byte[] {1, 2, 3});
        c.sendRaw(q("{'type':'hello','protocol':1,'clientId':'again'}"));
        c.sendRaw(q("{'type':'nope','rid':'g'}"));
        c.sendRaw(q("{'type':'ping','rid':'g','x':" + HUGE + "}"));
        assertEquals("pong", c.request(WsClient.obj("ping")).path("type").asText(), "still open after " + BUDGET);
        assertEquals(BUDGET, c.receivedOfType("error").size(), c.received().toString());
        assertFalse(c.isClosed());

        c.sendRaw("{{{");
        assertEquals(1008, c.awaitClose(), "close code");
        List<JsonNode> errors = c.receivedOfType("error");
        assertEquals(BUDGET + 1, errors.size(), "the message that empties the bucket still gets its error: " + c.received());
        errors.forEach(e -> assertEquals("bad_request", e.path("code").asText()));
      }
    }

    @Test
    @DisplayName("not_found, forbidden, unauthenticated and per-delta refusals are not malformed and use no budget")
    void refusalsAreNotMalformed() {
      try (WsClient c = strict.connect("refusals")) {
        for (int i = 0; i < 3 * BUDGET; i++) {
          assertCode("not_found", c.request(sub("nope", 0)));
          assertCode("forbidden", c.request(push("$system", delta("c", "d", "a", 1, now(0, c.clientId())))));
          assertCode("not_found", c.request(WsClient.obj("unsub").put("sid", "s99")));
          // a wrong password, then (after a few) the lock-out: refusals both
          String login = c.request(WsClient.obj("login").put("username", "u").put("password", "p")).path("code").asText();
          assertTrue(Set.of("unauthenticated", "rate_limited").contains(login), login);
          JsonNode ack = c.request(push("flood", delta("$c", "d", "a", 1, now(0, c.clientId()))));
          assertEquals("bad_request", ack.path("results").path(0).path("error").asText(), ack.toString());
        }
        for (int i = 0; i < BUDGET; i++) c.sendRaw("garbage " + i);
        assertEquals("pong", c.request(WsClient.obj("ping")).path("type").asText(), "the whole budget was still there");
        c.sendRaw("garbage, one too many");
        assertEquals(1008, c.awaitClose());
      }
    }

    @Test
    @DisplayName("a client flooding garbage is closed with 1008 while another client's pushes and subscription carry on")
    void floodDoesNotHurtOthers() {
      try (WsClient good = strict.connect("good"); WsClient flooder = strict.connect("flooder")) {
        String sid = good.request(sub("flood", 0)).get("sid").asText();
        long start = good.next(m -> "synced".equals(m.path("type").asText()) && sid.equals(m.path("sid").asText()))
            .get("seq").asLong();

        CompletableFuture<Integer> flood = CompletableFuture.supplyAsync(() -> {
          int sent = 0;
          try {
            while (!flooder.isClosed() && sent < 10_000) {
              flooder.sendRaw(sent % 2 == 0 ? "garbage " + sent : "{\"type\":\"ping\",\"rid\":{}}");
              sent++;
            }
          } catch (RuntimeException closedUnderUs) {
            // the server closed the flooder: that is the point
          }
          return sent;
        });
        int during = 20;
        List<Long> rids = new ArrayList<>();
        for (int i = 0; i < during; i++) {
          rids.add(good.sendWithRid(push("flood", delta("c", "during-" + i, "v", i, now(i, good.clientId())))));
        }
        assertEquals(1008, flooder.awaitClose(), "the flooder is closed for policy violation");
        int sent = flood.join();
        assertTrue(sent > BUDGET, "the flood sent " + sent);
        assertEquals(BUDGET + 1, flooder.receivedOfType("error").size(), "one error per malformed message until the close");

        for (long rid : rids) {
          JsonNode ack = good.await(m -> m.path("rid").asLong(-1) == rid);
          assertEquals("applied", ack.path("results").path(0).asText(), ack.toString());
        }
        good.until(() -> liveDeltas(good, sid) >= during, "the subscription to receive every push made during the flood");

        JsonNode ack = good.request(push("flood", delta("c", "after", "v", 1, now(during, good.clientId()))));
        assertEquals("applied", ack.path("results").path(0).asText(), ack.toString());
        assertEquals(start + during + 1, ack.path("seq").asLong());
        JsonNode live = good.next(m -> "changes".equals(m.path("type").asText())
            && m.get("deltas").findValuesAsText("id").contains("after"));
        assertEquals(start + during + 1, live.get("seq").asLong());
        assertEquals("pong", good.request(WsClient.obj("ping")).path("type").asText());
        assertFalse(good.isClosed());
      }
      try (WsClient fresh = strict.connect("fresh")) {
        assertEquals("pong", fresh.request(WsClient.obj("ping")).path("type").asText(), "new clients are served too");
      }
    }

    /** How many of the pushes made during the flood the subscription has received. */
    private long liveDeltas(WsClient c, String sid) {
      return c.receivedOfType("changes").stream().filter(m -> sid.equals(m.path("sid").asText()))
          .flatMap(m -> m.get("deltas").findValuesAsText("id").stream())
          .filter(id -> id.startsWith("during-")).distinct().count();
    }
  }

  // ======================================================================================
  // Helpers
  // ======================================================================================

  /** Checks an answer against the table's expectation, including the rid (or its absence). */
  static void assertAnswer(Expect expect, JsonNode reply) {
    assertEquals(expect.type(), reply.path("type").asText(), reply.toString());
    if (expect.code() != null) {
      assertEquals(expect.code(), reply.path("code").asText(), reply.toString());
      assertTrue(reply.path("message").isTextual() && !reply.get("message").asText().isEmpty(), "a message for people: " + reply);
    }
    for (String part : expect.messageHas()) {
      assertTrue(reply.path("message").asText().contains(part), "the message says " + part + ": " + reply);
    }
    JsonNode rid = reply.get("rid");
    if (expect.rid() == null) {
      assertTrue(rid == null || rid.isNull(), "no rid could be read, so none is echoed: " + reply);
    } else if (expect.rid() instanceof String s) {
      assertTrue(rid != null && rid.isTextual(), "rid echoed as a string: " + reply);
      assertEquals(s, rid.textValue(), "rid echoed");
    } else {
      assertTrue(rid != null && rid.isIntegralNumber() && rid.canConvertToLong(), "rid echoed as an integer: " + reply);
      assertEquals(((Number) expect.rid()).longValue(), rid.longValue(), "rid echoed");
    }
  }

  static void assertCode(String code, JsonNode reply) {
    assertEquals("error", reply.path("type").asText(), reply.toString());
    assertEquals(code, reply.path("code").asText(), reply.toString());
  }

  /** The connection is still usable: a ping gets its pong. */
  static void assertServes(WsClient c) {
    JsonNode pong = c.request(WsClient.obj("ping"));
    assertEquals("pong", pong.path("type").asText(), pong.toString());
    assertFalse(c.isClosed(), "the connection stays open");
  }

  /** Pushes deltas that must all apply, and records them as what the audit must find. */
  static void writeValid(WsClient c, ObjectNode... deltas) {
    long headBefore = currentHead(c);
    JsonNode ack = c.request(push(DB, deltas));
    assertEquals("ack", ack.path("type").asText(), ack.toString());
    for (int i = 0; i < deltas.length; i++) {
      assertEquals("applied", ack.get("results").get(i).asText(), ack.toString());
      record(deltas[i].toString());
    }
    assertEquals(headBefore + deltas.length, ack.get("seq").asLong());
  }

  /** The head of {@link #DB} as db.stats reports it. */
  static long currentHead(WsClient c) {
    JsonNode stats = server.admin(admin("db.stats", args().put("db", DB)));
    assertEquals("result", stats.path("type").asText(), stats.toString());
    return stats.get("data").get("head").asLong();
  }

  /** Records one applied delta (given as JSON text). */
  static void record(String deltaJson) {
    try {
      JsonNode d = Json.MAPPER.readTree(deltaJson);
      ObjectNode reg = Json.MAPPER.createObjectNode();
      reg.set("value", d.get("value"));
      reg.set("ts", d.get("ts"));
      if (stored.put(key(d), reg) != null) throw new AssertionError("the test wrote " + key(d) + " twice");
      head++;
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }

  static String key(JsonNode d) {
    return d.get("col").asText() + '\u0001' + d.get("id").asText() + '\u0001' + d.get("attr").asText();
  }

  /** Keys shortened for failure messages (some names are 256 characters long). */
  static Set<String> printable(Set<String> keys) {
    Set<String> out = new TreeSet<>();
    for (String k : keys) {
      String s = k.replace('\u0001', '/');
      out.add(s.length() > 80 ? s.substring(0, 80) + "…(" + s.length() + ")" : s);
    }
    return out;
  }

  /** JSON text written with single quotes, for readable tables: every ' becomes ". */
  static String q(String s) {
    return s.replace('\'', '"');
  }

  /** A JSON string literal of {@code s}, which must need no escaping. */
  static String str(String s) {
    return "\"" + s + "\"";
  }

  static byte[] bytes(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  /** {@code levels} nested arrays: {@code [[[]]]} is 3. */
  static String nested(int levels) {
    return "[".repeat(levels) + "]".repeat(levels);
  }

  /** A push as raw text, with the given raw deltas. */
  static String pushText(String rid, String... deltas) {
    return "{\"type\":\"push\",\"rid\":\"" + rid + "\",\"db\":\"" + DB + "\",\"deltas\":[" + String.join(",", deltas) + "]}";
  }

  /**
   * The refused delta of a row: an otherwise valid delta in collection {@code bad} with one field
   * replaced by the raw JSON {@code json}, or left out when it is null. It must never be stored.
   */
  static String deltaWith(String field, String json) {
    Map<String, String> f = new LinkedHashMap<>();
    f.put("col", "\"bad\"");
    f.put("id", "\"b1\"");
    f.put("attr", "\"a\"");
    f.put("value", "1");
    f.put("ts", str(TS));
    if (json == null) f.remove(field);
    else f.put(field, json);
    return f.entrySet().stream().map(e -> "\"" + e.getKey() + "\":" + e.getValue()).collect(joining(",", "{", "}"));
  }

  static String deleted(String value) {
    return "{\"col\":\"bad\",\"id\":\"b1\",\"attr\":\"$deleted\",\"value\":" + value + ",\"ts\":" + str(TS) + "}";
  }

  /** A valid delta that a whole-message refusal must keep out of the store. */
  static String canary(String id) {
    return "{\"col\":\"canary\",\"id\":\"" + id + "\",\"attr\":\"a\",\"value\":1,\"ts\":" + str(TS) + "}";
  }

  /** A valid delta from raw JSON parts, stamped now by {@link #ME}. */
  static String fine(String col, String id, String attr, String value) {
    return fine(col, id, attr, value, Deltas.now(unique.incrementAndGet() % 0x10000, ME));
  }

  static String fine(String col, String id, String attr, String value, String ts) {
    return "{\"col\":" + col + ",\"id\":" + id + ",\"attr\":" + attr + ",\"value\":" + value + ",\"ts\":" + str(ts) + "}";
  }

  static String uniqueName() {
    return "d" + unique.incrementAndGet();
  }

  static String uniqueId() {
    return str(uniqueName());
  }
}
