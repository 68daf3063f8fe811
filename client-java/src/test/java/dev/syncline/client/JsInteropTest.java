package dev.syncline.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("A Java client and a JavaScript client (client-js in Node) on one database converge")
class JsInteropTest {

  @Test
  @DisplayName("each sees the other's documents, and one document both edited holds both edits, alike on both")
  void javaAndJavaScript() throws Exception {
    Path sdk = Path.of(System.getProperty("syncline.clientJs", "../client-js")).resolve("src/index.js").toAbsolutePath().normalize();
    Path script = Path.of(JsInteropTest.class.getResource("/js-client.mjs").toURI());
    try (EmbeddedServer server = EmbeddedServer.start()) {
      SynclineClient java = SynclineClient.create(new ClientOptions().setUrl(server.url()));
      try {
        Await.result(java.ready());
        Collection col = java.db("app").col("mixed");
        for (int i = 0; i < 10; i++) Await.result(col.doc("java-" + i).set(Map.of("from", "java", "i", i)));
        Await.result(col.doc("shared").set(Map.of("fromJava", true)));

        Process node = new ProcessBuilder("node", "--no-warnings", script.toString(),
            sdk.toUri().toString(), server.url(), "app", "mixed", "10", "21").redirectErrorStream(true).start();
        String out;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(node.getInputStream(), StandardCharsets.UTF_8))) {
          assertTrue(node.waitFor(40, TimeUnit.SECONDS), "node finished");
          out = String.join("\n", r.lines().toList());
        }
        assertEquals(0, node.exitValue(), out);
        JsonNode jsView = Json.MAPPER.readTree(out.lines().reduce((a, b) -> b).orElseThrow());

        Await.until(() -> col.all().size() == 21 && java.status().pending() == 0
            && Boolean.TRUE.equals(col.doc("shared").get().getBoolean("fromJs")), () -> "the JavaScript client's edits");
        Map<String, JsonNode> fromJava = new TreeMap<>();
        for (Doc d : col.all()) fromJava.put(d.id(), d.toJson());
        Map<String, JsonNode> fromJs = new TreeMap<>();
        for (JsonNode d : jsView) fromJs.put(d.get("id").asText(), d);
        assertEquals(normalized(fromJs), normalized(fromJava));
        assertEquals("js title", col.doc("shared").get().getString("title"));
      } finally {
        Await.result(java.close());
      }
    }
  }

  // compares as sorted objects: numbers by value, keys in any order
  private static String normalized(Map<String, JsonNode> docs) {
    ObjectNode out = Json.MAPPER.createObjectNode();
    docs.forEach((id, d) -> {
      ObjectNode sorted = Json.MAPPER.createObjectNode();
      new TreeMap<String, JsonNode>(Json.MAPPER.convertValue(d, new com.fasterxml.jackson.core.type.TypeReference<Map<String, JsonNode>>() { }))
          .forEach((k, v) -> sorted.set(k, v.isNumber() ? Json.MAPPER.getNodeFactory().numberNode(v.decimalValue().stripTrailingZeros()) : v));
      out.set(id, sorted);
    });
    return out.toString();
  }
}
