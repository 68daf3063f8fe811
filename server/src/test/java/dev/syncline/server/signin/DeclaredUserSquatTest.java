package dev.syncline.server.signin;

import static dev.syncline.server.signin.AuthTesting.login;
import static dev.syncline.server.signin.AuthTesting.signup;
import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.config.ServerConfig;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class DeclaredUserSquatTest {
  @Test
  @DisplayName("a name taken by self sign-up does not get the roles the config declares for it at the next start")
  void signedUpNameDoesNotInheritDeclaredAdmin() {
    AtomicBoolean declared = new AtomicBoolean(false);
    try (TestServer s = TestServer.start(c -> {
      c.signup = true;
      // the operator adds an admin account to the config later (README: "users": [{"username": "ops", ..., "roles": ["admin"]}])
      if (declared.get()) c.users.add(new ServerConfig.UserSpec("ops", "the-operators-password", List.of("admin")));
    })) {
      try (WsClient mallory = s.connect("mallory-1")) {
        JsonNode t = mallory.request(signup("ops", "mallorys-password"));
        assertEquals("token", t.path("type").asText(), t.toString());
      }
      declared.set(true);
      s.restart();
      try (WsClient mallory = s.connect("mallory-2")) {
        JsonNode t = mallory.request(login("ops", "mallorys-password"));
        JsonNode dbs = mallory.request(admin("db.list", args()));
        assertNotEquals("[\"admin\"]", t.path("user").path("roles").toString(),
            "the account mallory signed up as ops (with her password) was made admin by the config: " + t.path("user")
            + "; db.list answered " + dbs.path("type").asText());
      }
    }
  }
}
