package dev.syncline.server.hub;

import dev.syncline.protocol.ErrorCode;
import dev.syncline.protocol.ServerMessage;
import dev.syncline.server.store.ChangePage;
import dev.syncline.server.store.CommittedDelta;
import dev.syncline.server.store.DatabaseInfo;
import dev.syncline.server.store.ReadFilter;
import java.util.ArrayList;
import java.util.Objects;
import java.util.function.Function;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One subscription of one connection: a database, an optional collection filter, and a cursor —
 * the seq up to which the client holds everything it may read. Lives on its connection's event
 * loop; every method runs there.
 *
 * <h2>States</h2>
 * <ul>
 *   <li>{@code CATCHING_UP}: pages of stored changes above the cursor are read on a worker thread
 *       and sent, one frame per page, waiting for the socket to drain between pages; the
 *       subscriptions of one connection take turns, one page read at a time ({@link ReadTurns}). Live
 *       batches are not sent, only noted ({@code liveSeen}). When a page reaches the end of its
 *       snapshot and no live batch above it was noted, the subscription goes live: every later
 *       batch has a seq above the cursor (the hub delivers in commit order), and batches at or
 *       below it are already in the store snapshot. If one was noted, it reads again. No gap, no
 *       duplicate.
 *   <li>{@code LIVE}: each batch is sent as it arrives. While the socket is busy, batches are
 *       coalesced into one pending frame; when it drains, that frame goes out. A batch larger
 *       than a catch-up page goes out as several frames of a page each, so no frame outgrows
 *       what a peer or client accepts (and to a busy socket not at all: it is read from the store).
 *   <li>{@code LAGGING}: the pending frame outgrew {@link HubOptions#subscriberBufferBytes()} (or
 *       a catch-up page), or a catch-up page found the socket still busy. What is held is dropped
 *       and nothing more is; once the socket drains the subscription catches up from its cursor
 *       again — which also compacts: overwritten values are not re-sent.
 * </ul>
 *
 * <h2>Access</h2>
 * A subscription carries its reader's {@link ReadFilter} (null: sees everything), applied to
 * catch-up pages in the store and to live batches here. When what the reader may see changes — a
 * policy, the user's roles, or the owner of a document it reads only when it owns it — the
 * subscription starts over: {@code reset} with the new epoch, then a catch-up from 0 under the new
 * filter. The client drops what it lost and receives what it gained, with no gap or duplicate,
 * through the same path as any reset.
 */
public final class Subscription {
  private static final Logger log = LoggerFactory.getLogger(Subscription.class);

  private enum State { CATCHING_UP, LIVE, LAGGING, CLOSED }

  private final Hub hub;
  private final Hub.LoopRegistry registry;
  private final String sid;
  private final String db;
  private final Set<String> cols;
  private final Outlet outlet;
  private final byte[] header;
  /** A peer's feed: its cursor moves with every commit, also one it sees nothing of. */
  private final boolean feed;
  private ReadFilter filter;
  private Function<DatabaseInfo, String> epochOf;
  /** Counts restarts, so a page read under an older filter is thrown away. */
  private int generation;

