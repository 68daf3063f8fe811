package dev.syncline.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Configuration: defaults, then the file, then the environment")
class ConfigLoaderTest {

  @Test
  @DisplayName("with nothing given, the documented defaults apply")
  void defaults() throws IOException {
    ServerConfig c = ConfigLoader.load(null, Map.of());
    assertEquals("127.0.0.1", c.host);
    assertEquals(8080, c.port);
    assertEquals("./data", c.data);
    assertEquals("sync", c.durability);
    assertTrue(c.durable());
    assertEquals(1 << 20, c.limits().maxMessageBytes());
  }

  @Test
  @DisplayName("the file overrides defaults and the environment overrides the file")
  void precedence() throws IOException {
    Path file = Files.createTempFile("syncline", ".json");
    Files.writeString(file, "{\"port\": 9000, \"maxDeltasPerPush\": 50, \"databases\": [\"a\", \"b\"], \"durability\": \"async\"}");
    ServerConfig c = ConfigLoader.load(file, Map.of(
        "SYNCLINE_PORT", "9100", "SYNCLINE_DATABASES", "x, y", "SYNCLINE_HOST", "0.0.0.0"));
    assertEquals(9100, c.port);
    assertEquals("0.0.0.0", c.host);
    assertEquals(50, c.maxDeltasPerPush);
    assertEquals(List.of("x", "y"), c.databases.stream().map(d -> d.name).toList());
    assertEquals("async", c.durability);
  }

  @Test
  @DisplayName("a misspelled key or a wrong type is refused with its name, not ignored")
  void refusesUnknownKeys() throws IOException {
    Path file = Files.createTempFile("syncline", ".json");
    Files.writeString(file, "{\"prot\": 9000}");
    IOException e = assertThrows(IOException.class, () -> ConfigLoader.load(file, Map.of()));
    assertTrue(e.getMessage().contains("prot"), e.getMessage());
    assertThrows(IOException.class, () -> ConfigLoader.load(null, Map.of("SYNCLINE_PORT", "many")));
  }

  @Test
  @DisplayName("settings that cannot work are refused at start")
  void validates() throws IOException {
    ServerConfig c = ConfigLoader.load(null, Map.of("SYNCLINE_DURABILITY", "sometimes"));
    assertThrows(IllegalArgumentException.class, c::validate);
    ServerConfig reserved = ConfigLoader.load(null, Map.of("SYNCLINE_DATABASES", "ok,$system"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, reserved::validate);
    assertTrue(e.getMessage().contains("$system"), e.getMessage());
  }

  @Test
  @DisplayName("environment names are the keys in upper snake case")
  void envNames() {
    assertEquals("SYNCLINE_MAX_MESSAGE_BYTES", ConfigLoader.envName("maxMessageBytes"));
    assertEquals("SYNCLINE_PORT", ConfigLoader.envName("port"));
  }
}
