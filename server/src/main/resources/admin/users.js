// The Users tab: user.list, and user.create / user.update (roles, password, disabled) /
// user.delete (PROTOCOL.md §12). The list is read again whenever $system's users change, so
// another admin's changes show up too.

import { byId, fill, h } from './dom.js';

export class UsersPanel {
  #conn;
  #ui;
  #visible = false;

  constructor({ conn, system, ui }) {
    this.#conn = conn;
    this.#ui = ui;
    system.listen((changed) => {
      if (this.#visible && (changed === null || [...changed].some((k) => k.startsWith('users\u0000')))) this.#load();
    });
    byId('new-user').addEventListener('submit', (e) => {
      e.preventDefault();
      this.#create(e.target);
    });
  }

  show() {
    this.#visible = true;
    this.#load();
  }

  hide() {
    this.#visible = false;
  }

  async #load() {
    try {
      const users = [];
      for (let after = null; ;) { // a page at a time: a big directory does not fit one message
        const page = await this.#conn.admin('user.list', after === null ? {} : { after });
        users.push(...page.users);
        if (!page.more || page.users.length === 0) break;
        after = page.users[page.users.length - 1].username;
      }
      this.#render(users);
    } catch (e) {
      this.#ui.failed(e);
    }
  }

  #render(users) {
    const me = this.#conn.user?.id;
    fill(byId('users').tBodies[0], users.map((u) => h('tr', { dataset: { user: u.username }, class: u.disabled ? 'muted' : null },
      h('th', {}, u.username, u.username === me ? h('span.hint', {}, ' (you)') : null),
      h('td', {}, u.roles.length ? u.roles.map((r) => h('span.tag', {}, r)) : h('span.hint', {}, 'none')),
      h('td', {}, u.disabled ? h('span.tag.off', {}, 'disabled') : 'active'),
      h('td.actions', {},
        h('button.small', { onclick: () => this.#editRoles(u), 'aria-label': `Roles of ${u.username}` }, 'Roles…'),
        h('button.small', { onclick: () => this.#resetPassword(u), 'aria-label': `Reset the password of ${u.username}` },
          'Reset password…'),
        h('button.small', {
          onclick: () => this.#update(u.username, { disabled: !u.disabled }, `${u.username} is ${u.disabled ? 'enabled' : 'disabled'}`),
          'aria-label': `${u.disabled ? 'Enable' : 'Disable'} ${u.username}`,
        }, u.disabled ? 'Enable' : 'Disable'),
        h('button.small.danger', { onclick: () => this.#delete(u), 'aria-label': `Delete ${u.username}` }, 'Delete…')))));
  }

  async #create(form) {
    const problem = byId('new-user-problem');
    problem.textContent = '';
    const { username, password, roles } = form.elements;
    try {
      await this.#conn.admin('user.create', { username: username.value.trim(), password: password.value, roles: roleList(roles.value) });
      this.#ui.toast(`Created ${username.value.trim()}`);
      form.reset();
      this.#load();
    } catch (e) {
      problem.textContent = `${e.code}: ${e.message}`;
    }
  }

  async #editRoles(u) {
    const values = await this.#ui.ask(`Roles of ${u.username}`, [
      { name: 'roles', label: 'Roles, separated by commas (admin may do everything)', value: u.roles.join(', '), optional: true },
    ], 'Save roles');
    if (values) await this.#update(u.username, { roles: roleList(values.roles) }, `Saved the roles of ${u.username}`);
  }

  async #resetPassword(u) {
    const values = await this.#ui.ask(`New password for ${u.username}`, [
      { name: 'password', label: 'At least 8 characters. Their sessions end.', type: 'password', autocomplete: 'new-password' },
    ], 'Set password');
    if (values) await this.#update(u.username, { password: values.password }, `Set a new password for ${u.username}`);
  }

  async #delete(u) {
    const ok = await this.#ui.confirm(`Delete ${u.username}?`,
      'Their connections close at once. The name is not given out again: documents and grants still name it.', 'Delete');
    if (!ok) return;
    try {
      await this.#conn.admin('user.delete', { username: u.username });
      this.#ui.toast(`Deleted ${u.username}`);
      this.#load();
    } catch (e) {
      this.#ui.failed(e);
    }
  }

  async #update(username, change, done) {
    try {
      await this.#conn.admin('user.update', { username, ...change });
      this.#ui.toast(done);
      this.#load();
    } catch (e) {
      this.#ui.failed(e);
    }
  }
}

/** "editor, ops  staff" → ['editor', 'ops', 'staff']. */
function roleList(text) {
  return text.split(/[\s,]+/).filter(Boolean);
}
