package dev.syncline.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
  void defaults() throws Exception {
    ServerConfig c = ConfigLoader.load(null, Map.of());
    assertEquals("127.0.0.1", c.host);
    assertEquals(8080, c.port);
    assertEquals("./data", c.data);
    assertEquals("sync", c.durability);
    assertTrue(c.durable());
    assertEquals(1 << 20, c.limits().maxMessageBytes());
    assertEquals(50, c.storeMinUtilization);
  }

  @Test
  @DisplayName("the file overrides defaults and the environment overrides the file")
  void precedence() throws Exception {
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
  void refusesUnknownKeys() throws Exception {
    Path file = Files.createTempFile("syncline", ".json");
    Files.writeString(file, "{\"prot\": 9000}");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, Map.of()));
    assertTrue(e.getMessage().contains("key prot") && e.getMessage().contains("did you mean port"), e.getMessage());
    ConfigException type = assertThrows(ConfigException.class,
        () -> ConfigLoader.load(null, Map.of("SYNCLINE_PORT", "many")));
    assertTrue(type.getMessage().contains("SYNCLINE_PORT"), type.getMessage());
    // a broken SYNCLINE_USERS is named, and its passwords are not printed
    ConfigException users = assertThrows(ConfigException.class,
        () -> ConfigLoader.load(null, Map.of("SYNCLINE_USERS", "[{\"username\":\"ops\",\"password\":\"hunter2-secret\"")));
    assertTrue(users.getMessage().contains("SYNCLINE_USERS") && !users.getMessage().contains("hunter2"), users.getMessage());
    // a group given as something else is refused, not replaced by its defaults (TLS off, metrics on)
    for (String group : List.of("{\"tls\": \"/etc/syncline/cert.pem\"}", "{\"metrics\": false}", "{\"tls\": [1]}")) {
      Files.writeString(file, group);
      ConfigException g = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, Map.of()), group);
      assertTrue(g.getMessage().contains("expected an object"), g.getMessage());
    }
  }

  @Test
  @DisplayName("a broken file is named with where it breaks, in one line")
  void brokenFile() throws Exception {
    Path file = Files.createTempFile("syncline", ".json");
    Files.writeString(file, "{\n  \"port\": 9000,\n  \"host\" \"x\"\n}");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, Map.of()));
    assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("line 3"), e.getMessage());
    assertTrue(!e.getMessage().contains("\n"), e.getMessage());
    // the token is not quoted: it may be a password written without its quotes
    Files.writeString(file, "{\"users\":[{\"username\":\"ops\",\"password\": hunter2secret}]}");
    ConfigException secret = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, Map.of()));
    assertTrue(secret.getMessage().contains("line 1") && !secret.getMessage().contains("hunter2"), secret.getMessage());
    Path missing = file.resolveSibling("no-such-syncline.json");
    ConfigException gone = assertThrows(ConfigException.class, () -> ConfigLoader.load(missing, Map.of()));
    assertTrue(gone.getMessage().contains(missing.toString()), gone.getMessage());
  }

  @Test
  @DisplayName("groups (tls, metrics) merge key by key from the file and the environment")
  void groups() throws Exception {
    Path file = Files.createTempFile("syncline", ".json");
    Files.writeString(file, "{\"tls\": {\"certFile\": \"c.pem\"}, \"metrics\": {\"access\": \"admin\"}}");
    ServerConfig c = ConfigLoader.load(file, Map.of("SYNCLINE_TLS_KEY_FILE", "k.pem"));
    assertEquals("c.pem", c.tls.certFile);
    assertEquals("k.pem", c.tls.keyFile);
    assertEquals("admin", c.metrics.access);
    assertTrue(c.metrics.enabled);
    ServerConfig half = ConfigLoader.load(null, Map.of("SYNCLINE_TLS_CERT_FILE", "c.pem"));
    ConfigException e = assertThrows(ConfigException.class, half::validate);
    assertTrue(e.getMessage().contains("tls.keyFile"), e.getMessage());
  }

  @Test
  @DisplayName("settings that cannot work are refused at start")
  void validates() throws Exception {
    ServerConfig c = ConfigLoader.load(null, Map.of("SYNCLINE_DURABILITY", "sometimes"));
    assertThrows(IllegalArgumentException.class, c::validate);
    ServerConfig reserved = ConfigLoader.load(null, Map.of("SYNCLINE_DATABASES", "ok,$system"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, reserved::validate);
    assertTrue(e.getMessage().contains("$system"), e.getMessage());
    for (String bad : new String[] {"9", "91"}) {
      ServerConfig cleaning = ConfigLoader.load(null, Map.of("SYNCLINE_STORE_MIN_UTILIZATION", bad));
      IllegalArgumentException u = assertThrows(IllegalArgumentException.class, cleaning::validate, bad);
      assertTrue(u.getMessage().startsWith("storeMinUtilization"), u.getMessage());
    }
    ConfigLoader.load(null, Map.of("SYNCLINE_STORE_MIN_UTILIZATION", "30")).validate();
    // a page and its frame's envelope must fit a message; a message must stay under what a peer takes
    Map<Map<String, String>, String> limits = Map.of(
        Map.of("SYNCLINE_MAX_MESSAGE_BYTES", "65536", "SYNCLINE_CATCH_UP_PAGE_BYTES", "65536"), "catchUpPageBytes",
        Map.of("SYNCLINE_CATCH_UP_PAGE_BYTES", "0"), "catchUpPageBytes",
        Map.of("SYNCLINE_MAX_MESSAGE_BYTES", Integer.toString(32 << 20)), "maxMessageBytes",
        Map.of("SYNCLINE_LOOP_INBOX_BYTES", "65536"), "loopInboxBytes",
        Map.of("SYNCLINE_MAX_UNANSWERED_BYTES", "65536"), "maxUnansweredBytes",
        Map.of("SYNCLINE_MAX_QUEUED_BYTES", "65536"), "maxQueuedBytes");
    // at 0 these made the writer spin, a catch-up never end or a pool fail to start without naming the key
    for (String key : List.of("purgeIntervalMs", "catchUpPageDeltas", "catchUpThreads", "maxGroupDeltas", "maxQueuedDeltas",
        "socketWriteQueueBytes", "subscriberBufferBytes", "maxSubscriptions", "maxIdLength", "maxValueBytes", "maxClockSkewMs",
        "maxBadMessagesPerMinute")) {
      IllegalArgumentException p = assertThrows(IllegalArgumentException.class,
          ConfigLoader.load(null, Map.of(ConfigLoader.envName(key), "0"))::validate, key);
      assertTrue(p.getMessage().contains(key), p.getMessage());
    }
    limits.forEach((env, key) -> {
      IllegalArgumentException p = assertThrows(IllegalArgumentException.class, ConfigLoader.load(null, env)::validate, env.toString());
      assertTrue(p.getMessage().startsWith(key), p.getMessage());
    });
    ConfigLoader.load(null, Map.of("SYNCLINE_MAX_MESSAGE_BYTES", "65536", "SYNCLINE_CATCH_UP_PAGE_BYTES", "65024")).validate();
    // a static folder holding the data folder would serve the store, signing key and all
    for (Map<String, String> env : List.of(Map.of("SYNCLINE_STATIC_DIR", "."), Map.of("SYNCLINE_STATIC_DIR", "/srv",
        "SYNCLINE_DATA", "/srv/site/../data"))) {
      IllegalArgumentException p = assertThrows(IllegalArgumentException.class, ConfigLoader.load(null, env)::validate, env.toString());
      assertTrue(p.getMessage().startsWith("staticDir"), p.getMessage());
    }
    ConfigLoader.load(null, Map.of("SYNCLINE_STATIC_DIR", "./public")).validate();
    // through a link, before the data folder exists (its first start)
    Path real = Files.createTempDirectory("syncline-site");
    Path link = Files.createSymbolicLink(real.resolveSibling(real.getFileName() + "-link"), real);
    IllegalArgumentException linked = assertThrows(IllegalArgumentException.class, ConfigLoader.load(null,
        Map.of("SYNCLINE_STATIC_DIR", real.toString(), "SYNCLINE_DATA", link.resolve("data").toString()))::validate);
    assertTrue(linked.getMessage().startsWith("staticDir"), linked.getMessage());
    // nor one holding the TLS key, or the config file with its secrets
    Files.writeString(real.resolve("key.pem"), "k");
    Files.writeString(real.resolve("cert.pem"), "c");
    IllegalArgumentException key = assertThrows(IllegalArgumentException.class, ConfigLoader.load(null,
        Map.of("SYNCLINE_STATIC_DIR", real.toString(), "SYNCLINE_TLS_CERT_FILE", real.resolve("cert.pem").toString(),
            "SYNCLINE_TLS_KEY_FILE", real.resolve("key.pem").toString()))::validate);
    assertTrue(key.getMessage().contains("tls.keyFile"), key.getMessage());
    ServerConfig served = ConfigLoader.load(null, Map.of("SYNCLINE_STATIC_DIR", real.toString()));
    IllegalArgumentException config = assertThrows(IllegalArgumentException.class,
        () -> served.refuseServing(real.resolve("syncline.json"), "the config file"));
    assertTrue(config.getMessage().contains("the config file"), config.getMessage());
    served.refuseServing(Path.of("syncline.json"), "the config file"); // one beside it is fine
    assertEquals(8L << 30, ConfigLoader.load(null, Map.of("SYNCLINE_LOOP_INBOX_BYTES", Long.toString(8L << 30))).loopInboxBytes);
    IllegalArgumentException skew = assertThrows(IllegalArgumentException.class,
        ConfigLoader.load(null, Map.of("SYNCLINE_MAX_CLOCK_SKEW_MS", Long.toString(Long.MAX_VALUE)))::validate);
    assertTrue(skew.getMessage().startsWith("maxClockSkewMs"), skew.getMessage());
    IllegalArgumentException cache = assertThrows(IllegalArgumentException.class,
        ConfigLoader.load(null, Map.of("SYNCLINE_STORE_CACHE_BYTES", "-1"))::validate);
    assertTrue(cache.getMessage().startsWith("storeCacheBytes"), cache.getMessage());
    // a key set to null in the file: named, not a NullPointerException
    for (String nulled : List.of("durability", "peers", "data")) {
      Path file = Files.createTempFile("syncline-null", ".json");
      Files.writeString(file, "{\"" + nulled + "\": null}");
      IllegalArgumentException n = assertThrows(IllegalArgumentException.class, ConfigLoader.load(file, Map.of())::validate, nulled);
      assertTrue(n.getMessage().startsWith(nulled + ": may not be null"), n.getMessage());
    }
  }

  @Test
  @DisplayName("environment names are the keys in upper snake case")
  void envNames() {
    assertEquals("SYNCLINE_MAX_MESSAGE_BYTES", ConfigLoader.envName("maxMessageBytes"));
    assertEquals("SYNCLINE_PORT", ConfigLoader.envName("port"));
  }
}
