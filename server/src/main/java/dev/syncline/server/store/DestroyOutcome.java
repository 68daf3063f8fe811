package dev.syncline.server.store;

/** What destroying a database through a timestamp did. */
public enum DestroyOutcome {
  /** There was no such database (its floor is still recorded). */
  ABSENT,
  /** Every register was at or below the timestamp: the database is gone. */
  REMOVED,
  /** Registers written after the timestamp remain; the database lives on with a new epoch. */
  TRIMMED,
  /** Registers written after the timestamp remain, and some at or before it: the next step goes on. */
  MORE
}
