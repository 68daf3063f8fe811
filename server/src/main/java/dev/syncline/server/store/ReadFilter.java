package dev.syncline.server.store;

/** Which stored changes a reader may see, decided per register while a page is read. */
public interface ReadFilter {

  /** Whether {@link #allows} needs the document's owner for this collection (a lookup per change). */
  boolean needsOwner(String col);

  /** {@code owner} is the document's {@code $owner}, or null when it has none or it was not looked up. */
  boolean allows(String col, String attr, String owner);
}
