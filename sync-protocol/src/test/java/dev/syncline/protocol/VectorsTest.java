package dev.syncline.protocol;

import static dev.syncline.protocol.JsonValues.assertJsonEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs the shared vectors in {@code sync-protocol/vectors} (format in its README) against this
 * implementation. Every case is its own named test.
 */
class VectorsTest {
  /** The vectors folder; surefire runs in the module folder. */
  static final Path DIR = Path.of(System.getProperty("syncline.vectors", "vectors"));

  /** Every vector file and its sections: a file or section not listed here fails the build. */
  static final Map<String, Set<String>> SECTIONS = Map.of(
      "hlc.json", Set.of("valid", "invalid", "order", "origins", "clock"),
      "merge.json", Set.of("decide", "sequences"),
      "visibility.json", Set.of("cases"),
      "codec.json", Set.of("decode", "server"),
      "reject.json", Set.of("messages", "pushes"));

  @FunctionalInterface
  interface Check {
    void run(JsonNode testCase) throws Exception;
  }

  @Test
  @DisplayName("the vectors folder holds exactly the known files, sections and well-formed cases")
  void vectorFilesAreAllKnown() throws IOException {
    Set<String> files = new TreeSet<>();
    try (Stream<Path> list = Files.list(DIR)) {
      list.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".json")).forEach(files::add);
    }
    assertEquals(new TreeSet<>(SECTIONS.keySet()), files, "vector files in " + DIR.toAbsolutePath());
    for (String file : files) {
      JsonNode root = load(file).root();
      Set<String> sections = new HashSet<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (e.getValue().isArray()) sections.add(e.getKey());
        else assertEquals("description", e.getKey(), file + ": only 'description' may be a non-section key");
      }
      assertEquals(SECTIONS.get(file), sections, file + " sections");
      for (String section : sections) {
        Set<String> names = new HashSet<>();
        for (JsonNode c : root.get(section)) {
          assertTrue(c.path("name").isTextual(), file + "/" + section + ": every case has a name: " + c);
          assertTrue(names.add(c.get("name").textValue()), file + "/" + section + ": duplicate name " + c.get("name"));
        }
        assertFalse(names.isEmpty(), file + "/" + section + " is empty");
      }
    }
  }

  // ---- hlc.json ----

  @TestFactory
  Stream<DynamicNode> hlc() throws IOException {
    VectorFile f = load("hlc.json");
    return Stream.of(
        section(f, "valid", c -> {
          String ts = c.get("ts").textValue();
          assertTrue(Hlc.isValid(ts));
          Hlc h = Hlc.parse(ts);
          assertEquals(c.get("ms").longValue(), h.ms());
          assertEquals(c.get("counter").intValue(), h.counter());
          assertEquals(c.get("origin").textValue(), h.origin());
          assertEquals(c.get("ms").longValue(), Hlc.msOf(ts));
          assertEquals(ts, new Hlc(h.ms(), h.counter(), h.origin()).format(), "format(parse(ts)) == ts");
        }),
        section(f, "invalid", c -> {
          String ts = c.get("ts").textValue();
          assertFalse(Hlc.isValid(ts), "isValid");
          IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Hlc.parse(ts));
          if (c.has("part")) {
            String part = "ts: " + c.get("part").textValue();
            assertTrue(Hlc.fault(ts).startsWith(part), () -> "names " + part + ": " + Hlc.fault(ts));
            assertTrue(e.getMessage().startsWith(part), () -> "parse names " + part + ": " + e.getMessage());
          }
        }),
        section(f, "order", c -> {
          String a = c.get("a").textValue();
          String b = c.get("b").textValue();
          int cmp = c.get("cmp").intValue();
          assertEquals(cmp, Integer.signum(Hlc.compare(a, b)), "compare(a, b)");
          assertEquals(-cmp, Integer.signum(Hlc.compare(b, a)), "compare(b, a)");
          assertEquals(cmp, Integer.signum(a.compareTo(b)), "plain string comparison");
          assertEquals(cmp, Integer.signum(Hlc.parse(a).compareTo(Hlc.parse(b))), "(ms, counter, origin) comparison");
        }),
        section(f, "origins", c -> {
          String origin = c.get("origin").textValue();
          boolean valid = c.get("valid").booleanValue();
          assertEquals(valid, Hlc.isValidOrigin(origin), "isValidOrigin");
          assertEquals(valid, Hlc.isValid("1732212345678-0000-" + origin), "as the ORIGIN of a timestamp");
          if (valid) new HlcClock(origin);
          else assertThrows(IllegalArgumentException.class, () -> new HlcClock(origin));
        }),
        section(f, "clock", c -> {
          AtomicLong now = new AtomicLong(-1);
          HlcClock clock = new HlcClock(c.get("origin").textValue(), () -> {
            assertTrue(now.get() >= 0, "the clock read the wall clock outside a tick");
            return now.get();
          });
          assertEquals("0000000000000-0000", clock.last().format().substring(0, 18), "initial state");
          int step = 0;
          for (JsonNode s : c.get("steps")) {
            String at = "step " + step++ + " " + s;
            switch (s.get("op").textValue()) {
              case "tick" -> {
                now.set(s.get("now").longValue());
                assertEquals(s.get("ts").textValue(), clock.tick().format(), at);
                now.set(-1);
              }
              case "receive" -> clock.receive(Hlc.parse(s.get("ts").textValue()));
              default -> fail("unknown op in " + at);
            }
            assertEquals(s.get("state").textValue(), clock.last().format().substring(0, 18), "state after " + at);
          }
        }));
  }

  // ---- merge.json ----

  @TestFactory
  Stream<DynamicNode> merge() throws IOException {
    VectorFile f = load("merge.json");
    return Stream.of(
        section(f, "decide", c -> {
          String stored = c.get("stored").isNull() ? null : c.get("stored").textValue();
          // absent values are JSON null, as in the cases written before values took part
          Merge.Outcome o = Merge.decide(stored, c.get("storedValue"), c.get("incoming").textValue(), c.get("incomingValue"));
          assertEquals(c.get("outcome").textValue(), o.wire());
        }),
        section(f, "sequences", c -> {
          Map<List<String>, Register> state = new TreeMap<>(VectorsTest::compareKeys);
          List<String> outcomes = new ArrayList<>();
          for (JsonNode d : c.get("deltas")) {
            List<String> key = List.of(d.get("col").textValue(), d.get("id").textValue(), d.get("attr").textValue());
            Register stored = state.get(key);
            Merge.Outcome o = stored == null
                ? Merge.decide(null, null, d.get("ts").textValue(), d.get("value"))
                : Merge.decide(stored.ts(), stored.value(), d.get("ts").textValue(), d.get("value"));
            if (o == Merge.Outcome.APPLIED) state.put(key, new Register(d.get("value"), d.get("ts").textValue()));
            outcomes.add(o.wire());
          }
          List<String> expectedOutcomes = new ArrayList<>();
          c.get("outcomes").forEach(o -> expectedOutcomes.add(o.textValue()));
          assertEquals(expectedOutcomes, outcomes, "outcomes");

          var registers = Json.MAPPER.createArrayNode();
          state.forEach((k, r) -> registers.addObject().put("col", k.get(0)).put("id", k.get(1)).put("attr", k.get(2))
              .put("ts", r.ts()).set("value", r.value()));
          assertJsonEquals(c.get("registers"), registers, "registers");

          if (c.has("visible")) {
            Map<String, Map<String, Map<String, Register>>> docs = new TreeMap<>();
            state.forEach((k, r) -> docs.computeIfAbsent(k.get(0), x -> new TreeMap<>())
                .computeIfAbsent(k.get(1), x -> new LinkedHashMap<>()).put(k.get(2), r));
            ObjectNode visible = Json.MAPPER.createObjectNode();
            docs.forEach((col, byId) -> {
              ObjectNode out = visible.putObject(col);
              byId.forEach((id, regs) -> out.set(id, visibleAsJson(regs)));
            });
            assertJsonEquals(c.get("visible"), visible, "visible documents");
          }
        }));
  }

  // ---- visibility.json ----

  @TestFactory
  Stream<DynamicNode> visibility() throws IOException {
    return Stream.of(section(load("visibility.json"), "cases", c -> {
      Map<String, Register> registers = new LinkedHashMap<>();
      c.get("registers").fields().forEachRemaining(e ->
          registers.put(e.getKey(), new Register(e.getValue().get("value"), e.getValue().get("ts").textValue())));
      assertJsonEquals(c.get("visible"), visibleAsJson(registers), "visible document");
    }));
  }

  // ---- codec.json ----

  @TestFactory
  Stream<DynamicNode> codec() throws IOException {
    VectorFile f = load("codec.json");
    return Stream.of(
        section(f, "decode", c -> {
          Limits limits = limits(c);
          ClientMessage m;
          try {
            m = MessageCodec.decodeClient(text(c), limits);
          } catch (ProtocolException e) {
            throw new AssertionError("refused with " + e.code().wire() + ": " + e.getMessage(), e);
          }
          if (m instanceof ClientMessage.Push p) {
            p.rejects().forEach(r -> assertNull(r, () -> "a delta was refused: " + r.getMessage()));
          }
          assertJsonEquals(c.get("expect"), JsonValues.normalForm(m), "decoded message");
          // the SDK-side encoder writes what the decoder reads back the same
          ClientMessage again = MessageCodec.decodeClient(MessageCodec.encode(m), limits);
          assertJsonEquals(c.get("expect"), JsonValues.normalForm(again), "decode(encode(decoded))");
        }),
        section(f, "server", c -> {
          JsonNode message = c.get("message");
          ServerMessage decoded = MessageCodec.decodeServer(Json.MAPPER.writeValueAsString(message));
          assertEquals(message.get("type").textValue(),
              decoded.getClass().getAnnotation(com.fasterxml.jackson.annotation.JsonTypeName.class).value());
          JsonNode encoded = Json.MAPPER.readTree(MessageCodec.encode(decoded));
          assertJsonEquals(message, encoded, "encode(decodeServer(message))");
        }));
  }

  // ---- reject.json ----

  @TestFactory
  Stream<DynamicNode> reject() throws IOException {
    VectorFile f = load("reject.json");
    return Stream.of(
        section(f, "messages", c -> {
          String text = text(c);
          ProtocolException e = assertThrows(ProtocolException.class, () -> MessageCodec.decodeClient(text, limits(c)),
              "must be refused");
          assertEquals(c.get("error").textValue(), e.code().wire(), () -> "code; message was: " + e.getMessage());
          if (c.has("field")) {
            assertTrue(e.getMessage().contains(c.get("field").textValue()),
                () -> "the error should name " + c.get("field") + ": " + e.getMessage());
          }
          MessageCodec.ridOf(text); // must not throw, whatever the text
        }),
        section(f, "pushes", c -> {
          ClientMessage m;
          try {
            m = MessageCodec.decodeClient(text(c), limits(c));
          } catch (ProtocolException e) {
            throw new AssertionError("the push was refused whole (" + e.code().wire() + ": " + e.getMessage()
                + "); only some deltas should be", e);
          }
          ClientMessage.Push push = assertInstanceOf(ClientMessage.Push.class, m);
          JsonNode expected = c.get("results");
          assertEquals(expected.size(), push.deltas().size(), "deltas");
          assertEquals(expected.size(), push.rejects().size(), "rejects");
          for (int i = 0; i < expected.size(); i++) {
            JsonNode want = expected.get(i);
            ProtocolException reject = push.rejects().get(i);
            String at = "delta " + i;
            if (want.isTextual()) {
              assertEquals("ok", want.textValue(), "vector result must be \"ok\" or an object");
              assertNull(reject, () -> at + " refused: " + reject.getMessage());
              assertNotNull(push.deltas().get(i), at);
            } else {
              assertNotNull(reject, at + " should be refused with " + want);
              assertNull(push.deltas().get(i), at + " is refused, so it has no delta");
              assertEquals(want.get("error").textValue(), reject.code().wire(), at + ": " + reject.getMessage());
              if (want.has("field")) {
                assertTrue(reject.getMessage().contains(want.get("field").textValue()),
                    at + " error should name " + want.get("field") + ": " + reject.getMessage());
              }
            }
          }
        }));
  }

  // ---- helpers ----

  /** One parsed vector file. */
  record VectorFile(String name, JsonNode root) {}

  static VectorFile load(String file) throws IOException {
    return new VectorFile(file, JsonValues.VECTOR_READER.readTree(DIR.resolve(file).toFile()));
  }

  static DynamicNode section(VectorFile file, String name, Check check) {
    JsonNode cases = file.root().get(name);
    assertNotNull(cases, "missing section " + name);
    String fileName = file.name();
    List<DynamicNode> tests = new ArrayList<>();
    for (JsonNode c : cases) {
      String caseName = c.path("name").asText("(unnamed)");
      tests.add(dynamicTest(caseName, () -> {
        try {
          check.run(c);
        } catch (AssertionError e) {
          // name the case in the failure, whatever the report shows of dynamic tests
          throw new AssertionError(fileName + " / " + name + " / " + caseName + ": " + e.getMessage(), e);
        }
      }));
    }
    return dynamicContainer(fileName + " " + name, tests);
  }

  /** The frame text of a case: its {@code text}, or its {@code message} written as JSON. */
  static String text(JsonNode c) throws IOException {
    if (c.has("text")) return c.get("text").textValue();
    return Json.MAPPER.writeValueAsString(c.get("message"));
  }

  /** The default limits with a case's {@code limits} laid over them. */
  static Limits limits(JsonNode c) throws IOException {
    ObjectNode limits = Json.MAPPER.valueToTree(Limits.defaults());
    if (c.has("limits")) {
      for (Iterator<String> it = c.get("limits").fieldNames(); it.hasNext(); ) {
        String key = it.next();
        assertTrue(limits.has(key), "unknown limit " + key);
      }
      limits.setAll((ObjectNode) c.get("limits"));
    }
    return Json.MAPPER.treeToValue(limits, Limits.class);
  }

  static JsonNode visibleAsJson(Map<String, Register> registers) {
    Map<String, JsonNode> visible = Visibility.visible(registers);
    if (visible == null) return com.fasterxml.jackson.databind.node.NullNode.getInstance();
    ObjectNode out = Json.MAPPER.createObjectNode();
    visible.forEach(out::set);
    return out;
  }

  static int compareKeys(List<String> a, List<String> b) {
    return Comparator.<List<String>, String>comparing(k -> k.get(0))
        .thenComparing(k -> k.get(1))
        .thenComparing(k -> k.get(2))
        .compare(a, b);
  }
}
