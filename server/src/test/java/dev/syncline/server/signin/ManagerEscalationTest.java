package dev.syncline.server.signin;

import static dev.syncline.server.signin.AuthTesting.adminOk;
import static dev.syncline.server.signin.AuthTesting.login;
import static dev.syncline.server.signin.AuthTesting.userArgs;
import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ManagerEscalationTest {
  @Test
  @DisplayName("one who may only update users cannot take over a role-less user that a user:NAME grant makes a policy manager")
  void passwordResetOfUserGrantedByName() {
    try (TestServer s = TestServer.start()) {
      ObjectNode users = args().put("db", "$system").put("col", "users");
      users.putObject("policy").putArray("update").add("role:support");
      adminOk(s, "policy.set", users);
      ObjectNode policies = args().put("db", "$system").put("col", "policies");
      ObjectNode p = policies.putObject("policy");
      p.putArray("read").add("user:polbot");
      p.putArray("update").add("user:polbot");
      adminOk(s, "policy.set", policies);
      adminOk(s, "user.create", userArgs("sue", "password-of-sue", "support"));
      adminOk(s, "user.create", userArgs("polbot", "password-of-polbot"));
      try (WsClient sue = s.connectAs("sue-1", "sue", "password-of-sue")) {
        ObjectNode grab = args().put("db", "app");
        grab.putObject("policy").putArray("read").add("user:sue");
        JsonNode before = sue.request(admin("policy.set", grab.deepCopy()));
        assertEquals("forbidden", before.path("code").asText(), "sue may not set policies herself: " + before);
        JsonNode reset = sue.request(admin("user.update", args().put("username", "polbot").put("password", "sue-owns-polbot-now")));
        try (WsClient asPolbot = s.connect("sue-2")) {
          JsonNode t = asPolbot.request(login("polbot", "sue-owns-polbot-now"));
          JsonNode set = t.path("type").asText().equals("token") ? asPolbot.request(admin("policy.set", grab)) : t;
          assertEquals("forbidden", reset.path("code").asText(),
              "sue (update on users only) reset polbot's password (" + reset + ") and, signed in as polbot, set app's policy: " + set);
        }
      }
    }
  }
  @Test
  @DisplayName("one who may only create users cannot make the user a policy already names (user:NAME), nor may it delete one")
  void creatingAUserAPolicyNames() {
    try (TestServer s = TestServer.start()) {
      ObjectNode users = args().put("db", "$system").put("col", "users");
      ObjectNode up = users.putObject("policy");
      up.putArray("create").add("role:support");
      up.putArray("destroy").add("role:support");
      adminOk(s, "policy.set", users);
      ObjectNode app = args().put("db", "app");
      app.putObject("policy").putArray("read").add("user:ghost").add("user:named");
      adminOk(s, "policy.set", app);
      adminOk(s, "user.create", userArgs("sue", "password-of-sue", "support"));
      adminOk(s, "user.create", userArgs("named", "password-of-named"));
      try (WsClient sue = s.connectAs("sue-1", "sue", "password-of-sue")) {
        JsonNode made = sue.request(admin("user.create", userArgs("ghost", "sue-owns-ghost-now")));
        assertEquals("forbidden", made.path("code").asText(), "sue made the user app's policy names: " + made);
        JsonNode deleted = sue.request(admin("user.delete", args().put("username", "named")));
        assertEquals("forbidden", deleted.path("code").asText(), "sue deleted a user app's policy names: " + deleted);
        JsonNode other = sue.request(admin("user.create", userArgs("plain", "password-of-plain")));
        assertEquals("result", other.path("type").asText(), "a user no policy names: " + other);
      }
    }
  }
}
