package dev.syncline.client.store;

/** Where the client is in a database's feed: the last seq it holds, of the database's epoch. */
public record Cursor(long seq, String epoch) {}
