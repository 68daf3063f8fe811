package dev.syncline.protocol;

/**
 * The last-writer-wins rule for one attribute register, as a pure function. Every replica
 * (server, peers, SDKs) applies exactly this, so replicas that saw the same deltas in any
 * order hold the same state: the greatest timestamp wins, and an equal timestamp is the same
 * write seen again.
 */
public final class Merge {
  private Merge() {}

  public enum Outcome {
    /** The delta is newer than what is stored: it replaces the register. */
    APPLIED("applied"),
    /** A newer value is stored: the delta changes nothing. */
    SUPERSEDED("superseded"),
    /** This exact write is stored already: the delta changes nothing. */
    DUPLICATE("duplicate");

    private final String wire;

    Outcome(String wire) {
      this.wire = wire;
    }

    public String wire() {
      return wire;
    }

    public static Outcome fromWire(String name) {
      for (Outcome o : values()) if (o.wire.equals(name)) return o;
      throw new IllegalArgumentException("unknown outcome: " + name);
    }
  }

  /** Decides a delta with timestamp {@code incoming} against a register stamped {@code stored} (null when empty). */
  public static Outcome decide(String stored, String incoming) {
    if (stored == null) return Outcome.APPLIED;
    int c = incoming.compareTo(stored);
    if (c > 0) return Outcome.APPLIED;
    return c == 0 ? Outcome.DUPLICATE : Outcome.SUPERSEDED;
  }
}
