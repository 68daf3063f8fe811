// The handles an app holds: a database, a collection, a document. They are cheap views onto the
// client; all state lives in the client's replica.

import { SynclineError } from './errors.js';
import { matcher } from './live.js';
import { colProblem, idProblem } from './names.js';

export class Database {
  #client;
  #cols = new Map();

  constructor(client, name) {
    this.#client = client;
    /** The database name. */
    this.name = name;
  }

  /** The collection `name` (1 to 256 characters, no NUL, not starting with `$`). */
  col(name) {
    let col = this.#cols.get(name);
    if (!col) {
      const problem = colProblem(name, this.#client.limits);
      if (problem) throw new SynclineError('bad_request', problem, { db: this.name });
      col = new Collection(this.#client, this.name, name);
      this.#cols.set(name, col);
    }
    return col;
  }
}

export class Collection {
  #client;

  constructor(client, db, name) {
    this.#client = client;
    this.db = db;
    this.name = name;
  }

  /** A document handle: a new ULID when `id` is omitted, else that id (existing or not). */
  doc(id) {
    if (id === undefined) id = this.#client.newId();
    const problem = idProblem(id, this.#client.limits);
    if (problem) throw new SynclineError('bad_request', problem, { db: this.db, col: this.name });
    return new Document(this.#client, this.db, this.name, id);
  }

  /** The visible documents, sorted by id. */
  all() {
    return this.#client.replica.docs(this.db, this.name).slice();
  }

  /** The visible documents that match `filter` ({attr: value, …} or (doc) => boolean), sorted by id. */
  find(filter) {
    const match = matcher(filter);
    return this.#client.replica.docs(this.db, this.name).filter((doc) => match(doc));
  }

  /**
   * Calls `fn(docs)` at once with the documents matching `filter` (null: all), and again whenever
   * that result changes through a local or remote change. Returns a function that stops it.
   */
  live(filter, fn) {
    return this.#client.liveQueries.add(this.db, this.name, filter, fn);
  }
}

export class Document {
  #client;

  constructor(client, db, col, id) {
    this.#client = client;
    this.db = db;
    this.col = col;
    this.id = id;
  }

  /** {id, …visible attributes} (frozen), or null when the document is not visible. */
  get() {
    return this.#client.replica.doc(this.db, this.col, this.id);
  }

  /**
   * Sets the given attributes (null removes one; others are left as they are). Applies at once;
   * resolves once stored locally. Rejects with a SynclineError ('bad_request', 'too_large') for
   * a name or value the server would refuse, before anything changes.
   */
  set(attrs) {
    return this.#client.write(this.db, this.col, this.id, attrs);
  }

  /** Destroys the document ($deleted = true). */
  destroy() {
    return this.#client.write(this.db, this.col, this.id, { $deleted: true });
  }

  /** Restores a destroyed document whole ($deleted = false). */
  restore() {
    return this.#client.write(this.db, this.col, this.id, { $deleted: false });
  }
}
