package dev.syncline.server.signin;

import static dev.syncline.server.signin.AuthTesting.adminOk;
import static dev.syncline.server.signin.AuthTesting.signup;
import static dev.syncline.server.testing.Deltas.args;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.server.auth.Policy;
import dev.syncline.server.testing.Deltas;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class PolicyNamedSignupTest {
  @Test
  @DisplayName("self sign-up cannot take a name a policy grants by name (user:NAME): the stranger would get the grant")
  void signupOfAPolicyNamedUser() {
    try (TestServer s = TestServer.start(c -> {
      c.signup = true;
      c.newDatabasePolicy = Policy.NOBODY.toJson();
    })) {
      ObjectNode app = args().put("db", "app");
      app.putObject("policy").putArray("read").add("user:carol");
      adminOk(s, "policy.set", app); // carol is to get an account later
      try (WsClient mallory = s.connect("mallory-1")) {
        JsonNode t = mallory.request(signup("carol", "mallorys-password"));
        JsonNode sub = t.path("type").asText().equals("token") ? mallory.request(Deltas.sub("app", 0)) : t;
        assertNotEquals("token", t.path("type").asText(),
            "a stranger signed up as carol, whom app's policy names, and got her grant; sub answered " + sub);
      }
    }
  }
}
