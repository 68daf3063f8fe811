package dev.syncline.client;

/** A running live query ({@link Collection#live}); {@link #close()} stops it. */
public interface LiveQuery extends AutoCloseable {
  /** Stops calling the listener. */
  @Override
  void close();
}