  private State state = State.CATCHING_UP;
  /**
   * {@link #state} is CLOSED, for the catch-up workers: a read queued for a subscription closed
   * meanwhile (a client subscribing and unsubscribing in a loop) is skipped, not done for nothing
   * while other subscribers' reads wait behind it.
   */
  private volatile boolean closed;
  private long cursor;
  /**
   * The store's purgedThrough when this subscription last looked: a purge past the cursor since
   * then may have taken tombstones it was never sent. One from before is no loss: what it was sent
   * since came from stores already without them.
   */
  private long purgedSeen;
  /**
   * Seqs up to here were committed before the client's copy began: 0 when it continues a copy it
   * held (it resumed from a cursor, or named an epoch), the head when it began from 0 (at the
   * start, or at a reset). A purge past the cursor takes a tombstone the copy may need only
   * above this: what a page sent was current when read, so a removal committed before the copy
   * began was never sent as the value it removes. Above it (a catch-up, or a reader fed again
   * from the store after falling behind, slower than the retention) the client starts over.
   */
  private long copyFloor;
  private long liveSeen;
  private boolean reading;
  private final List<byte[]> pending = new ArrayList<>();
  private long pendingSeq;
  /** A feed's position is to be sent once its socket drains ({@link #tellPosition}). */
  private boolean positionOwed;
  private int pendingBytes;
  /** A resume is registered with the socket's drain: one at a time, however often it falls behind meanwhile. */
  private boolean resumeRegistered;
  /**
   * A restart happened while the socket was busy: its {@code reset} goes out before the next page,
   * so a reader whose access keeps changing while it does not read costs one, not one per change.
   */
  private boolean resetOwed;
  /**
   * The head of the database when the client was last given its epoch (at the start, or in a
   * reset): owner transfers up to it are in that epoch, so a client whose copy is of another
   * epoch was reset already, and they need no restart when their commit reaches this loop late.
   */
  private long epochHead;
  /**
   * Whether the client is owed {@code synced}: once per catch-up it asked for (the start, a reset),
   * not again when a slow reader catches up from the store (PROTOCOL.md §10: it sees only more
   * {@code changes}).
   */
  private boolean syncedOwed = true;
  /** Told when the hub ends this subscription on its own; see {@link #onEnded}. */
  private Runnable ended = () -> { };
  /**
   * The hub ended it on its own already: its first page can be read, and its completion handled,
   * before {@link Hub#subscribe} returns (a read that finished before its handler was attached runs
   * that handler at once), so before its owner could call {@link #onEnded}.
   */
  private boolean endedOnItsOwn;

  Subscription(Hub hub, Hub.LoopRegistry registry, String sid, String db, Set<String> cols, Outlet outlet,
      ReadFilter filter, Function<DatabaseInfo, String> epochOf, boolean feed) {
    this.feed = feed;
    this.filter = filter;
    this.epochOf = epochOf;
    this.hub = hub;
    this.registry = registry;
    this.sid = sid;
    this.db = db;
    this.cols = cols;
    this.outlet = outlet;
    this.header = ChangesFrame.header(sid);
  }

  public String sid() {
    return sid;
  }

  public String db() {
    return db;
  }

  public Set<String> cols() {
    return cols;
  }

  ReadFilter filter() {
    return filter;
  }

  /** The seq up to which the client holds everything it may read (or will, once sent). */
  long cursor() {
    return cursor;
  }

  /**
   * {@code holdsCopy}: the client named an epoch, so it holds a copy, perhaps at cursor 0 (its own
   * acknowledged writes, stored before any changes frame).
   */
  void start(long since, boolean holdsCopy, boolean otherEpoch, DatabaseInfo info) {
    // the client's copy is from another life of this database, or older than what is kept: a
    // tombstone it never saw may be purged, also when its copy is only its own writes at cursor 0
    if (otherEpoch || ((since > 0 || holdsCopy) && (since > info.head() || since < info.purgedThrough()))) {
      outlet.send(new ServerMessage.Reset(sid, epochOf.apply(info)));
      since = 0;
      holdsCopy = false;
    }
    copyFloor = since > 0 || holdsCopy ? 0 : info.head();
    epochHead = info.head();
    cursor = since;
    liveSeen = since;
    purgedSeen = info.purgedThrough();
    readNextPage();
  }

  /**
   * Calls {@code r} once if the hub ends this subscription on its own — its database was
   * destroyed, or delivering to it failed — so its owner lets go of it (and it stops counting
   * against the owner's limit). Not called after {@link #close()}.
   */
  public void onEnded(Runnable r) {
    ended = r;
    if (endedOnItsOwn) r.run();
  }

  /** Ends the subscription; no more frames are sent for it. */
  public void close() {
    if (state == State.CLOSED) return;
    setState(State.CLOSED);
    closed = true;
    dropPending();
    // a read in flight keeps the turn until it ends (passOn then): else a sub/unsub loop runs many reads at once
    if (!reading) registry.readTurns().leave(outlet, this);
    registry.remove(this);
    hub.removed();
  }

