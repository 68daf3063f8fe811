package dev.syncline.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.Json;

/**
 * For tests whose server is a Vert.x WebSocket server of their own, scripted to send what the
 * real one cannot be made to (a malformed frame, answers held back): reading what the client
 * sends, and the welcome of PROTOCOL.md §7 to its hello.
 */
final class ScriptedServer {
  private ScriptedServer() {}

  static JsonNode read(String text) {
    try {
      return Json.MAPPER.readTree(text);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Answers {@code sub} as subscription {@code s1} of database {@code app}, whose head is
   * {@code head}, synced at once from 0: the changes frames a test sends next are live.
   */
  static void subscribeAsLive(io.vertx.core.http.ServerWebSocket ws, JsonNode sub, long head) {
    ws.writeTextMessage("{\"type\":\"subscribed\",\"rid\":" + sub.get("rid") + ",\"sid\":\"s1\",\"db\":\"app\",\"head\":" + head
        + ",\"epoch\":\"e1\"}");
    ws.writeTextMessage("{\"type\":\"synced\",\"sid\":\"s1\",\"seq\":0}");
  }

  /** Answers {@code sub} as subscribed at {@code head}, then resets it: a copy is collected until {@code synced}. */
  static void subscribeWithReset(io.vertx.core.http.ServerWebSocket ws, JsonNode sub, long head) {
    ws.writeTextMessage("{\"type\":\"subscribed\",\"rid\":" + sub.get("rid") + ",\"sid\":\"s1\",\"db\":\"app\",\"head\":" + head
        + ",\"epoch\":\"e1\"}");
    ws.writeTextMessage("{\"type\":\"reset\",\"sid\":\"s1\",\"epoch\":\"e1\"}");
  }

  /**
   * A WebSocket server on a free port of 127.0.0.1: it answers {@code hello} with {@link #welcome}
   * and hands every other message, read, to {@code onMessage}.
   */
  static io.vertx.core.http.HttpServer start(io.vertx.core.Vertx vertx,
      java.util.function.BiConsumer<io.vertx.core.http.ServerWebSocket, JsonNode> onMessage) {
    return vertx.createHttpServer().webSocketHandler(ws -> ws.textMessageHandler(text -> {
      JsonNode m = read(text);
      if ("hello".equals(m.path("type").asText())) ws.writeTextMessage(welcome(m));
      else onMessage.accept(ws, m);
    })).listen(0, "127.0.0.1").await();
  }

  /** The {@code ws://} URL of a server {@link #start} made, for a client's options. */
  static String url(io.vertx.core.http.HttpServer server) {
    return "ws://127.0.0.1:" + server.actualPort() + "/sync";
  }

  /** The welcome to {@code hello}: an anonymous connection, the default limits. */
  static String welcome(JsonNode hello) {
    return "{\"type\":\"welcome\",\"rid\":" + hello.get("rid") + ",\"protocol\":1,\"serverId\":\"fake\",\"time\":"
        + System.currentTimeMillis() + ",\"user\":null,\"limits\":{}}";
  }
}
