// The Data tab: pick a database and a collection, watch its documents change live, and edit one:
// set or remove an attribute, destroy or restore the document, give it another owner. Edits are
// ordinary pushes (see connection.js), so they are merged, checked and sent to every subscriber
// like any client's; the server's answer for each is shown as it comes.

import { byId, count, fill, h, preview, stamp, when } from './dom.js';
import { DatabaseMirror } from './mirror.js';

const SHOWN_DOCUMENTS = 500;
const LIST_EVERY_MS = 5000; // databases made on a peer arrive after their audit entry: look again now and then
const SYSTEM = '$system';

export class DataPanel {
  #conn;
  #ui;
  #db = null;
  #mirror = null;
  #unsubscribe = () => {};
  #col = null;
  #id = null;
  #editing = null; // {attr, ts}: the register as it was when its edit began
  #pending = null; // what changed since the last render: a Set of "col\u0000id" keys, 'all', or null when rendered
  #shown = false;
  #listing = null; // the timer of the next look at the databases

  constructor({ conn, system, ui }) {
    this.#conn = conn;
    this.#ui = ui;
    // a database made or destroyed (here, by another admin, or on a peer) leaves an audit entry in $system
    system.listen((changed) => {
      if (this.#shown && (changed === null || [...changed].some((k) => k.startsWith('audit\u0000') || k.startsWith('databases\u0000')))) {
        this.#listDatabasesSoon(100); // once for a burst of entries
      }
    });
    byId('doc-filter').addEventListener('input', () => this.#renderDocuments(null));
    byId('show-destroyed').addEventListener('change', () => this.#renderDocuments(null));
    const form = byId('attr-form');
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.#saveAttribute();
    });
    byId('attr-remove').addEventListener('click', () => this.#removeAttribute());
    byId('attr-clear').addEventListener('click', () => this.#edit(null));
    form.elements.value.addEventListener('input', () => this.#checkValue());
    form.elements.kind.addEventListener('change', () => this.#checkValue());
  }

  show() {
    this.#shown = true;
    this.#listDatabasesSoon(0);
  }

  hide() {
    this.#shown = false;
    clearTimeout(this.#listing);
  }

  #listDatabasesSoon(ms) {
    clearTimeout(this.#listing);
    this.#listing = setTimeout(() => this.#listDatabases(), ms);
  }

  async #listDatabases() {
    if (this.#shown) this.#listDatabasesSoon(LIST_EVERY_MS);
    try {
      const names = (await this.#conn.admin('db.list')).databases.map((d) => d.db);
      this.#renderDatabases(names);
      if (!this.#db && names.length) this.open(names.find((db) => !db.startsWith('$')) ?? names[0]);
      else if (this.#mirror?.error && names.includes(this.#db)) this.open(this.#db); // made again since it ended
    } catch (e) {
      // offline: the badge says so, and the next look comes by itself
      if (e.code !== 'offline') this.#ui.toast(`Could not list the databases: ${e.code}: ${e.message}`, 'error');
    }
  }

  /** Shows database `db` (subscribing to it, again if its last subscription ended), and optionally a collection and document in it. */
  open(db, col = null, id = null) {
    if (db !== this.#db || this.#mirror.error) {
      this.#unsubscribe();
      this.#db = db;
      this.#mirror = new DatabaseMirror(db);
      this.#mirror.listen((changed) => this.#changed(changed));
      this.#unsubscribe = this.#conn.subscribe(db, this.#mirror.handlers);
      this.#col = null;
      this.#id = null;
      this.#edit(null);
    }
    if (col) this.#col = col;
    if (id) this.#select(id);
    for (const li of byId('db-list').children) li.classList.toggle('selected', li.dataset.db === db);
    this.#render(null);
  }

  #renderDatabases(names) {
    fill(byId('db-list'), names.map((db) => h('li', { dataset: { db }, class: db === this.#db ? 'selected' : null },
      h('button', { onclick: () => this.open(db) }, db))));
  }

  /** Renders once a frame however many changes arrive, so a busy database does not keep the page busy. */
  #changed(changed) {
    const scheduled = this.#pending !== null;
    this.#pending = changed === null || this.#pending === 'all' ? 'all' : new Set([...(this.#pending ?? []), ...changed]);
    if (scheduled) return;
    requestAnimationFrame(() => {
      const pending = this.#pending;
      this.#pending = null;
      if (!this.#col) this.#col = this.#mirror.collections()[0]?.name ?? null;
      this.#render(pending === 'all' ? null : pending);
    });
  }

  #render(changed) {
    this.#renderCollections();
    this.#renderDocuments(changed);
    this.#renderDocument();
  }

  #renderCollections() {
    const m = this.#mirror;
    const cols = m.collections();
    const list = byId('col-list');
    if (m.error) return fill(list, h('li.problem', {}, `${m.error.code}: ${m.error.message}`));
    if (!m.synced) return fill(list, h('li.hint', {}, 'Loading…'));
    if (cols.length === 0) return fill(list, h('li.hint', {}, 'No documents yet.'));
    fill(list, cols.map((c) => h('li', { dataset: { col: c.name }, class: c.name === this.#col ? 'selected' : null },
      h('button', { onclick: () => this.#pickCollection(c.name) },
        h('span', {}, c.name), h('span.badge', { title: `${c.destroyed} destroyed` }, count(c.documents))))));
  }

  #pickCollection(col) {
    this.#col = col;
    this.#id = null;
    this.#edit(null);
    this.#render(null);
  }

  #renderDocuments(changed) {
    const body = byId('docs').tBodies[0];
    fill(byId('docs-title'), this.#col ? ['Documents in ', h('code', {}, this.#col)] : 'Documents');
    if (!this.#col) {
      fill(body);
      byId('docs-note').textContent = '';
      return;
    }
    const needle = byId('doc-filter').value.trim().toLowerCase();
    const withDestroyed = byId('show-destroyed').checked;
    const docs = this.#mirror.documents(this.#col).filter((d) => (withDestroyed || !d.destroyed)
      && (!needle || d.id.toLowerCase().includes(needle) || summary(d).toLowerCase().includes(needle)));
    fill(body, docs.slice(0, SHOWN_DOCUMENTS).map((d) => {
      const key = `${this.#col}\u0000${d.id}`;
      const classes = [d.id === this.#id && 'selected', d.destroyed && 'destroyed', changed?.has(key) && 'flash'].filter(Boolean);
      return h('tr', { dataset: { id: d.id }, class: classes.join(' ') || null },
        h('td', {}, h('button.link', { onclick: () => this.#select(d.id), 'aria-label': `Open ${d.id}` }, h('code', {}, preview(d.id, 32)))),
        h('td', {}, d.destroyed ? h('span.tag', {}, 'destroyed') : preview(summary(d), 90)),
        h('td', {}, preview(d.registers.get('$owner')?.value ?? '—', 24)),
        h('td', {}, d.newest ? when(stamp(d.newest).at) : ''));
    }));
    byId('docs-note').textContent = docs.length > SHOWN_DOCUMENTS
      ? `Showing ${SHOWN_DOCUMENTS} of ${count(docs.length)}: filter to find the others.`
      : `${count(docs.length)} document${docs.length === 1 ? '' : 's'}`;
  }

  #select(id) {
    if (id !== this.#id) this.#edit(null);
    this.#id = id;
    for (const tr of byId('docs').tBodies[0].rows) tr.classList.toggle('selected', tr.dataset.id === id);
    this.#renderDocument();
  }

  #renderDocument() {
    const doc = this.#id && this.#col ? this.#mirror.document(this.#col, this.#id) : null;
    const panel = byId('doc-panel');
    panel.hidden = !doc;
    if (!doc) return;
    const readOnly = this.#db === SYSTEM;
    fill(byId('doc-title'), h('code', {}, doc.id), doc.destroyed ? h('span.tag', {}, 'destroyed') : null);
    fill(byId('doc-actions'), readOnly ? h('span.hint', {}, `${SYSTEM} changes through the Users and Policies tabs`) : [
      doc.destroyed
        ? h('button', { onclick: () => this.#write('$deleted', false, 'Restored') }, 'Restore document')
        : h('button.danger', { onclick: () => this.#destroy() }, 'Destroy document'),
      h('button', { onclick: () => this.#changeOwner(doc) }, 'Change owner…'),
    ]);
    const deletedAt = doc.registers.get('$deleted')?.value === true ? doc.registers.get('$deleted').ts : null;
    const rows = [...doc.registers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([attr, r]) => {
      const hidden = r.value === null || (deletedAt !== null && attr !== '$deleted' && !(r.ts > deletedAt));
      const reserved = attr.startsWith('$');
      const { at, by } = stamp(r.ts);
      return h('tr', { dataset: { attr }, class: hidden ? 'muted' : null },
        h('th', {}, h('code', {}, attr)),
        h('td.value', {}, r.value === null ? h('em', {}, 'removed') : h('code', {}, JSON.stringify(r.value))),
        h('td', { title: r.ts }, when(at), h('div.hint', {}, by)),
        h('td.actions', {}, readOnly || reserved ? null : [
          h('button.small', { onclick: () => this.#edit(attr), 'aria-label': `Edit ${attr}` }, 'Edit'),
        ]));
    });
    fill(byId('attrs').tBodies[0], rows);
    byId('attr-form').hidden = readOnly;
    this.#checkEdited(doc);
  }

  // ---- edits ----

  /** Fills the attribute form with `attr` of the selected document (null: a new attribute). */
  #edit(attr) {
    const form = byId('attr-form');
    const register = attr ? this.#mirror?.document(this.#col, this.#id)?.registers.get(attr) : null;
    this.#editing = attr ? { attr, ts: register?.ts ?? null } : null;
    form.elements.attr.value = attr ?? '';
    form.elements.attr.readOnly = Boolean(attr);
    const value = register?.value ?? '';
    form.elements.kind.value = typeof value === 'string' ? 'text' : 'json';
    form.elements.value.value = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
    byId('attr-remove').hidden = !attr;
    byId('attr-form-title').textContent = attr ? 'Edit attribute' : 'Add an attribute';
    byId('attr-stale').hidden = true;
    this.#checkValue();
    if (attr) form.elements.value.focus();
  }

  /** Warns when the attribute being edited changed since the edit began (someone else wrote it). */
  #checkEdited(doc) {
    const e = this.#editing;
    byId('attr-stale').hidden = !e || (doc.registers.get(e.attr)?.ts ?? null) === e.ts;
  }

  /** The value the form holds, or throws a message for the person typing. */
  #formValue() {
    const form = byId('attr-form');
    const text = form.elements.value.value;
    if (form.elements.kind.value === 'text') return text;
    try {
      return JSON.parse(text);
    } catch {
      throw new Error('Not JSON. Choose "text" to store it as a string.');
    }
  }

  #checkValue() {
    let problem = '';
    try {
      this.#formValue();
    } catch (e) {
      problem = e.message;
    }
    byId('attr-problem').textContent = problem;
    return !problem;
  }

  async #saveAttribute() {
    const attr = byId('attr-form').elements.attr.value;
    if (!attr || !this.#checkValue()) return;
    const saved = await this.#write(attr, this.#formValue(), `Saved ${attr}`);
    if (saved) this.#edit(attr);
  }

  async #removeAttribute() {
    const attr = this.#editing?.attr;
    if (attr && (await this.#write(attr, null, `Removed ${attr}`))) this.#edit(null);
  }

  async #destroy() {
    const ok = await this.#ui.confirm(`Destroy ${this.#id}?`,
      'Subscribers stop seeing it. It can be restored whole from here (Restore document) until its tombstone is purged.', 'Destroy');
    if (ok) await this.#write('$deleted', true, 'Destroyed');
  }

  async #changeOwner(doc) {
    const values = await this.#ui.ask('Change owner', [
      { name: 'owner', label: 'New owner (a user name)', value: doc.registers.get('$owner')?.value ?? '' },
    ], 'Change owner');
    if (!values) return;
    try {
      await this.#conn.admin('owner.set', { db: this.#db, col: this.#col, id: doc.id, owner: values.owner });
      this.#ui.toast(`${doc.id} now belongs to ${values.owner}`);
    } catch (e) {
      this.#ui.failed(e);
    }
  }

  /** Pushes one attribute of the selected document; true when the server applied it. */
  async #write(attr, value, done) {
    try {
      const [result] = await this.#conn.push(this.#db, [{ col: this.#col, id: this.#id, attr, value }]);
      if (result === 'applied' || result === 'duplicate') {
        this.#ui.toast(done);
        return true;
      }
      if (result === 'superseded') this.#ui.toast(`Not saved: a newer value of ${attr} was already stored`, 'error');
      else this.#ui.toast(`Not saved: ${result.error}: ${result.message}`, 'error');
    } catch (e) {
      this.#ui.failed(e);
    }
    return false;
  }
}

/** The visible attributes in one line: "title: Buy milk · done: false" ($owner has a column). */
function summary(doc) {
  return Object.entries(doc.view ?? {}).filter(([attr]) => attr !== '$owner')
    .map(([attr, v]) => `${attr}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' · ');
}