  /** The database's destroys the hub had counted when this was made (see {@link Hub#databaseDestroyed}). Its loop only. */
  long destroysSeen;

  void databaseGone() {
    if (state == State.CLOSED) return;
    close();
    endedOnItsOwn = true;
    ended.run();
    if (outlet.isOpen()) {
      outlet.send(new ServerMessage.Error(null, ErrorCode.NOT_FOUND, "database " + db + " was destroyed",
          null, null, null, sid));
    }
  }

  /**
   * The reader's access changed (a policy, its roles, its sign-in): with a different filter the
   * subscription starts over under the new one; with the same, nothing is sent.
   */
  public void accessChanged(ReadFilter newFilter, Function<DatabaseInfo, String> newEpochOf) {
    epochOf = newEpochOf;
    if (state == State.CLOSED || Objects.equals(filter, newFilter)) return;
    filter = newFilter;
    restart();
  }

  /**
   * Sends the reset a start-over owes now rather than with its first page (nothing when none is
   * owed): a sign-in's resets go before its token, so a client holding the token knows which of
   * its copies are being replaced.
   */
  public void sendOwedReset() {
    if (!resetOwed || state == State.CLOSED || !outlet.isOpen()) return;
    var info = hub.store().database(db);
    if (info.isEmpty()) {
      databaseGone();
      return;
    }
    sendReset(info.get());
  }

  private void sendReset(DatabaseInfo info) {
    resetOwed = false;
    epochHead = info.head();
    outlet.send(new ServerMessage.Reset(sid, epochOf.apply(info)));
  }

  /** The database's epoch changed under this subscription: it starts over. */
  void epochChanged() {
    if (state != State.CLOSED) restart();
  }

  /** Sends {@code reset} with the current epoch and catches up from 0 under the current filter. */
  private void restart() {
    var info = hub.store().database(db);
    if (info.isEmpty()) {
      databaseGone();
      return;
    }
    dropPending();
    setState(State.CATCHING_UP);
    generation++;
    resetOwed = true; // sent before the next page (at once, unless the socket is busy)
    syncedOwed = true;
    purgedSeen = info.get().purgedThrough();
    copyFloor = info.get().head(); // the reset drops the client's copy
    cursor = 0;
    liveSeen = 0;
    readNextPage();
  }

  /** A document this reader sees only while it owns it changed hands: what it may see changed. */
  private boolean ownershipMoved(LiveBatch batch) {
    if (filter == null) return false;
    for (CommittedDelta d : batch.deltas()) {
      if (d.ownerChanged() && d.delta().seq() > epochHead && (cols == null || cols.contains(d.delta().col()))
          && filter.seesOwnerChange(d.delta().col(), d.previousOwner(), d.owner())) {
        return true;
      }
    }
    return false;
  }

  // ---- live ----

