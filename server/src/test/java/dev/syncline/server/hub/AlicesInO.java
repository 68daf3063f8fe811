package dev.syncline.server.hub;

import dev.syncline.server.store.ReadFilter;

/** For hub tests: reads everything but the documents of collection o that alice does not own. */
final class AlicesInO implements ReadFilter {
  @Override
  public boolean needsOwner(String col) {
    return col.equals("o");
  }

  @Override
  public boolean allows(String col, String attr, String owner) {
    return !col.equals("o") || "alice".equals(owner);
  }
}
