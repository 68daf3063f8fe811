package dev.syncline.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketConnectOptions;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A bare protocol connection for what the SDK does not do: admin ops, signed in as {@code admin}. */
final class AdminConnection {
  private AdminConnection() {}

  /** Sends one admin op on a connection of its own; returns {@code result.data}, or throws on {@code error}. */
  static JsonNode admin(String url, String op, String argsJson) {
    Vertx vertx = Vertx.vertx();
    try {
      var client = vertx.createWebSocketClient();
      WebSocket ws = Await.result(client.connect(new WebSocketConnectOptions().setAbsoluteURI(url)));
      BlockingQueue<JsonNode> replies = new LinkedBlockingQueue<>();
      ws.textMessageHandler(text -> replies.add(EmbeddedServer.json(text)));
      ws.writeTextMessage("{\"type\":\"hello\",\"rid\":1,\"protocol\":1,\"clientId\":\"test-admin\"}");
      next(replies, "welcome");
      ObjectNode login = Json.MAPPER.createObjectNode().put("type", "login").put("rid", 2).put("username", "admin")
          .put("password", EmbeddedServer.ADMIN_PASSWORD);
      ws.writeTextMessage(login.toString());
      next(replies, "token");
      ObjectNode message = Json.MAPPER.createObjectNode().put("type", "admin").put("rid", 3).put("op", op);
      message.set("args", EmbeddedServer.json(argsJson));
      ws.writeTextMessage(message.toString());
      return next(replies, "result").get("data");
    } finally {
      vertx.close();
    }
  }

  private static JsonNode next(BlockingQueue<JsonNode> replies, String type) {
    try {
      while (true) {
        JsonNode m = replies.poll(Await.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        if (m == null) throw new AssertionError("no " + type + " from the server");
        if (m.path("type").asText().equals("error")) throw new AssertionError("waiting for " + type + ": " + m);
        if (m.path("type").asText().equals(type)) return m;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