  void onLive(LiveBatch batch, Hub.Audience audience) {
    if (state == State.CLOSED) return;
    if (!outlet.isOpen()) {
      socketGone();
      return;
    }
    if (batch.ownerChanges() && ownershipMoved(batch)) {
      restart();
      return;
    }
    if (state != State.LIVE) {
      liveSeen = Math.max(liveSeen, batch.lastSeq());
      return;
    }
    if (batch.lastSeq() <= cursor) return;
    if (audience.deltas.isEmpty() && !(feed && pending.isEmpty() && !outlet.writeQueueFull())) {
      // nothing this filter sees; the cursor may still move past it
      if (pending.isEmpty()) {
        cursor = batch.lastSeq();
        // a peer's feed is told every position (its acks say how far it has this database, and
        // purging waits on them): with the socket busy now, once it drains
        if (feed && !positionOwed) {
          positionOwed = true;
          outlet.whenDrained(this::tellPosition);
        }
      } else {
        pendingSeq = batch.lastSeq();
      }
      return;
    }
    int added = audience.bytes();
    int pageBytes = hub.options().catchUpPageBytes();
    if (pending.isEmpty() && !outlet.writeQueueFull()) {
      if (added <= pageBytes) {
        outlet.writeText(ChangesFrame.frame(header, audience.body()));
        cursor = batch.lastSeq();
        return;
      }
      // one commit too large for one frame (a bulk load): in frames of a page each, so none
      // outgrows what a peer or client accepts, and only while the socket takes them: the rest
      // is read from the store once it drains, not copied for every subscriber at once
      List<byte[]> pages = audience.pages(pageBytes);
      for (int i = 0; i < pages.size(); i++) {
        if (i > 0 && outlet.writeQueueFull()) {
          fallBehind();
          return;
        }
        outlet.writeText(ChangesFrame.frame(header, pages.get(i)));
        cursor = audience.pageSeq(i);
      }
      return;
    }
    if (added > pageBytes) {
      // too large to hold for a busy socket: it is read from the store, page by page, once drained
      dropPending();
      fallBehind();
      return;
    }
    // what is held goes out as one frame, so it stays within a page as well as within the buffer
    if (pendingBytes + added > Math.min(hub.options().subscriberBufferBytes(), hub.options().catchUpPageBytes())) {
      // too far behind to buffer: drop what is held and re-read it from the store later
      dropPending();
      fallBehind();
      return;
    }
    boolean first = pending.isEmpty();
    pending.addAll(audience.deltas);
    pendingBytes += added;
    hub.buffered(added);
    pendingSeq = batch.lastSeq();
    if (first) outlet.whenDrained(this::flushPending);
  }

  /**
   * Commits of this database up to {@code lastSeq} were not handed to this loop (its inbox was
   * full); {@code transfers} are their owner transfers, or null. Live, the subscription falls
   * behind and reads them from the store; catching up, it reads on until past them.
   */
  void missed(long lastSeq, LiveBatch transfers) {
    if (state == State.CLOSED) return;
    if (transfers != null && ownershipMoved(transfers)) {
      restart();
      return;
    }
    if (state != State.LIVE) {
      liveSeen = Math.max(liveSeen, lastSeq);
      return;
    }
    if (lastSeq <= cursor) return;
    dropPending();
    fallBehind();
  }

  private void flushPending() {
    if (state != State.LIVE || pending.isEmpty()) return;
    if (outlet.writeQueueFull()) {
      outlet.whenDrained(this::flushPending);
      return;
    }
    outlet.writeText(ChangesFrame.frame(header, ChangesFrame.body(db, pendingSeq, pending)));
    cursor = pendingSeq;
    dropPending();
  }

  /** A feed's empty frame at the cursor, owed since its socket was busy (see {@link #onLive}). */
  private void tellPosition() {
    positionOwed = false;
    if (state != State.LIVE || !pending.isEmpty()) return; // a catch-up or the held frame tells it
    if (outlet.writeQueueFull()) {
      positionOwed = true;
      outlet.whenDrained(this::tellPosition);
      return;
    }
    outlet.writeText(ChangesFrame.frame(header, ChangesFrame.body(db, cursor, java.util.List.of())));
  }

  private void dropPending() {
    pending.clear();
    hub.buffered(-pendingBytes);
    pendingBytes = 0;
  }

  private void setState(State next) {
    if (state == State.LAGGING && next != State.LAGGING) hub.lagEnded();
    if (next == State.LAGGING && state != State.LAGGING) hub.lagStarted();
    state = next;
  }

  /** Holds nothing more: once the socket drains, the subscription reads on from the store by its cursor. */
  private void fallBehind() {
    setState(State.LAGGING);
    log.debug("subscription {} on {} is lagging at seq {}", sid, db, cursor);
    if (resumeRegistered) return;
    resumeRegistered = true;
    outlet.whenDrained(this::resumeFromStore);
  }

  private void resumeFromStore() {
    resumeRegistered = false;
    if (state != State.LAGGING) return;
    setState(State.CATCHING_UP);
    liveSeen = cursor;
    readNextPage();
  }

