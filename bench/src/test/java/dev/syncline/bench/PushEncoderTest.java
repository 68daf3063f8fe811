package dev.syncline.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.syncline.protocol.ClientMessage;
import dev.syncline.protocol.Limits;
import dev.syncline.protocol.MessageCodec;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class PushEncoderTest {
  @Test
  @DisplayName("a hand-built push decodes with the protocol codec, every delta valid and stamped in order")
  void decodesAsValidPush() throws Exception {
    PushEncoder enc = new PushEncoder("bench", "bw-test");
    String text = enc.begin(17).delta("c", "d1", "a", 1).delta("c", "d2", "a", -5).end();
    ClientMessage.Push push = (ClientMessage.Push) MessageCodec.decodeClient(text, Limits.defaults());
    assertEquals(17, push.rid().longValue());
    assertEquals("bench", push.db());
    assertEquals(2, push.deltas().size());
    assertTrue(push.rejects().stream().allMatch(r -> r == null));
    assertEquals(-5, push.deltas().get(1).value().longValue());
    assertTrue(push.deltas().get(0).ts().endsWith("-bw-test"));
    assertTrue(push.deltas().get(0).ts().compareTo(push.deltas().get(1).ts()) < 0);
  }

  @Test
  @DisplayName("begin starts a fresh message")
  void reusable() throws Exception {
    PushEncoder enc = new PushEncoder("bench", "w");
    enc.begin(1).delta("c", "x", "a", 1).end();
    String second = enc.begin(2).delta("c", "y", "a", 2).end();
    ClientMessage.Push push = (ClientMessage.Push) MessageCodec.decodeClient(second, Limits.defaults());
    assertEquals(1, push.deltas().size());
    assertEquals("y", push.deltas().get(0).id());
  }

  @Test
  @DisplayName("a quorum asked for goes into every push as w")
  void quorum() throws Exception {
    PushEncoder enc = new PushEncoder("bench", "w").quorum(2);
    ClientMessage.Push push = (ClientMessage.Push) MessageCodec.decodeClient(enc.begin(1).delta("c", "x", "a", 1).end(), Limits.defaults());
    assertEquals(2, push.w());
    assertEquals(0, ((ClientMessage.Push) MessageCodec.decodeClient(new PushEncoder("bench", "w").begin(1).delta("c", "x", "a", 1).end(),
        Limits.defaults())).w());
  }
}
