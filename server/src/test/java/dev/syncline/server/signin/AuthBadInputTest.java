package dev.syncline.server.signin;

import static dev.syncline.server.signin.AuthTesting.SECRET;
import static dev.syncline.server.signin.AuthTesting.assertError;
import static dev.syncline.server.signin.AuthTesting.assertServes;
import static dev.syncline.server.signin.AuthTesting.assertToken;
import static dev.syncline.server.signin.AuthTesting.hello;
import static dev.syncline.server.signin.AuthTesting.nowSeconds;
import static dev.syncline.server.signin.AuthTesting.type;
import static dev.syncline.server.signin.AuthTesting.validToken;
import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static java.util.stream.Collectors.joining;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.config.ServerConfig;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The bad-input matrix of the sign-in messages ({@code login}, {@code signup}, {@code renew}) and of
 * the arguments of the admin ops that came with users and policies. Each row runs on its own
 * connection (anonymous, or signed in as admin with a token, which costs no password hash): it
 * must get its typed error carrying the request's rid, and the connection must keep serving. The
 * last test checks that nothing any row sent was stored: users, databases and their heads
 * ({@code $system} included, so no audit entry either), and the policies touched.
 */
@DisplayName("Bad input of login, signup, renew and the user/policy/owner admin ops: typed errors, nothing stored")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AuthBadInputTest {
  static final String EMOJI = "\uD83D\uDE00";
  static final String RID = "r";

  static TestServer server;
  static String adminToken;
  static String before;

  @BeforeAll
  static void start() {
    server = TestServer.start(c -> {
      c.jwtSecret = SECRET;
      c.signup = true;
      // rows with well-formed but wrong sign-ins must not lock anything out
      c.loginFailuresPerUser = 1_000_000;
      c.loginFailuresPerAddress = 1_000_000;
      c.users.add(new ServerConfig.UserSpec("bob", "password-of-bob", List.of("editor")));
    });
    AuthTesting.learnStamp(server, "admin", TestServer.ADMIN_PASSWORD);
    adminToken = validToken("admin", nowSeconds() + 3600);
    AuthTesting.adminOk(server, "db.create", args().put("db", "shop"));
    try (WsClient c = server.connect("seed")) {
      JsonNode ack = c.request(push("shop", delta("notes", "n1", "title", "hi", now(0, "seed"))));
      assertEquals("ack", type(ack), ack.toString());
    }
    before = state();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  /** Users, databases with heads and documents (and $system's), and the policies rows try to set. */
  static String state() {
    StringBuilder s = new StringBuilder();
    s.append(AuthTesting.users(server)).append('\n');
    s.append(AuthTesting.adminOk(server, "db.list", args())).append('\n');
    s.append(AuthTesting.adminOk(server, "db.stats", args().put("db", "$system"))).append('\n');
    s.append(AuthTesting.adminOk(server, "policy.get", args().put("db", "shop"))).append('\n');
    s.append(AuthTesting.adminOk(server, "policy.get", args().put("db", "shop").put("col", "c"))).append('\n');
    s.append(AuthTesting.adminOk(server, "policy.get", args().put("db", "$system").put("col", "users"))).append('\n');
    return s.toString();
  }

  static String q(String s) {
    return s.replace('\'', '"');
  }

  enum As { ANONYMOUS, ADMIN }

  /** A frame sent {@code as} someone, and the error code (and rid: "r", or null when unreadable) it must get. */
  record Row(String name, As as, String frame, String code, String rid) {}

  static Row anon(String name, String frame, String code) {
    return new Row(name, As.ANONYMOUS, q(frame), code, RID);
  }

  /** An admin op with {@code argsJson} (single quotes for double) that must fail with {@code code}. */
  static Row op(String name, String op, String argsJson, String code) {
    return new Row(name, As.ADMIN, q("{'type':'admin','rid':'r','op':'" + op + "','args':" + argsJson + "}"), code, RID);
  }

  static void run(Row row) {
    try (WsClient c = WsClient.connect(server.port())) {
      JsonNode w = c.request(hello("bad-" + row.as().name().toLowerCase(), row.as() == As.ADMIN ? adminToken : null));
      assertEquals("welcome", type(w), w.toString());
      c.sendRaw(row.frame());
      JsonNode answer = c.await(m -> !type(m).equals("welcome"));
      String what = abbreviate(row.frame()) + " → " + answer;
      assertEquals("error", type(answer), what);
      assertEquals(row.code(), answer.path("code").asText(), what);
      if (row.rid() == null) assertFalse(answer.has("rid"), what);
      else assertEquals(row.rid(), answer.path("rid").asText(), what);
      assertServes(c);
      assertFalse(c.isClosed());
    }
  }

  static String abbreviate(String frame) {
    return frame.length() <= 300 ? frame : frame.substring(0, 300) + "…(" + frame.length() + " chars)";
  }

  static DynamicNode table(String name, List<Row> rows) {
    return dynamicContainer(name, rows.stream().map(r -> dynamicTest(r.name() + " → " + r.code(), () -> run(r))));
  }

  static String str(int n, String unit) {
    return unit.repeat(n);
  }

  static List<Row> loginRows() {
    return List.of(
        anon("no username", "{'type':'login','rid':'r','password':'p'}", "bad_request"),
        anon("no password", "{'type':'login','rid':'r','username':'bob'}", "bad_request"),
        anon("numeric username", "{'type':'login','rid':'r','username':1,'password':'p'}", "bad_request"),
        anon("null username", "{'type':'login','rid':'r','username':null,'password':'p'}", "bad_request"),
        anon("array username", "{'type':'login','rid':'r','username':['bob'],'password':'p'}", "bad_request"),
        anon("object username", "{'type':'login','rid':'r','username':{'name':'bob'},'password':'p'}", "bad_request"),
        anon("boolean password", "{'type':'login','rid':'r','username':'bob','password':true}", "bad_request"),
        anon("numeric password", "{'type':'login','rid':'r','username':'bob','password':12345678}", "bad_request"),
        anon("empty username", "{'type':'login','rid':'r','username':'','password':'p'}", "bad_request"),
        anon("empty password", "{'type':'login','rid':'r','username':'bob','password':''}", "bad_request"),
        anon("username of 257 characters", "{'type':'login','rid':'r','username':'" + str(257, "u") + "','password':'p'}", "bad_request"),
        anon("username of 257 emoji", "{'type':'login','rid':'r','username':'" + str(257, EMOJI) + "','password':'p'}", "bad_request"),
        anon("password of 1025 characters", "{'type':'login','rid':'r','username':'bob','password':'" + str(1025, "p") + "'}", "bad_request"),
        anon("username with an unpaired surrogate", "{'type':'login','rid':'r','username':'\\ud800','password':'p'}", "bad_request"),
        new Row("a repeated username key (not strict JSON: no rid)", As.ANONYMOUS,
            q("{'type':'login','rid':'r','username':'bob','username':'admin','password':'p'}"), "bad_request", null),
        anon("boundary: username of 256 characters is checked, and wrong", "{'type':'login','rid':'r','username':'" + str(256, "u") + "','password':'p'}", "unauthenticated"),
        anon("boundary: username of 256 emoji is checked, and wrong", "{'type':'login','rid':'r','username':'" + str(256, EMOJI) + "','password':'p'}", "unauthenticated"),
        anon("boundary: password of 1024 characters is checked, and wrong", "{'type':'login','rid':'r','username':'bob','password':'" + str(1024, "p") + "'}", "unauthenticated"),
        anon("hostile: username with NUL", "{'type':'login','rid':'r','username':'bob\\u0000','password':'password-of-bob'}", "unauthenticated"),
        anon("hostile: username with a trailing space", "{'type':'login','rid':'r','username':'bob ','password':'password-of-bob'}", "unauthenticated"),
        anon("hostile: username in other case", "{'type':'login','rid':'r','username':'BOB','password':'password-of-bob'}", "unauthenticated"),
        anon("hostile: password with a trailing space", "{'type':'login','rid':'r','username':'bob','password':'password-of-bob '}", "unauthenticated"),
        anon("hostile: SQL-ish username", "{'type':'login','rid':'r','username':'admin;-- OR 1=1','password':'x'}", "unauthenticated"),
        anon("hostile: the stored hash as the password", "{'type':'login','rid':'r','username':'bob','password':'$argon2id$v=19$m=19456,t=2,p=1$AAAA$AAAA'}", "unauthenticated"));
  }

  static List<Row> signupRows() {
    return List.of(
        anon("no username", "{'type':'signup','rid':'r','password':'long-enough-pw'}", "bad_request"),
        anon("no password", "{'type':'signup','rid':'r','username':'newbie'}", "bad_request"),
        anon("numeric username", "{'type':'signup','rid':'r','username':7,'password':'long-enough-pw'}", "bad_request"),
        anon("null password", "{'type':'signup','rid':'r','username':'newbie','password':null}", "bad_request"),
        anon("empty username", "{'type':'signup','rid':'r','username':'','password':'long-enough-pw'}", "bad_request"),
        anon("username of 257 characters", "{'type':'signup','rid':'r','username':'" + str(257, "u") + "','password':'long-enough-pw'}", "bad_request"),
        anon("username of 65 characters", "{'type':'signup','rid':'r','username':'" + str(65, "u") + "','password':'long-enough-pw'}", "bad_request"),
        anon("username with a space", "{'type':'signup','rid':'r','username':'new bie','password':'long-enough-pw'}", "bad_request"),
        anon("username with a colon", "{'type':'signup','rid':'r','username':'role:admin','password':'long-enough-pw'}", "bad_request"),
        anon("username with a slash", "{'type':'signup','rid':'r','username':'a/b','password':'long-enough-pw'}", "bad_request"),
        anon("username with a dollar", "{'type':'signup','rid':'r','username':'$owner','password':'long-enough-pw'}", "bad_request"),
        anon("username with NUL", "{'type':'signup','rid':'r','username':'new\\u0000bie','password':'long-enough-pw'}", "bad_request"),
        anon("username with an emoji", "{'type':'signup','rid':'r','username':'new" + EMOJI + "','password':'long-enough-pw'}", "bad_request"),
        anon("username taken (admin)", "{'type':'signup','rid':'r','username':'admin','password':'long-enough-pw'}", "bad_request"),
        anon("username taken (bob)", "{'type':'signup','rid':'r','username':'bob','password':'long-enough-pw'}", "bad_request"),
        anon("password of 7 characters", "{'type':'signup','rid':'r','username':'newbie','password':'1234567'}", "bad_request"),
        anon("password of 7 emoji", "{'type':'signup','rid':'r','username':'newbie','password':'" + str(7, EMOJI) + "'}", "bad_request"),
        anon("password of 1025 characters", "{'type':'signup','rid':'r','username':'newbie','password':'" + str(1025, "p") + "'}", "bad_request"),
        anon("password with an unpaired surrogate", "{'type':'signup','rid':'r','username':'newbie','password':'long-enough-\\udc00'}", "bad_request"));
  }

  static List<Row> renewRows() {
    return List.of(
        anon("anonymous renew", "{'type':'renew','rid':'r'}", "unauthenticated"),
        anon("anonymous renew carrying a token field", "{'type':'renew','rid':'r','token':'" + validToken("admin", nowSeconds() + 600) + "'}", "unauthenticated"),
        anon("anonymous renew carrying a user field", "{'type':'renew','rid':'r','user':{'id':'admin','roles':['admin']}}", "unauthenticated"),
        new Row("renew with an object rid", As.ADMIN, q("{'type':'renew','rid':{}}"), "bad_request", null),
        new Row("renew with a fractional rid", As.ADMIN, q("{'type':'renew','rid':1.5}"), "bad_request", null));
  }

  static List<Row> userRows() {
    String roles65 = IntStream.range(0, 65).mapToObj(i -> "'r" + i + "'").collect(joining(",", "[", "]"));
    return List.of(
        op("user.create without args", "user.create", "{}", "bad_request"),
        op("user.create with null args", "user.create", "null", "bad_request"),
        op("user.create without username", "user.create", "{'password':'long-enough-pw'}", "bad_request"),
        op("user.create with a numeric username", "user.create", "{'username':5,'password':'long-enough-pw'}", "bad_request"),
        op("user.create with an empty username", "user.create", "{'username':'','password':'long-enough-pw'}", "bad_request"),
        op("user.create with a username of 257 characters", "user.create", "{'username':'" + str(257, "u") + "','password':'long-enough-pw'}", "bad_request"),
        op("user.create with a username of 1025 characters", "user.create", "{'username':'" + str(1025, "u") + "','password':'long-enough-pw'}", "bad_request"),
        op("user.create with a username of 65 characters", "user.create", "{'username':'" + str(65, "u") + "','password':'long-enough-pw'}", "bad_request"),
        op("user.create with a username with a space", "user.create", "{'username':'a b','password':'long-enough-pw'}", "bad_request"),
        op("user.create with a username with a colon", "user.create", "{'username':'user:x','password':'long-enough-pw'}", "bad_request"),
        op("user.create with a username with a slash", "user.create", "{'username':'a/b','password':'long-enough-pw'}", "bad_request"),
        op("user.create with a non-ASCII username", "user.create", "{'username':'ünï','password':'long-enough-pw'}", "bad_request"),
        op("user.create of a taken name", "user.create", "{'username':'bob','password':'long-enough-pw'}", "bad_request"),
        op("user.create of admin", "user.create", "{'username':'admin','password':'long-enough-pw','roles':['admin']}", "bad_request"),
        op("user.create without password", "user.create", "{'username':'newuser'}", "bad_request"),
        op("user.create with a null password", "user.create", "{'username':'newuser','password':null}", "bad_request"),
        op("user.create with a numeric password", "user.create", "{'username':'newuser','password':12345678}", "bad_request"),
        op("user.create with a password of 7", "user.create", "{'username':'newuser','password':'1234567'}", "bad_request"),
        op("user.create with a password of 1025", "user.create", "{'username':'newuser','password':'" + str(1025, "p") + "'}", "bad_request"),
        op("user.create with roles as a string", "user.create", "{'username':'newuser','password':'long-enough-pw','roles':'admin'}", "bad_request"),
        op("user.create with roles as an object", "user.create", "{'username':'newuser','password':'long-enough-pw','roles':{'admin':true}}", "bad_request"),
        op("user.create with a numeric role", "user.create", "{'username':'newuser','password':'long-enough-pw','roles':[1]}", "bad_request"),
        op("user.create with a null role", "user.create", "{'username':'newuser','password':'long-enough-pw','roles':[null]}", "bad_request"),
        op("user.create with an empty role", "user.create", "{'username':'newuser','password':'long-enough-pw','roles':['']}", "bad_request"),
        op("user.create with a role with a space", "user.create", "{'username':'newuser','password':'long-enough-pw','roles':['bad role']}", "bad_request"),
        op("user.create with a role role:x", "user.create", "{'username':'newuser','password':'long-enough-pw','roles':['role:x']}", "bad_request"),
        op("user.create with a role $admin", "user.create", "{'username':'newuser','password':'long-enough-pw','roles':['$admin']}", "bad_request"),
        op("user.create with a role of 65 characters", "user.create", "{'username':'newuser','password':'long-enough-pw','roles':['" + str(65, "r") + "']}", "bad_request"),
        op("user.create with 65 roles", "user.create", "{'username':'newuser','password':'long-enough-pw','roles':" + roles65 + "}", "bad_request"),
        op("user.update without username", "user.update", "{'disabled':true}", "bad_request"),
        op("user.update with a numeric username", "user.update", "{'username':1}", "bad_request"),
        op("user.update of an unknown user", "user.update", "{'username':'ghost','disabled':true}", "not_found"),
        op("user.update with disabled as a string", "user.update", "{'username':'bob','disabled':'yes'}", "bad_request"),
        op("user.update with disabled as a number", "user.update", "{'username':'bob','disabled':1}", "bad_request"),
        op("user.update with roles as a string", "user.update", "{'username':'bob','roles':'admin'}", "bad_request"),
        op("user.update with a bad role", "user.update", "{'username':'bob','roles':['ad min']}", "bad_request"),
        op("user.update with a short password", "user.update", "{'username':'bob','password':'short'}", "bad_request"),
        op("user.update with a numeric password", "user.update", "{'username':'bob','password':12345678}", "bad_request"),
        op("user.update with a password of 1025", "user.update", "{'username':'bob','password':'" + str(1025, "p") + "'}", "bad_request"),
        op("user.update with a short password and a role change", "user.update", "{'username':'bob','password':'short','roles':['admin']}", "bad_request"),
        op("user.delete without username", "user.delete", "{}", "bad_request"),
        op("user.delete with a list username", "user.delete", "{'username':['bob']}", "bad_request"),
        op("user.delete of an unknown user", "user.delete", "{'username':'ghost'}", "not_found"),
        op("user.update of a malformed username", "user.update", "{'username':'bad name!','disabled':true}", "bad_request"),
        op("user.delete of a username of 65 characters", "user.delete", "{'username':'" + str(65, "u") + "'}", "bad_request"));
  }

  static List<Row> policyRows() {
    String principals65 = IntStream.range(0, 65).mapToObj(i -> "'user:u" + i + "'").collect(joining(",", "[", "]"));
    return List.of(
        op("policy.set without db", "policy.set", "{'policy':{'read':['$all']}}", "bad_request"),
        op("policy.set with a numeric db", "policy.set", "{'db':5,'policy':{'read':['$all']}}", "bad_request"),
        op("policy.set with a bad db name", "policy.set", "{'db':'my db','policy':{'read':['$all']}}", "bad_request"),
        op("policy.set on an unknown db", "policy.set", "{'db':'nope','policy':{'read':['$all']}}", "not_found"),
        op("policy.set without policy", "policy.set", "{'db':'shop'}", "bad_request"),
        op("policy.set without policy on a col", "policy.set", "{'db':'shop','col':'c'}", "bad_request"),
        op("policy.set with a string policy", "policy.set", "{'db':'shop','policy':'open'}", "bad_request"),
        op("policy.set with a list policy", "policy.set", "{'db':'shop','policy':[]}", "bad_request"),
        op("policy.set with a numeric policy", "policy.set", "{'db':'shop','policy':1}", "bad_request"),
        op("policy.set with an unknown action", "policy.set", "{'db':'shop','policy':{'write':['$all']}}", "bad_request"),
        op("policy.set with an upper-case action", "policy.set", "{'db':'shop','policy':{'READ':['$all']}}", "bad_request"),
        op("policy.set with principals not a list", "policy.set", "{'db':'shop','policy':{'read':'$all'}}", "bad_request"),
        op("policy.set with a numeric principal", "policy.set", "{'db':'shop','policy':{'read':[5]}}", "bad_request"),
        op("policy.set with a null principal", "policy.set", "{'db':'shop','policy':{'read':[null]}}", "bad_request"),
        op("policy.set with principal role:", "policy.set", "{'db':'shop','policy':{'read':['role:']}}", "bad_request"),
        op("policy.set with principal user:", "policy.set", "{'db':'shop','policy':{'read':['user:']}}", "bad_request"),
        op("policy.set with principal admin", "policy.set", "{'db':'shop','policy':{'read':['admin']}}", "bad_request"),
        op("policy.set with principal $nobody", "policy.set", "{'db':'shop','policy':{'read':['$nobody']}}", "bad_request"),
        op("policy.set with principal $ALL", "policy.set", "{'db':'shop','policy':{'read':['$ALL']}}", "bad_request"),
        op("policy.set with principal role:bad name", "policy.set", "{'db':'shop','policy':{'read':['role:bad name']}}", "bad_request"),
        op("policy.set with principal group:x", "policy.set", "{'db':'shop','policy':{'read':['group:x']}}", "bad_request"),
        op("policy.set with 65 principals", "policy.set", "{'db':'shop','policy':{'read':" + principals65 + "}}", "bad_request"),
        op("policy.set with one good and one bad action", "policy.set", "{'db':'shop','policy':{'read':['$all'],'write':['$all']}}", "bad_request"),
        op("policy.set with an empty col", "policy.set", "{'db':'shop','col':'','policy':{'read':['$all']}}", "bad_request"),
        op("policy.set with a reserved col", "policy.set", "{'db':'shop','col':'$x','policy':{'read':['$all']}}", "bad_request"),
        op("policy.set with a numeric col", "policy.set", "{'db':'shop','col':5,'policy':{'read':['$all']}}", "bad_request"),
        op("policy.set with a col of 257 characters", "policy.set", "{'db':'shop','col':'" + str(257, "c") + "','policy':{'read':['$all']}}", "bad_request"),
        op("policy.get without db", "policy.get", "{}", "bad_request"),
        op("policy.get on an unknown db", "policy.get", "{'db':'nope'}", "not_found"),
        op("policy.get with a reserved col", "policy.get", "{'db':'shop','col':'$x'}", "bad_request"),
        op("db.create with a bad policy", "db.create", "{'db':'made-with-bad-policy','policy':{'read':['admin']}}", "bad_request"),
        op("db.create with an unknown action", "db.create", "{'db':'made-with-bad-policy','policy':{'write':['$all']}}", "bad_request"),
        op("db.create with a string policy", "db.create", "{'db':'made-with-bad-policy','policy':'open'}", "bad_request"),
        op("db.create of a reserved db", "db.create", "{'db':'$users'}", "forbidden"),
        op("db.create with a bad name", "db.create", "{'db':'a/b'}", "bad_request"));
  }

  static List<Row> ownerRows() {
    return List.of(
        op("owner.set on a missing document", "owner.set", "{'db':'shop','col':'notes','id':'missing','owner':'bob'}", "not_found"),
        op("owner.set to a user that does not exist", "owner.set", "{'db':'shop','col':'notes','id':'n1','owner':'nobody-here'}", "not_found"),
        op("owner.set on a missing collection", "owner.set", "{'db':'shop','col':'nothing-here','id':'n1','owner':'bob'}", "not_found"),
        op("owner.set without db", "owner.set", "{'col':'notes','id':'n1','owner':'bob'}", "bad_request"),
        op("owner.set on an unknown db", "owner.set", "{'db':'nope','col':'notes','id':'n1','owner':'bob'}", "not_found"),
        op("owner.set on $system", "owner.set", "{'db':'$system','col':'users','id':'bob','owner':'bob'}", "forbidden"),
        op("owner.set without col", "owner.set", "{'db':'shop','id':'n1','owner':'bob'}", "bad_request"),
        op("owner.set with a reserved col", "owner.set", "{'db':'shop','col':'$x','id':'n1','owner':'bob'}", "bad_request"),
        op("owner.set without id", "owner.set", "{'db':'shop','col':'notes','owner':'bob'}", "bad_request"),
        op("owner.set with an empty id", "owner.set", "{'db':'shop','col':'notes','id':'','owner':'bob'}", "bad_request"),
        op("owner.set with an id of 257 characters", "owner.set", "{'db':'shop','col':'notes','id':'" + str(257, "i") + "','owner':'bob'}", "bad_request"),
        op("boundary: owner.set with an id of 256 emoji (as a push counts them) is checked, and missing", "owner.set",
            "{'db':'shop','col':'notes','id':'" + str(256, EMOJI) + "','owner':'bob'}", "not_found"),
        op("owner.set with a col of 257 emoji", "owner.set", "{'db':'shop','col':'" + str(257, EMOJI) + "','id':'n1','owner':'bob'}", "bad_request"),
        op("owner.set without owner", "owner.set", "{'db':'shop','col':'notes','id':'n1'}", "bad_request"),
        op("owner.set with a numeric owner", "owner.set", "{'db':'shop','col':'notes','id':'n1','owner':5}", "bad_request"),
        op("owner.set with a bad owner name", "owner.set", "{'db':'shop','col':'notes','id':'n1','owner':'bad owner'}", "bad_request"),
        op("owner.set with an owner of 65 characters", "owner.set", "{'db':'shop','col':'notes','id':'n1','owner':'" + str(65, "o") + "'}", "bad_request"));
  }

  static List<Row> adminMessageRows() {
    return List.of(
        new Row("args as a string", As.ADMIN, q("{'type':'admin','rid':'r','op':'user.list','args':'x'}"), "bad_request", RID),
        new Row("args as a list", As.ADMIN, q("{'type':'admin','rid':'r','op':'user.create','args':[]}"), "bad_request", RID),
        new Row("args with an unpaired surrogate", As.ADMIN,
            q("{'type':'admin','rid':'r','op':'user.create','args':{'username':'x\\ud800','password':'long-enough-pw'}}"), "bad_request", RID),
        new Row("args with a number beyond a double", As.ADMIN,
            q("{'type':'admin','rid':'r','op':'user.update','args':{'username':'bob','disabled':1e400}}"), "bad_request", RID),
        new Row("empty op", As.ADMIN, q("{'type':'admin','rid':'r','op':'','args':{}}"), "bad_request", RID),
        new Row("op of 65 characters", As.ADMIN, q("{'type':'admin','rid':'r','op':'" + str(65, "o") + "','args':{}}"), "bad_request", RID),
        new Row("unknown op user.hack", As.ADMIN, q("{'type':'admin','rid':'r','op':'user.hack','args':{}}"), "bad_request", RID),
        new Row("op in upper case", As.ADMIN, q("{'type':'admin','rid':'r','op':'USER.LIST','args':{}}"), "bad_request", RID),
        new Row("numeric op", As.ADMIN, q("{'type':'admin','rid':'r','op':5,'args':{}}"), "bad_request", RID));
  }

  @TestFactory
  @Order(1)
  @DisplayName("each malformed or hostile message gets its typed error with its rid, and the connection keeps serving")
  Stream<DynamicNode> matrix() {
    return Stream.of(
        table("login", loginRows()),
        table("signup", signupRows()),
        table("renew", renewRows()),
        table("user.create, user.update, user.delete", userRows()),
        table("policy.set, policy.get, db.create policy", policyRows()),
        table("owner.set", ownerRows()),
        table("admin message", adminMessageRows()));
  }

  @Test
  @Order(3)
  @DisplayName("fields a client adds to login or signup (roles, admin flags) are ignored: the account gets no roles from them")
  void extraFieldsIgnored() {
    try (WsClient c = server.connect("extra")) {
      JsonNode t = c.request(WsClient.obj("login").put("username", "bob").put("password", "password-of-bob")
          .put("roles", "admin").put("admin", true));
      assertToken("bob", t);
      assertEquals("[\"editor\"]", t.path("user").path("roles").toString());
      assertError("forbidden", c.request(admin("db.list", args())));
    }
    try (WsClient c = server.connect("extra-signup")) {
      com.fasterxml.jackson.databind.node.ObjectNode s = WsClient.obj("signup").put("username", "joiner").put("password", "long-enough-pw");
      s.putArray("roles").add("admin");
      JsonNode t = c.request(s);
      assertToken("joiner", t);
      assertEquals("[]", t.path("user").path("roles").toString());
      assertError("forbidden", c.request(admin("user.list", args())));
    }
    AuthTesting.adminOk(server, "user.delete", args().put("username", "joiner"));
  }

  @Test
  @Order(4)
  @DisplayName("a connection flooding messages gets rate_limited with retryAfterMs, then 1008; another connection keeps being served")
  void messageRate() {
    try (TestServer limited = TestServer.start(c -> c.messagesPerSecond = 5)) {
      try (WsClient calm = limited.connect("calm"); WsClient burst = limited.connect("burst"); WsClient flood = limited.connect("flood")) {
        // a burst of 20: twice the rate passes, the rest is refused with a hint; the connection stays
        List<Long> rids = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < 20; i++) rids.add(burst.sendWithRid(WsClient.obj("ping")));
        double seconds = (System.nanoTime() - start) / 1e9;
        List<JsonNode> answers = new ArrayList<>();
        for (long rid : rids) answers.add(burst.await(m -> m.path("rid").asLong() == rid));
        long pongs = answers.stream().filter(a -> type(a).equals("pong")).count();
        // a burst of twice the rate, plus what refilled while the 20 were being sent
        assertTrue(pongs >= 10 && pongs <= 10 + Math.ceil(5 * seconds) + 1, "pongs: " + pongs + " in " + seconds + " s: " + answers);
        JsonNode limitedAnswer = answers.stream().filter(a -> type(a).equals("error")).findFirst().orElseThrow();
        assertError("rate_limited", limitedAnswer);
        long retry = limitedAnswer.path("retryAfterMs").asLong();
        assertTrue(retry > 0 && retry <= 1000, limitedAnswer.toString());
        // the hint of the last refusal is the one to follow (a message may have passed after the first)
        JsonNode lastRefusal = answers.stream().filter(a -> type(a).equals("error")).reduce((a, b) -> b).orElseThrow();
        AuthTesting.sleep(lastRefusal.path("retryAfterMs").asLong() + 50);
        assertServes(burst);

        // a flood: refused, then closed with 1008 once the malformed-message budget is spent
        int sent = 0;
        try {
          for (; sent < 300 && !flood.isClosed(); sent++) flood.sendWithRid(WsClient.obj("ping"));
        } catch (RuntimeException closedWhileSending) {
          // the server closed the socket mid-flood
        }
        assertEquals(1008, flood.awaitClose(), "sent " + sent);
        assertTrue(flood.receivedOfType("error").stream().allMatch(e -> e.path("code").asText().equals("rate_limited")));
        assertTrue(flood.receivedOfType("error").size() >= 60, "errors before the close: " + flood.receivedOfType("error").size());
        assertServes(calm);
        AuthTesting.sleep(300); // one token (at 5/s) for the burst connection, which spent its last just above
        assertServes(burst);
      }
    }
  }

  @Test
  @Order(2)
  @DisplayName("nothing any refused row sent was stored: users, databases, heads ($system too), policies are unchanged")
  void nothingStored() {
    assertEquals(before, state());
    String users = AuthTesting.users(server).toString();
    assertFalse(users.contains("newuser") || users.contains("newbie"), users);
  }
}
