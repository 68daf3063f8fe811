package dev.syncline.server.signin;

import static dev.syncline.server.signin.AuthTesting.adminOk;
import static dev.syncline.server.signin.AuthTesting.assertServes;
import static dev.syncline.server.signin.AuthTesting.userArgs;
import static dev.syncline.server.testing.Deltas.admin;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Changes to users and databases, which wait in one line for their commits")
class UserChangeLineTest {

  @Test
  @DisplayName("an admin demoted while their op hashes a password makes nothing: rights are checked again in line")
  void rightsCheckedAgainInLine() {
    try (TestServer server = TestServer.start(c -> c.messagesPerSecond = 0)) {
      adminOk(server, "user.create", userArgs("mallory", "mallory-password-1", "admin"));
      try (WsClient mallory = server.connectAs("mallory-laptop", "mallory", "mallory-password-1");
          WsClient decoy = server.connect("decoy")) {
        // sign-ins to check keep both hashing workers busy, so mallory's password waits behind them
        for (int i = 0; i < 6; i++) decoy.sendWithRid(AuthTesting.login("nobody-" + i, "wrong-password-1"));
        long rid = mallory.sendWithRid(admin("user.create", userArgs("evil", "evil-password-1", "admin")));
        adminOk(server, "user.update", userArgs("mallory", null)); // no roles left; nothing to hash, so it goes first
        JsonNode answer = mallory.await(m -> m.path("rid").asLong() == rid);
        assertEquals("forbidden", answer.path("code").asText(), answer.toString());
        assertFalse(AuthTesting.users(server).stream().anyMatch(u -> u.startsWith("evil")), AuthTesting.users(server).toString());
      }
    }
  }

  @Test
  @DisplayName("sent faster than they commit, wait in a bounded line: the rest get overloaded with retryAfterMs, "
      + "every request is answered, and the server serves others")
  void boundedLine() {
    int sent = 4000;
    try (TestServer server = TestServer.start(c -> c.messagesPerSecond = 0);
        WsClient admin = server.connectAs("flood", "admin", TestServer.ADMIN_PASSWORD)) {
      adminOk(server, "user.create", userArgs("bob", "bob-password-1"));
      admin.stopRecording();
      java.util.concurrent.atomic.AtomicInteger results = new java.util.concurrent.atomic.AtomicInteger();
      java.util.concurrent.atomic.AtomicInteger overloaded = new java.util.concurrent.atomic.AtomicInteger();
      java.util.List<JsonNode> others = new java.util.concurrent.CopyOnWriteArrayList<>();
      admin.listen(m -> {
        if ("result".equals(m.path("type").asText())) results.incrementAndGet();
        else if ("overloaded".equals(m.path("code").asText()) && m.path("retryAfterMs").asLong() > 0) overloaded.incrementAndGet();
        else others.add(m);
      });
      for (int i = 0; i < sent; i++) admin.sendWithRid(admin("user.update", userArgs("bob", null, i % 2 == 0 ? "a" : "b")));
      admin.until(() -> results.get() + overloaded.get() + others.size() >= sent, "every request answered");
      assertEquals(List.of(), others);
      assertTrue(overloaded.get() > 0, "some were refused: " + results.get() + " done");
      assertTrue(results.get() > 0, "some were done");
      try (WsClient other = server.connect("bystander")) {
        assertServes(other);
      }
    }
  }
}
