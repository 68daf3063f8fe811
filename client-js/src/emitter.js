// A small event emitter. A listener that throws does not stop the others or the SDK: its error
// is reported asynchronously, the way an EventTarget reports it. An event a listener causes (it
// writes a document, say) waits until every listener has had the one being emitted, so each
// listener sees events in the order they happened.

/** Reports an error of the app's code (a listener, a filter) without throwing it into the SDK. */
export function report(e) {
  if (typeof globalThis.reportError === 'function') globalThis.reportError(e);
  else setTimeout(() => { throw e; });
}

export class Emitter {
  #listeners = new Map();
  #waiting = [];
  #emitting = false;

  /** Adds a listener; returns a function that removes it. */
  on(event, fn) {
    if (typeof fn !== 'function') throw new TypeError('listener must be a function');
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    const entry = { fn };
    set.add(entry);
    return () => set.delete(entry);
  }

  emit(event, payload) {
    this.batch(() => this.#waiting.push([event, payload]));
  }

  /**
   * Runs `fn`, holding the events it emits until it returns, then delivers them (and those their
   * listeners cause, after them) in order: one change's events all go out before a listener's
   * reaction to the first of them.
   */
  batch(fn) {
    if (this.#emitting) {
      fn();
      return;
    }
    this.#emitting = true;
    try {
      fn();
      for (let i = 0; i < this.#waiting.length; i++) this.#deliver(...this.#waiting[i]);
    } finally {
      this.#waiting = [];
      this.#emitting = false;
    }
  }

  #deliver(event, payload) {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const { fn } of [...set]) {
      try {
        fn(payload);
      } catch (e) {
        report(e);
      }
    }
  }

  has(event) {
    return (this.#listeners.get(event)?.size ?? 0) > 0;
  }
}
