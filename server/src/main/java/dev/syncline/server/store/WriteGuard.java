package dev.syncline.server.store;

/**
 * Decides, inside the write transaction, whether a delta may be written. The store tells it what
 * the delta does to its document and who owns that document, facts only the store knows for
 * sure at that moment; the policy behind it lives outside the store.
 */
@FunctionalInterface
public interface WriteGuard {

  /** What a delta does to its document. */
  enum Action {
    /** The first write of a document (every delta of the push that creates it). */
    CREATE,
    /** Any other write to an existing document, including a removal ({@code value: null}). */
    UPDATE,
    /** A write of {@code $deleted}, true (destroy) or false (restore). */
    DESTROY,
    /** Not a write: whether the writer may read the document (asked for a resend's {@code duplicate}). */
    READ
  }

  /** {@code owner} is the document's {@code $owner}, or null when it has none. */
  boolean permits(String col, Action action, String owner);

  /**
   * Whether a write may go to a document no reader sees (destroyed, nothing written after). A
   * write of one that passes this makes it seen again ({@code $owner} included), so an admin's
   * {@code owner.set} must not.
   */
  default boolean permitsHidden() {
    return true;
  }
}
