package dev.syncline.client.store;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One change to a store, applied whole (one transaction): in this order, {@code wipe} drops every
 * database's registers, pending writes and cursors; {@code drop} drops those of some databases;
 * then registers are written, registers to forget removed, and pending writes, cursors, the clock
 * and the sign-in written. Fields left unset change nothing.
 */
public final class StoreWrite {
  boolean wipe;
  final List<String> drop = new ArrayList<>();
  final List<StoredRegister> registers = new ArrayList<>();
  final List<StoredRegister> forget = new ArrayList<>();
  final List<StoredRegister> pendingPut = new ArrayList<>();
  final List<StoredRegister> pendingDelete = new ArrayList<>();
  final Map<String, Cursor> cursors = new LinkedHashMap<>();
  String clock;
  boolean setAuth;
  String auth;
  boolean setOwner;
  String owner;

  public StoreWrite wipe() {
    wipe = true;
    return this;
  }

  public StoreWrite drop(String db) {
    drop.add(db);
    return this;
  }

  public StoreWrite register(StoredRegister r) {
    registers.add(r);
    return this;
  }

  public StoreWrite registers(List<StoredRegister> rs) {
    registers.addAll(rs);
    return this;
  }

  /**
   * Removes the confirmed register of {@code r}'s attribute if it is still the one stamped
   * {@code r.ts()}: a destroyed document's value the server purged.
   */
  public StoreWrite forget(StoredRegister r) {
    forget.add(r);
    return this;
  }

  public StoreWrite pendingPut(StoredRegister r) {
    pendingPut.add(r);
    return this;
  }

  /** Removes the pending write of {@code r}'s attribute if it is still the one stamped {@code r.ts()}. */
  public StoreWrite pendingDelete(StoredRegister r) {
    pendingDelete.add(r);
    return this;
  }

  public StoreWrite cursor(String db, Cursor c) {
    cursors.put(db, c);
    return this;
  }

  /** The clock's state: the last timestamp it gave, {@code MS-COUNTER-ORIGIN}. */
  public StoreWrite clock(String state) {
    clock = state;
    return this;
  }

  /** The sign-in record as JSON text; null forgets it. */
  public StoreWrite auth(String json) {
    setAuth = true;
    auth = json;
    return this;
  }

  /** Whose data the store holds; null: anonymous. */
  public StoreWrite owner(String user) {
    setOwner = true;
    owner = user;
    return this;
  }

  /**
   * What must still be stored of {@code failed}, a write that did not commit, before anything
   * written after it: its wipe, drops, registers, registers to forget (a purged value left in the
   * store would come back at the next load, and show after a restore) and sign-in. Its cursors
   * need not be: every later write that stores a cursor stores a newer one, which would otherwise
   * pass registers never stored. Its pending edits are still in memory and are pushed; it was reported failed.
   * {@code carried} is what earlier failures left (or null).
   */
  static StoreWrite carry(StoreWrite carried, StoreWrite failed) {
    StoreWrite c = carried != null ? carried : new StoreWrite();
    if (failed.wipe) {
      c.wipe = true;
      c.drop.clear();
      c.registers.clear();
      c.forget.clear();
    }
    for (String db : failed.drop) {
      c.registers.removeIf(r -> r.db().equals(db));
      c.forget.removeIf(r -> r.db().equals(db));
      if (!c.drop.contains(db)) c.drop.add(db);
    }
    // a carried value the failed write forgets is not written back: an older one of its attribute,
    // taken since (a late write the server took after its purge), is what the client holds
    c.registers.removeIf(r -> failed.forget.stream().anyMatch(f -> sameRegister(f, r)));
    // one per attribute, the newest: a store that keeps failing must not make each retry larger
    Map<String, StoredRegister> newest = new LinkedHashMap<>();
    for (List<StoredRegister> rs : List.of(c.registers, failed.registers)) {
      for (StoredRegister r : rs) newest.merge(r.db() + '\0' + r.col() + '\0' + r.id() + '\0' + r.attr(), r,
          (held, next) -> held.ts().compareTo(next.ts()) > 0 ? held : next);
    }
    c.registers.clear();
    c.registers.addAll(newest.values());
    // each removes a register only at the ts it names: one written anew since stays
    c.forget.addAll(failed.forget);
    if (failed.setAuth) c.auth(failed.auth);
    if (failed.setOwner) c.owner(failed.owner);
    return c;
  }

  private static boolean sameRegister(StoredRegister a, StoredRegister b) {
    return a.ts().equals(b.ts()) && a.attr().equals(b.attr()) && a.id().equals(b.id()) && a.col().equals(b.col()) && a.db().equals(b.db());
  }

  public boolean isEmpty() {
    return !wipe && drop.isEmpty() && registers.isEmpty() && forget.isEmpty() && pendingPut.isEmpty() && pendingDelete.isEmpty()
        && cursors.isEmpty() && clock == null && !setAuth && !setOwner;
  }
}
