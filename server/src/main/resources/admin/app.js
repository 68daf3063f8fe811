// The admin page, served by the server at /admin/: sign-in, then four tabs (Status, Data, Users,
// Policies) over one connection to this server's /sync (connection.js). The page does everything
// through the protocol, as any client would: admin ops for the server's state, subscriptions for
// live data, pushes for edits. No framework and no build step: these files are served as they are.

import { AdminConnection } from './connection.js';
import { DataPanel } from './data.js';
import * as dialogs from './dialogs.js';
import { byId } from './dom.js';
import { DatabaseMirror } from './mirror.js';
import { PoliciesPanel } from './policies.js';
import { StatusPanel } from './status.js';
import { UsersPanel } from './users.js';

/** Why the last sign-in ended, kept across the reload that follows, to show at the sign-in form. */
const NOTICE_KEY = 'syncline-admin-notice';
const TABS = ['status', 'data', 'users', 'policies'];

const conn = new AdminConnection();

start();

async function start() {
  conn.on('status', ({ online }) => {
    const badge = byId('connection');
    badge.dataset.online = String(online);
    badge.textContent = online ? 'online' : 'reconnecting…';
  });
  // the server ended the sign-in (token expired, user disabled): start again from a clean page
  conn.on('lost', ({ message }) => {
    sessionStorage.setItem(NOTICE_KEY, `The server ended the sign-in: ${message}`);
    location.reload();
  });
  let notice = sessionStorage.getItem(NOTICE_KEY);
  sessionStorage.removeItem(NOTICE_KEY);
  let user = null;
  try {
    user = await conn.resume();
  } catch (e) {
    notice = `Could not reach the server: ${e.message}`;
  }
  if (user) openAdmin(user);
  else showSignIn(notice);
  document.documentElement.dataset.app = 'ready';
}

function showSignIn(notice) {
  byId('sign-in-view').hidden = false;
  const form = byId('sign-in');
  const problem = byId('sign-in-problem');
  problem.textContent = notice ?? '';
  form.elements.username.focus();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    problem.textContent = '';
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const user = await conn.login(form.elements.username.value.trim(), form.elements.password.value);
      form.reset();
      byId('sign-in-view').hidden = true;
      openAdmin(user);
    } catch (error) {
      problem.textContent = `${error.code}: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  });
}

function openAdmin(user) {
  byId('account-name').textContent = user.id;
  byId('account').hidden = false;
  byId('admin-view').hidden = false;
  byId('sign-out').addEventListener('click', () => {
    conn.close();
    location.reload();
  });
  if (!user.roles.includes('admin')) {
    dialogs.toast(`${user.id} is not an admin: only what a policy on $system allows will work.`, 'error');
  }

  // $system holds users, policies and the audit trail: the panels watch it to stay current
  const system = new DatabaseMirror('$system');
  conn.subscribe('$system', system.handlers);
  const ui = { ...dialogs, browse: (db) => select('data').open(db) };
  const panels = {
    status: new StatusPanel({ conn, system, ui }),
    data: new DataPanel({ conn, system, ui }),
    users: new UsersPanel({ conn, system, ui }),
    policies: new PoliciesPanel({ conn, system, ui }),
  };

  /** Shows one tab's panel (and returns it); the others stop their timers. */
  function select(name) {
    for (const tab of TABS) {
      const on = tab === name;
      byId(`tab-${tab}`).setAttribute('aria-selected', String(on));
      byId(`${tab}-panel`).hidden = !on;
      if (!on) panels[tab].hide();
    }
    panels[name].show();
    return panels[name];
  }

  for (const tab of TABS) byId(`tab-${tab}`).addEventListener('click', () => select(tab));
  select('status');
}
