package dev.syncline.server.store;

/** Which stored changes a reader may see, decided per register while a page is read. */
public interface ReadFilter {

  /** Whether {@link #allows} needs the document's owner for this collection (a lookup per change). */
  boolean needsOwner(String col);

  /** {@code owner} is the document's {@code $owner}, or null when it has none or it was not looked up. */
  boolean allows(String col, String attr, String owner);

  /** Whether a live (just committed) change may be seen; by default, by {@link #allows}. */
  default boolean allowsLive(CommittedDelta d) {
    return allows(d.delta().col(), d.delta().attr(), d.owner());
  }

  /** Whether moving a document of {@code col} from one owner to another changes what this reader sees. */
  default boolean seesOwnerChange(String col, String from, String to) {
    return needsOwner(col);
  }
}