  // ---- catch-up ----

  private void readNextPage() {
    if (state != State.CATCHING_UP || reading) return;
    if (!outlet.isOpen()) {
      socketGone();
      return;
    }
    if (outlet.writeQueueFull()) {
      fallBehind(); // waiting for the socket: lagging, until it drains
      return;
    }
    if (!registry.readTurns().take(outlet, this)) return; // another subscription of this connection reads first
    if (resetOwed) {
      var info = hub.store().database(db);
      if (info.isEmpty()) {
        databaseGone();
        return;
      }
      sendReset(info.get());
    }
    reading = true;
    long from = cursor;
    int readFor = generation;
    ReadFilter f = filter;
    HubOptions o = hub.options();
    hub.readers()
        .executeBlocking(() -> closed ? null : hub.store().changesSince(db, cols, f, from, o.catchUpPageDeltas(), o.catchUpPageBytes()), false)
        .onComplete(ar -> {
          reading = false;
          registry.readTurns().passOn(outlet, this);
          if (state == State.CLOSED) {
            return; // closed or destroyed meanwhile: nothing more to say
          } else if (readFor != generation) {
            readNextPage(); // restarted meanwhile: this page was read for the old filter or cursor
          } else if (ar.failed() && hub.store().database(db).isEmpty()) {
            databaseGone(); // the read failed because the database went: that is the answer
          } else if (ar.failed()) {
            log.error("catch-up read of {} failed", db, ar.cause());
            failed("catch-up read failed");
          } else if (ar.result() == null) {
            databaseGone();
          } else {
            hub.pageRead();
            onPage(ar.result());
          }
        });
  }

  /** Its connection's read turn came (see {@link ReadTurns}): it reads its next page, or passes the turn on. */
  void turnGranted() {
    readNextPage();
    if (!reading) registry.readTurns().passOn(outlet, this);
  }

  private void onPage(ChangePage page) {
    if (state != State.CATCHING_UP) return;
    if (page.purgedThrough() > Math.max(cursor, Math.max(purgedSeen, copyFloor))) {
      // tombstones this client never saw were purged: it must start over
      restart();
      return;
    }
    purgedSeen = page.purgedThrough();
    if (!page.deltas().isEmpty()) {
      outlet.writeText(ChangesFrame.frame(header, ChangesFrame.body(db, page.seq(), page.deltas())));
    }
    cursor = page.seq();
    if (page.more() || liveSeen > cursor) {
      readNextPage();
      return;
    }
    if (!outlet.isOpen()) {
      socketGone(); // not live: nothing would look at the socket again
      return;
    }
    setState(State.LIVE);
    if (syncedOwed) {
      outlet.send(new ServerMessage.Synced(sid, cursor));
    } else if (feed && page.deltas().isEmpty()) {
      // caught up again after lagging, past commits it may not see: a peer's cursor (and what it
      // confirms) keeps up, as live, by an empty frame, where synced used to tell it
      outlet.writeText(ChangesFrame.frame(header, ChangesFrame.body(db, cursor, java.util.List.of())));
    }
    syncedOwed = false;
  }

  /**
   * Its socket closed and its owner did not close it: the socket may have ended its session inside
   * a write of this subscription's, before the session held it. It ends, and its owner is told.
   */
  private void socketGone() {
    close();
    endedOnItsOwn = true;
    ended.run();
  }

  /** Delivering to this subscription failed unexpectedly: it ends, and the client is told if it can be. */
  void abort(RuntimeException cause) {
    log.error("live delivery to subscription {} on {} failed; it is closed", sid, db, cause);
    try {
      failed("live delivery failed");
    } catch (RuntimeException again) {
      close();
    }
  }

  private void failed(String message) {
    if (state == State.CLOSED) return;
    close();
    endedOnItsOwn = true;
    ended.run();
    if (outlet.isOpen()) {
      outlet.send(new ServerMessage.Error(null, ErrorCode.INTERNAL, message, null, null, null, sid));
    }
  }
}
