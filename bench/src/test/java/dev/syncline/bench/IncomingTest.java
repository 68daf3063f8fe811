package dev.syncline.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class IncomingTest {
  private static Incoming parse(String json, boolean deltaFields) throws Exception {
    return Incoming.parse(json.getBytes(StandardCharsets.UTF_8), deltaFields);
  }

  @Test
  @DisplayName("a changes frame yields each delta's collection, id and integer value")
  void changesWithDeltaFields() throws Exception {
    Incoming m = parse("{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"bench\",\"seq\":7,\"deltas\":["
        + "{\"col\":\"fan\",\"id\":\"f3\",\"attr\":\"t\",\"value\":123456789012,\"ts\":\"1732212345678-0000-w\",\"seq\":6},"
        + "{\"col\":\"c\",\"id\":\"d\",\"attr\":\"a\",\"value\":{\"x\":[1,2]},\"ts\":\"1732212345678-0001-w\",\"seq\":7}]}",
        true);
    assertEquals("changes", m.type);
    assertEquals(Incoming.NO_RID, m.rid);
    assertEquals(7, m.seq);
    assertEquals(2, m.deltaCount);
    assertEquals("fan", m.cols[0]);
    assertEquals("f3", m.ids[0]);
    assertEquals(123456789012L, m.values[0]);
    assertEquals(Incoming.NOT_A_NUMBER, m.values[1]);
  }

  @Test
  @DisplayName("without delta fields, deltas are only counted")
  void changesCounted() throws Exception {
    Incoming m = parse("{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"b\",\"seq\":2,\"deltas\":[{\"col\":\"c\"},{\"col\":\"d\"}]}", false);
    assertEquals(2, m.deltaCount);
    assertEquals(0, m.ids.length);
  }

  @Test
  @DisplayName("an ack counts applied, unchanged and refused results and keeps the first refusal")
  void ack() throws Exception {
    Incoming m = parse("{\"type\":\"ack\",\"rid\":41,\"db\":\"b\",\"seq\":9,\"results\":[\"applied\",\"duplicate\","
        + "{\"error\":\"clock_skew\",\"message\":\"ahead\"},\"superseded\",\"applied\"]}", false);
    assertEquals(41, m.rid);
    assertEquals(2, m.applied);
    assertEquals(2, m.unchanged);
    assertEquals(1, m.refused);
    assertEquals("{\"error\":\"clock_skew\",\"message\":\"ahead\"}", m.firstRefusal);
  }

  @Test
  @DisplayName("an admin result keeps its data; a string rid counts as none")
  void result() throws Exception {
    Incoming m = parse("{\"type\":\"result\",\"rid\":\"x\",\"data\":{\"writes\":{\"groups\":3}},\"extra\":[1,{}]}", false);
    assertEquals(Incoming.NO_RID, m.rid);
    assertEquals(3, m.data.path("writes").path("groups").asLong());
    assertNull(m.code);
  }
}
