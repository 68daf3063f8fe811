package dev.syncline.server.cli;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.Json;
import dev.syncline.server.testing.Cli;
import dev.syncline.server.testing.Cli.Result;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The command line against a running server: users, databases, policies, digests, health")
class RemoteCommandsTest {
  private static TestServer server;
  private static Map<String, String> asAdmin;

  @BeforeAll
  static void start() {
    server = TestServer.start();
    asAdmin = Map.of("SYNCLINE_URL", "http://127.0.0.1:" + server.port(), "SYNCLINE_PASSWORD", TestServer.ADMIN_PASSWORD);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  @DisplayName("--help on a nested command (user add, db create, policy set) prints its usage and succeeds")
  void helpOnNestedCommands() throws Exception {
    for (String[] command : new String[][] {{"user", "add"}, {"db", "create"}, {"policy", "set"}}) {
      Result help = Cli.run(Map.of(), command[0], command[1], "--help");
      assertEquals(0, help.exit(), help.toString());
      assertTrue(help.out().contains("Usage: syncline " + command[0] + " " + command[1]), help.toString());
      assertTrue(help.out().contains("--help"), "lists --help itself: " + help);
    }
  }

  @Test
  @DisplayName("user add, list, passwd, disable and enable change who can sign in")
  void users() throws Exception {
    Result add = Cli.run(with("SYNCLINE_NEW_PASSWORD", "first-password-1"), "user", "add", "carol", "--role", "editor");
    assertEquals(0, add.exit(), add.toString());
    server.connectAs("c1", "carol", "first-password-1").close();

    Result list = Cli.run(asAdmin, "user", "list", "--json");
    assertEquals(0, list.exit(), list.toString());
    JsonNode carol = find(Json.MAPPER.readTree(list.out()), "username", "carol");
    assertEquals("editor", carol.path("roles").get(0).asText());
    assertFalse(carol.path("disabled").asBoolean());
    assertTrue(Cli.run(asAdmin, "user", "list").out().lines().anyMatch(l -> l.matches("carol\\s+editor\\s+false")));

    assertEquals(0, Cli.run(with("SYNCLINE_NEW_PASSWORD", "second-password-2"), "user", "passwd", "carol").exit());
    assertFalse(signsIn("carol", "first-password-1"));
    assertTrue(signsIn("carol", "second-password-2"));

    assertEquals(0, Cli.run(asAdmin, "user", "disable", "carol").exit());
    assertFalse(signsIn("carol", "second-password-2"));
    assertEquals(0, Cli.run(asAdmin, "user", "enable", "carol").exit());
    assertTrue(signsIn("carol", "second-password-2"));
  }

  @Test
  @DisplayName("db create with a policy, policy get and set, db list and db destroy")
  void databasesAndPolicies() throws Exception {
    Result create = Cli.run(asAdmin, "db", "create", "notes", "--policy", "{\"read\":[\"$all\"],\"create\":[\"role:admin\"]}");
    assertEquals(0, create.exit(), create.toString());
    assertTrue(Json.MAPPER.readTree(create.out()).path("created").asBoolean(), create.out());

    JsonNode dbs = Json.MAPPER.readTree(Cli.run(asAdmin, "db", "list", "--json").out());
    assertEquals(0, find(dbs, "db", "notes").path("head").asLong());

    Result set = Cli.run(asAdmin, "policy", "set", "notes", "--col", "drafts", "{\"read\":[\"$owner\"],\"create\":[\"$user\"]}");
    assertEquals(0, set.exit(), set.toString());
    JsonNode got = Json.MAPPER.readTree(Cli.run(asAdmin, "policy", "get", "notes", "drafts").out());
    assertEquals("$owner", got.path("policy").path("read").get(0).asText(), got.toString());
    JsonNode fromServer = server.admin(admin("policy.get", args().put("db", "notes").put("col", "drafts")));
    assertEquals(got.path("effective"), fromServer.path("data").path("effective"));

    Result invalid = Cli.run(asAdmin, "policy", "set", "notes", "{\"read\":\"everyone\"}");
    assertEquals(1, invalid.exit(), invalid.toString());
    assertTrue(invalid.err().startsWith("syncline: bad_request:"), invalid.err());
    assertEquals(1, invalid.err().lines().count(), "one line, no stack trace: " + invalid.err());

    Result unconfirmed = Cli.run(asAdmin, "db", "destroy", "notes");
    assertEquals(1, unconfirmed.exit(), unconfirmed.toString());
    assertTrue(server.admin(admin("db.stats", args().put("db", "notes"))).path("type").asText().equals("result"));
    assertEquals(0, Cli.run(asAdmin, "db", "destroy", "notes", "--yes").exit());
    assertEquals("not_found", server.admin(admin("db.stats", args().put("db", "notes"))).path("code").asText());
  }

  @Test
  @DisplayName("digest prints the server's digest; --also compares servers and exits 1 when they differ")
  void digests() throws Exception {
    try (WsClient writer = server.connect("digest-writer");
        TestServer other = TestServer.start()) {
      writer.request(dev.syncline.server.testing.Deltas.push("app",
          dev.syncline.server.testing.Deltas.delta("c", "d1", "v", 1, dev.syncline.server.testing.Deltas.now(1, "digest-writer"))));
      String expected = server.admin(admin("db.digest", args().put("db", "app"))).path("data").path("digest").asText();
      Result one = Cli.run(asAdmin, "digest", "app");
      assertEquals(0, one.exit(), one.toString());
      assertTrue(one.out().startsWith(expected), one.out());
      Result same = Cli.run(asAdmin, "digest", "app", "--also", "http://127.0.0.1:" + server.port());
      assertEquals(0, same.exit(), same.toString());
      assertTrue(same.out().contains("equal"), same.out());
      Result differ = Cli.run(asAdmin, "digest", "app", "--also", "ws://127.0.0.1:" + other.port() + "/sync");
      assertEquals(1, differ.exit(), differ.toString());
      assertTrue(differ.out().contains("different"), differ.out());
    }
  }

  @Test
  @DisplayName("a wrong password, an unreachable server and health answer in one line with an exit code")
  void failuresAndHealth() throws Exception {
    Result wrong = Cli.run(with("SYNCLINE_PASSWORD", "not-it"), "user", "list");
    assertEquals(1, wrong.exit(), wrong.toString());
    assertEquals("syncline: unauthenticated: wrong username or password", wrong.err().strip());

    Result health = Cli.run(asAdmin, "health");
    assertEquals(0, health.exit(), health.toString());
    assertEquals("ok", Json.MAPPER.readTree(health.out()).path("status").asText());
    // without a URL, the server's own SYNCLINE_PORT says where it is (the Docker image's health check)
    Result byPort = Cli.run(Map.of("SYNCLINE_PORT", Integer.toString(server.port())), "health");
    assertEquals(0, byPort.exit(), byPort.toString());

    int closedPort;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    Result down = Cli.run(Map.of(), "health", "--url", "http://127.0.0.1:" + closedPort);
    assertEquals(1, down.exit(), down.toString());
    assertTrue(down.err().startsWith("syncline: cannot reach the server"), down.err());
    assertEquals(1, down.err().lines().count(), down.err());

    Result noPassword = Cli.run(Map.of("SYNCLINE_URL", "http://127.0.0.1:" + server.port()), "user", "list");
    assertEquals(1, noPassword.exit(), noPassword.toString());
    assertTrue(noPassword.err().contains("SYNCLINE_PASSWORD"), noPassword.err());
  }

  private static boolean signsIn(String user, String password) {
    try (WsClient c = server.connect("sign-in-check")) {
      return c.request(WsClient.obj("login").put("username", user).put("password", password)).path("type").asText()
          .equals("token");
    }
  }

  private static Map<String, String> with(String key, String value) {
    Map<String, String> env = new java.util.HashMap<>(asAdmin);
    env.put(key, value);
    return env;
  }

  private static JsonNode find(JsonNode array, String field, String value) {
    for (JsonNode e : array) if (e.path(field).asText().equals(value)) return e;
    throw new AssertionError("no " + field + " " + value + " in " + array);
  }
}
