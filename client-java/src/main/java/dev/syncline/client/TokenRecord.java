package dev.syncline.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.UserInfo;
import java.util.ArrayList;
import java.util.List;

/**
 * Who the client is signed in as: the token, when it expires and when it was issued (server
 * clock, ms), and the user it names. Kept in the store as JSON, sent as {@code hello.token}.
 */
record TokenRecord(String token, long expiresAt, long issuedAt, UserInfo user) {

  /** When to renew: once less than half of the lifetime is left. */
  long renewAt() {
    return issuedAt + (expiresAt - issuedAt) / 2;
  }

  String toJson() {
    ObjectNode o = Json.MAPPER.createObjectNode().put("token", token).put("expiresAt", expiresAt).put("issuedAt", issuedAt);
    o.set("user", userJson(user));
    return o.toString();
  }

  static JsonNode userJson(UserInfo u) {
    ObjectNode o = Json.MAPPER.createObjectNode().put("id", u.id());
    u.roles().forEach(o.putArray("roles")::add);
    return o;
  }

  /** A stored record, or null when there is none or it is unreadable. */
  static TokenRecord fromJson(String json) {
    if (json == null) return null;
    try {
      JsonNode n = Json.MAPPER.readTree(json);
      UserInfo user = user(n.get("user"));
      if (!n.path("token").isTextual() || user == null) return null;
      return new TokenRecord(n.get("token").asText(), n.path("expiresAt").asLong(), n.path("issuedAt").asLong(), user);
    } catch (java.io.IOException e) {
      return null;
    }
  }

  /** {@code {id, roles}} as the server sends it, or null. */
  static UserInfo user(JsonNode n) {
    if (n == null || !n.path("id").isTextual()) return null;
    List<String> roles = new ArrayList<>();
    n.path("roles").forEach(r -> roles.add(r.asText()));
    return new UserInfo(n.get("id").asText(), List.copyOf(roles));
  }
}
