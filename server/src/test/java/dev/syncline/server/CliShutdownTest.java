package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.testing.Pipeline;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The command line: start, log the address, shut down gracefully on SIGTERM")
class CliShutdownTest {
  private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");

  @Test
  @DisplayName("SIGTERM closes clients with 1001, keeps every acked write, and exits")
  void sigtermIsGraceful() throws Exception {
    Path data = Files.createTempDirectory("syncline-cli");
    Path config = data.resolve("config.json");
    Files.writeString(config, "{\"databases\":[\"cli\"],\"eventLoops\":1}");
    Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
        "dev.syncline.server.cli.Main", "--port", "0", "--data", data.resolve("d").toString(), "--config", config.toString())
        .redirectErrorStream(true)
        .start();
    try {
      int port = awaitPort(process);
      AtomicInteger acked = new AtomicInteger();
      long total;
      try (WsClient client = WsClient.connect(port)) {
        client.hello("cli-writer");
        Pipeline p = new Pipeline(client, 100);
        List<CompletableFuture<JsonNode>> acks = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
          acks.add(p.send(push("cli", delta("c", "d" + i, "v", i, now(i, "cli-writer"))))
              .whenComplete((m, e) -> {
                if (m != null && m.path("type").asText().equals("ack")) acked.incrementAndGet();
              }));
        }
        CompletableFuture.allOf(acks.toArray(new CompletableFuture[0])).get(20, TimeUnit.SECONDS);
        total = acked.get();
        // more writes in flight while the signal arrives
        for (int i = 300; i < 350; i++) p.send(push("cli", delta("c", "d" + i, "v", i, now(i, "cli-writer"))));
        process.destroy(); // SIGTERM
        assertEquals(1001, client.awaitClose(), "clients are told the server is going away");
      }
      assertTrue(process.waitFor(30, TimeUnit.SECONDS), "the process exits after SIGTERM");
      assertEquals(300, total);

      // reopen the same store: every acked write is there (and the in-flight ones were finished)
      try (TestServer reopened = TestServer.reopen(data.resolve("d"))) {
        try (WsClient c = reopened.connect("checker")) {
          long attributes = c.request(admin("db.stats", args().put("db", "cli"))).get("data").get("attributes").asLong();
          assertTrue(attributes >= 300, "acked writes survive: " + attributes);
        }
      }
    } finally {
      process.destroyForcibly();
    }
  }

  private static int awaitPort(Process process) throws Exception {
    BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<Integer> port = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try {
        for (String line; (line = out.readLine()) != null; ) {
          Matcher m = LISTENING.matcher(line);
          if (m.find()) port.complete(Integer.parseInt(m.group(1)));
        }
        port.completeExceptionally(new AssertionError("server exited without listening"));
      } catch (Exception e) {
        port.completeExceptionally(e);
      }
    });
    reader.setDaemon(true);
    reader.start();
    return port.get(30, TimeUnit.SECONDS);
  }
}
