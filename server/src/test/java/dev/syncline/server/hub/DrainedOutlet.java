package dev.syncline.server.hub;

/** An outlet for hub tests: a socket that is always open and drains at once. */
interface DrainedOutlet extends Outlet {
  @Override
  default boolean writeQueueFull() {
    return false;
  }

  @Override
  default void whenDrained(Runnable r) {
    r.run();
  }

  @Override
  default boolean isOpen() {
    return true;
  }
}
