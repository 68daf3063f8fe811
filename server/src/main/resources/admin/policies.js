// The Policies tab: a JSON editor for the policy of a database or one of its collections, read
// with policy.get and written with policy.set (PROTOCOL.md §11, §12), and every stored policy,
// live from $system's policies collection. The server is the one that validates: its refusal
// (code and message, naming the field) is shown as it is.

import { byId, fill, h, preview } from './dom.js';

const ACTIONS = ['read', 'create', 'update', 'destroy'];

export class PoliciesPanel {
  #conn;
  #system;
  #ui;
  #loading = 0; // the latest policy.get: older answers are dropped
  #typed = false; // the editor was typed in since the latest policy.get began: its answer leaves the text alone

  constructor({ conn, system, ui }) {
    this.#conn = conn;
    this.#system = system;
    this.#ui = ui;
    system.listen(() => this.#renderStored());
    const form = this.#form();
    form.elements.db.addEventListener('change', () => this.#load());
    form.elements.col.addEventListener('change', () => this.#load());
    form.elements.policy.addEventListener('input', () => { this.#typed = true; });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.#save();
    });
    byId('policy-remove').addEventListener('click', () => this.#remove());
  }

  async show() {
    this.#renderStored();
    try {
      const { databases } = await this.#conn.admin('db.list');
      const select = this.#form().elements.db;
      const current = select.value;
      fill(select, databases.map((d) => h('option', { value: d.db }, d.db)));
      select.value = databases.some((d) => d.db === current) ? current
        : databases.find((d) => !d.db.startsWith('$'))?.db ?? databases[0]?.db ?? '';
      this.#load();
    } catch (e) {
      this.#ui.failed(e);
    }
  }

  hide() {}

  #form() {
    return byId('policy-form');
  }

  /** Puts a database (and collection) into the form and reads its policy. */
  #edit(db, col) {
    const form = this.#form();
    form.elements.db.value = db;
    form.elements.col.value = col ?? '';
    this.#load();
  }

  #target() {
    const form = this.#form();
    const col = form.elements.col.value.trim();
    return { db: form.elements.db.value, ...(col ? { col } : {}) };
  }

  #renderStored() {
    const rows = this.#system.documents('policies').filter((d) => d.view).map((d) => {
      const slash = d.id.indexOf('/'); // database names hold no '/': DB or DB/COL
      return { db: slash < 0 ? d.id : d.id.slice(0, slash), col: slash < 0 ? null : d.id.slice(slash + 1), policy: d.view };
    });
    fill(byId('policies').tBodies[0], rows.map(({ db, col, policy }) => h('tr', { dataset: { policy: col ? `${db}/${col}` : db } },
      h('td', {}, h('button.link', { onclick: () => this.#edit(db, col), 'aria-label': `Edit the policy of ${col ? `${db}/${col}` : db}` },
        h('code', {}, db))),
      h('td', {}, col ? h('code', {}, preview(col, 40)) : h('span.hint', {}, 'whole database')),
      ACTIONS.map((a) => h('td', {}, principals(policy[a]))),
      h('td.hint', {}, policy.changedBy ?? ''))));
    fill(byId('policy-cols'), [...new Set(rows.map((r) => r.col).filter(Boolean))].map((c) => h('option', { value: c })));
  }

  async #load() {
    const loading = ++this.#loading;
    this.#typed = false;
    this.#problem('');
    const target = this.#target();
    if (!target.db) return;
    try {
      const answer = await this.#conn.admin('policy.get', target);
      if (loading !== this.#loading) return;
      if (!this.#typed) this.#form().elements.policy.value = format(answer.policy ?? answer.effective);
      byId('policy-source').textContent = answer.policy
        ? 'This policy is stored here and in force.'
        : `Nothing is stored here. Shown is the policy in force, from ${target.col ? 'the database' : "the server's default"}; saving stores it here.`;
      byId('policy-remove').disabled = !answer.policy;
    } catch (e) {
      if (loading === this.#loading) this.#problem(`${e.code}: ${e.message}`);
    }
  }

  async #save() {
    this.#problem('');
    let policy;
    try {
      policy = JSON.parse(this.#form().elements.policy.value);
    } catch (e) {
      this.#problem(`Not JSON: ${e.message}`);
      return;
    }
    const target = this.#target();
    try {
      await this.#conn.admin('policy.set', { ...target, policy });
      this.#ui.toast(`Saved the policy of ${target.col ? `${target.db}/${target.col}` : target.db}`);
      this.#load();
    } catch (e) {
      this.#problem(`${e.code}: ${e.message}`);
    }
  }

  async #remove() {
    const target = this.#target();
    const ok = await this.#ui.confirm('Remove this policy?', target.col
      ? "The collection falls back to its database's policy."
      : "The database falls back to the server's default policy.", 'Remove');
    if (!ok) return;
    try {
      await this.#conn.admin('policy.set', { ...target, policy: null });
      this.#ui.toast('Removed the policy');
      this.#load();
    } catch (e) {
      this.#problem(`${e.code}: ${e.message}`);
    }
  }

  /** Shows a refusal at the form (and marks the editor), or clears it with ''. */
  #problem(text) {
    byId('policy-problem').textContent = text;
    this.#form().elements.policy.setAttribute('aria-invalid', String(Boolean(text)));
  }
}

/** A policy as JSON with one action a line, as an admin would write it. */
function format(policy) {
  const lines = Object.entries(policy).map(([action, who]) => `  ${JSON.stringify(action)}: ${JSON.stringify(who)}`);
  return `{\n${lines.join(',\n')}\n}`;
}

function principals(list) {
  if (!list || list.length === 0) return h('span.hint', {}, 'nobody');
  return list.map((p) => h('span.tag', {}, p));
}
