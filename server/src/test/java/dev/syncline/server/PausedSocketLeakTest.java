package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.syncline.server.testing.RawWebSocket;
import dev.syncline.server.testing.ServerProcess;
import dev.syncline.server.testing.WsClient;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("A client that goes while the server holds its socket paused")
class PausedSocketLeakTest {

  @Test
  @DisplayName("leaves no buffers behind: what the pause held back is freed (Netty's leak detector, paranoid, finds none)")
  void heldFramesAreFreed() throws Exception {
    Path data = Files.createTempDirectory("syncline-paused-leak");
    // every push holds the socket until its ack (a durable commit, some ms): the frames behind it wait
    try (ServerProcess server = ServerProcess.start(data, "{\"databases\":[\"app\"],\"maxUnansweredDeltas\":1,\"eventLoops\":1}",
        "-Dio.netty.leakDetection.level=paranoid", "-Xmx128m")) {
      server.watchFor("LEAK:");
      for (int round = 0; round < 20; round++) {
        try (RawWebSocket raw = RawWebSocket.connect(server.port())) {
          raw.sendText(WsClient.obj("hello").put("protocol", 1).put("clientId", "leaver" + round).put("rid", 1).toString());
          assertTrue(raw.readFrame().text().contains("\"welcome\""), "welcomed");
          byte[][] pushes = new byte[60][];
          for (int i = 0; i < pushes.length; i++) {
            pushes[i] = RawWebSocket.frame(true, RawWebSocket.TEXT, RawWebSocket.utf8(
                push("app", delta("c", "r" + round + "-" + i, "v", "x".repeat(500), now(i, "leaver" + round))).put("rid", 2 + i).toString()));
          }
          raw.write(pushes); // and gone at once, the acks unread
        }
      }
      // a leaked buffer is reported once collected, when a later one is tracked
      Process gc = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
          Long.toString(server.pid()), "GC.run").redirectErrorStream(true).start();
      boolean collected = gc.waitFor() == 0;
      if (!collected) System.out.println("jcmd GC.run failed, so the traffic below must collect: " + new String(gc.getInputStream().readAllBytes()));
      try (WsClient after = WsClient.connect(server.port())) {
        after.hello("after");
        // enough to fill the server's young generation a few times over when jcmd could not collect
        for (int i = 0; i < (collected ? 50 : 2_000); i++) {
          var answer = after.request(push("app", delta("c", "after" + i, "v", "y".repeat(collected ? 1 : 20_000), now(i, "after"))));
          assertEquals("ack", answer.path("type").asText(), answer.toString());
        }
      }
      assertTrue(server.isAlive(), server.recentOutput());
      assertEquals(0, server.watchedLines(), "Netty reported leaked buffers:\n" + server.recentOutput());
    }
  }
}
