package dev.syncline.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.Json;
import dev.syncline.server.testing.Cli;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The packaging in {@code deploy/}: the command lines of the systemd unit and the Dockerfile are
 * run here as written, with only the install paths moved to temporary ones (and port 0), so what
 * the files say is what works. Building the image itself needs Docker, which this machine lacks.
 */
@DisplayName("deploy/: the systemd unit's and the Dockerfile's command lines start, answer health, and stop cleanly")
class DeployFilesTest {
  private static final Path DEPLOY = Path.of("..", "deploy").toAbsolutePath().normalize();
  private static final String JAR = "/opt/syncline/syncline-server.jar";
  private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");

  @Test
  @DisplayName("systemd: ExecStart with the unit's environment and config serves; SIGTERM ends with a success status")
  void systemdUnit() throws Exception {
    List<String> unit = Files.readAllLines(DEPLOY.resolve("syncline.service"));
    Path state = Files.createTempDirectory("syncline-unit");
    Map<String, String> env = new HashMap<>();
    for (String line : values(unit, "Environment")) env.put(line.substring(0, line.indexOf('=')), line.substring(line.indexOf('=') + 1));
    env.put("SYNCLINE_PORT", "0"); // the unit's 8080 may be taken here
    List<String> command = new ArrayList<>();
    for (String word : values(unit, "ExecStart").get(0).split(" ")) {
      command.add(word.replace("/var/lib/syncline", state.toString())
          .replace("/etc/syncline/syncline.json", DEPLOY.resolve("syncline.json").toString()));
    }
    Process p = start(command, env, state);
    try {
      int port = awaitPort(p);
      assertTrue(Files.exists(state.resolve("data").resolve("store")), "the data folder is the unit's");
      JsonNode config = Json.MAPPER.readTree(DEPLOY.resolve("syncline.json").toFile());
      assertEquals(config.path("todoExample").asBoolean(true) ? 200 : 404, status(port, "/"), "the example as configured");
      p.destroy(); // SIGTERM, as KillSignal says
      assertTrue(p.waitFor(45, TimeUnit.SECONDS), "stops within TimeoutStopSec");
      int exit = p.exitValue();
      assertTrue(exit == 0 || values(unit, "SuccessExitStatus").get(0).contains(String.valueOf(exit)),
          "exit " + exit + " counts as success for systemd");
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  @DisplayName("Dockerfile: ENTRYPOINT + CMD with its ENV serve as a non-root user's data volume; HEALTHCHECK's command passes")
  void dockerfile() throws Exception {
    List<String> docker = Files.readAllLines(DEPLOY.resolve("Dockerfile"));
    assertTrue(docker.stream().anyMatch(l -> l.matches("USER \\w+") && !l.equals("USER root")), "runs as a non-root user");
    assertTrue(docker.stream().anyMatch(l -> l.startsWith("VOLUME") && l.contains("/data")), "the data is a volume");
    Path data = Files.createTempDirectory("syncline-docker");
    Map<String, String> env = new HashMap<>();
    for (String line : values(docker, "ENV")) {
      for (String pair : line.split(" ")) env.put(pair.substring(0, pair.indexOf('=')), pair.substring(pair.indexOf('=') + 1));
    }
    env.replaceAll((k, v) -> v.equals("/data") ? data.toString() : v);
    env.put("SYNCLINE_HOST", "127.0.0.1"); // tests listen on loopback only
    env.put("SYNCLINE_PORT", "0");
    List<String> command = new ArrayList<>(jsonArray(values(docker, "ENTRYPOINT").get(0)));
    command.addAll(jsonArray(values(docker, "CMD").get(0)));
    Process p = start(command, env, data);
    try {
      int port = awaitPort(p);
      assertTrue(Files.exists(data.resolve("store")), "the store is in the volume");
      String check = String.join(" ", docker).replaceAll(".*HEALTHCHECK[^\\[]*CMD (\\[[^\\]]*\\]).*", "$1");
      List<String> health = jsonArray(check);
      assertEquals(List.of("java", "-jar", JAR, "health"), health.subList(0, 4));
      List<String> args = new ArrayList<>(health.subList(3, health.size()));
      // run as in the container: it finds the server by the same SYNCLINE_PORT the server took
      Cli.Result r = Cli.run(Map.of("SYNCLINE_PORT", Integer.toString(port)), args.toArray(String[]::new));
      assertEquals(0, r.exit(), r.toString());
    } finally {
      p.destroy();
      p.waitFor(30, TimeUnit.SECONDS);
      p.destroyForcibly();
    }
  }

  /** The values of {@code Key=value} (unit) or {@code KEY value} (Dockerfile) lines, continuations joined. */
  private static List<String> values(List<String> lines, String key) {
    List<String> out = new ArrayList<>();
    String joined = String.join("\n", lines).replace("\\\n", " ");
    for (String line : joined.split("\n")) {
      if (line.startsWith(key + "=")) out.add(line.substring(key.length() + 1).trim());
      else if (line.startsWith(key + " ")) out.add(line.substring(key.length() + 1).trim());
    }
    assertTrue(!out.isEmpty(), "no " + key);
    return out;
  }

  private static List<String> jsonArray(String json) throws Exception {
    List<String> out = new ArrayList<>();
    Json.MAPPER.readTree(json).forEach(e -> out.add(e.asText()));
    return out;
  }

  /** Runs a command line from the files with this JVM and the build's classes in place of the installed jar. */
  private static Process start(List<String> command, Map<String, String> env, Path dir) throws Exception {
    List<String> run = new ArrayList<>();
    for (int i = 0; i < command.size(); i++) {
      String word = command.get(i);
      if (i == 0 && (word.equals("java") || word.endsWith("/java"))) {
        run.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      } else if (word.equals("-jar") && command.get(i + 1).equals(JAR)) {
        run.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.syncline.server.cli.Main"));
        i++;
      } else {
        run.add(word);
      }
    }
    ProcessBuilder b = new ProcessBuilder(run).directory(dir.toFile()).redirectErrorStream(true);
    b.environment().keySet().removeIf(k -> k.startsWith("SYNCLINE_"));
    b.environment().putAll(env);
    return b.start();
  }

  private static int awaitPort(Process p) throws Exception {
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<Integer> port = new CompletableFuture<>();
    StringBuilder seen = new StringBuilder();
    Thread reader = new Thread(() -> {
      try {
        for (String line; (line = out.readLine()) != null; ) {
          synchronized (seen) {
            seen.append(line).append('\n');
          }
          Matcher m = LISTENING.matcher(line);
          if (m.find()) port.complete(Integer.parseInt(m.group(1)));
        }
      } catch (java.io.IOException e) {
        // the process ended
      }
      port.completeExceptionally(new AssertionError("exited without listening:\n" + seen));
    });
    reader.setDaemon(true);
    reader.start();
    return port.get(30, TimeUnit.SECONDS);
  }

  private static int status(int port, String path) throws Exception {
    var http = java.net.http.HttpClient.newHttpClient();
    return http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + path)).build(),
        java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode();
  }
}
