package dev.syncline.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.client.store.StoredRegister;
import dev.syncline.protocol.Json;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The shared vectors of merge sequences and visibility, through this SDK's {@link Replica}: the
 * protocol module's runner (run in this build too) checks the rules themselves; this checks that
 * the replica applies them, register by register and document by document.
 */
@DisplayName("The replica against the shared vectors")
class ReplicaVectorsTest {
  static final Path DIR = Path.of(System.getProperty("syncline.vectors", "../sync-protocol/vectors"));

  @TestFactory
  @DisplayName("merge.json / sequences")
  Stream<DynamicTest> sequences() throws IOException {
    return cases("merge.json", "sequences").map(c -> dynamicTest(c.path("name").asText(), () -> {
      Replica r = new Replica();
      List<String> outcomes = new ArrayList<>();
      for (JsonNode d : c.path("deltas")) {
        outcomes.add(r.mergeConfirmed("v", d.get("col").asText(), d.get("id").asText(), d.get("attr").asText(), d.get("value"),
            d.get("ts").asText()).wire());
      }
      r.refresh();
      List<String> expected = new ArrayList<>();
      c.path("outcomes").forEach(o -> expected.add(o.asText()));
      assertEquals(expected, outcomes);
      List<StoredRegister> regs = new ArrayList<>(r.registersOf("v"));
      regs.sort(Comparator.comparing(StoredRegister::col).thenComparing(StoredRegister::id).thenComparing(StoredRegister::attr));
      List<JsonNode> got = new ArrayList<>();
      for (StoredRegister s : regs) {
        ObjectNode o = Json.MAPPER.createObjectNode().put("col", s.col()).put("id", s.id()).put("attr", s.attr());
        o.set("value", s.value());
        got.add(o.put("ts", s.ts()));
      }
      assertEquals(normalized(c.get("registers")), normalized(Json.MAPPER.valueToTree(got)));
      if (c.has("visible")) {
        c.get("visible").properties().forEach(col -> col.getValue().properties().forEach(doc -> {
          Doc seen = r.doc("v", col.getKey(), doc.getKey());
          assertEquals(normalized(doc.getValue()), seen == null ? "null" : normalized(attributes(seen)), col.getKey() + "/" + doc.getKey());
        }));
      }
    }));
  }

  @TestFactory
  @DisplayName("visibility.json / cases")
  Stream<DynamicTest> visibility() throws IOException {
    return cases("visibility.json", "cases").map(c -> dynamicTest(c.path("name").asText(), () -> {
      Replica r = new Replica();
      c.path("registers").properties().forEach(e ->
          r.mergeConfirmed("v", "c", "d", e.getKey(), e.getValue().get("value"), e.getValue().get("ts").asText()));
      r.refresh();
      Doc seen = r.doc("v", "c", "d");
      assertEquals(normalized(c.get("visible")), seen == null ? "null" : normalized(attributes(seen)));
    }));
  }

  private static JsonNode attributes(Doc d) {
    ObjectNode o = Json.MAPPER.createObjectNode();
    d.jsonAttributes().forEach(o::set);
    return o;
  }

  private static Stream<JsonNode> cases(String file, String section) throws IOException {
    JsonNode root = Json.MAPPER.readTree(DIR.resolve(file).toFile());
    List<JsonNode> out = new ArrayList<>();
    root.get(section).forEach(out::add);
    return out.stream();
  }

  // JSON equality: keys in any order, numbers by value
  private static String normalized(JsonNode n) {
    if (n == null || n.isNull()) return "null";
    if (n.isNumber()) return n.decimalValue().stripTrailingZeros().toPlainString();
    if (n.isArray()) {
      List<String> items = new ArrayList<>();
      n.forEach(i -> items.add(normalized(i)));
      return items.toString();
    }
    if (n.isObject()) {
      Map<String, String> sorted = new java.util.TreeMap<>();
      n.properties().forEach(e -> sorted.put(e.getKey(), normalized(e.getValue())));
      return sorted.toString();
    }
    return n.toString();
  }
}
