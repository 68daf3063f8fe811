package dev.syncline.bench;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class IdleBenchTest {
  @Test
  @DisplayName("the RSS is summed with the live heap only for a server whose heap was fixed and pre-touched")
  void fixedPreTouchedHeap() {
    assertTrue(IdleBench.hasFixedPreTouchedHeap("java -Xmx1g -XX:+AlwaysPreTouch -Xms1g -jar s.jar --port 1"));
    assertTrue(IdleBench.hasFixedPreTouchedHeap("java -Xmx2G -Xms1g -XX:+AlwaysPreTouch -Xms2g -jar s.jar")); // the last -Xms counts, as for the JVM
    assertFalse(IdleBench.hasFixedPreTouchedHeap("java -Xmx1g -XX:+AlwaysPreTouch -jar s.jar"), "the heap may grow");
    assertFalse(IdleBench.hasFixedPreTouchedHeap("java -Xmx1g -Xms1g -jar s.jar"), "not pre-touched");
    assertFalse(IdleBench.hasFixedPreTouchedHeap("java -Xmx1g -Xms512m -XX:+AlwaysPreTouch -jar s.jar"), "the heap may grow");
    assertFalse(IdleBench.hasFixedPreTouchedHeap("java -XX:+AlwaysPreTouch -jar s.jar"), "no sizes given");
  }
}
