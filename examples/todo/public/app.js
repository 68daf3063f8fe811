// TodoMVC on Syncline.
//
// The SDK owns the data: every todo is a document of database `todo`, in the collection named
// by the page's `?list=NAME`. The page keeps no copy of its own besides the last result of a
// live query. Flow: user event -> action (writes through the SDK) -> the SDK calls the live
// query back (for local and remote changes alike) -> render() draws the DOM from that result.
//
// Sign-in: the account line shows who is signed in (client.user, the SDK's 'auth' event). The
// sign-in form opens from its "Sign in" button, or by itself when the server refuses this page
// something (error 'forbidden' on database todo) or the sign-in (error 'unauthenticated').

import { createClient, indexedDbStore } from './sdk/index.js';

const DEFAULT_LIST = 'default';
const LIST_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

const FILTERS = {
  all: () => true,
  active: (todo) => !todo.completed,
  completed: (todo) => todo.completed === true,
};

// ---------------------------------------------------------------------------------------------
// Page state: the live query's last result plus what only this page knows.

const state = {
  todos: [],        // visible docs of the list, sorted by id (= creation order on every replica)
  filter: 'all',    // from location.hash
  editingId: null,  // id of the todo whose title is being edited
  added: new Map(), // id -> title of the latest items added here: one the server refuses is given back
};

const $ = (selector) => document.querySelector(selector);
const el = {
  newTodo: $('.new-todo'),
  main: $('.main'),
  toggleAll: $('.toggle-all'),
  list: $('.todo-list'),
  footer: $('.footer'),
  count: $('.todo-count'),
  filters: document.querySelectorAll('.filters a'),
  clearCompleted: $('.clear-completed'),
  status: $('#sync-status'),
  statusLabel: $('#sync-label'),
  unsaved: $('#unsaved'),
  pending: $('#pending-count'),
  pendingLabel: $('#pending-label'),
  allSaved: $('#all-saved'),
  listName: $('#list-name'),
  shareUrl: $('#share-url'),
  copyUrl: $('#copy-url'),
  listWarning: $('#list-warning'),
  fatal: $('#fatal'),
  signedIn: $('#signed-in'),
  userName: $('#user-name'),
  signOut: $('#sign-out'),
  showSignIn: $('#show-sign-in'),
  signInForm: $('#sign-in'),
  signInReason: $('#sign-in-reason'),
  username: $('#username'),
  password: $('#password'),
  signInSubmit: $('#sign-in-submit'),
  signInCancel: $('#sign-in-cancel'),
  signInError: $('#sign-in-error'),
};

// ---------------------------------------------------------------------------------------------
// Where we are: which list, which server.

/** The list named by `?list=`, or the default list (with a warning when the name is invalid). */
function listFromLocation() {
  const raw = new URLSearchParams(location.search).get('list');
  if (raw === null || raw === '') return { list: DEFAULT_LIST, warning: null };
  if (LIST_NAME.test(raw)) return { list: raw, warning: null };
  return {
    list: DEFAULT_LIST,
    warning: `“${raw}” is not a list name (1 to 64 of A–Z a–z 0–9 _ . -), so this is list “${DEFAULT_LIST}”.`,
  };
}

/** The WebSocket of the server that served this page. */
function syncUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/sync`;
}

function shareUrlOf(list) {
  return `${location.origin}${location.pathname}?list=${encodeURIComponent(list)}`;
}

function filterFromHash() {
  const name = location.hash.replace(/^#\/?/, '');
  return Object.hasOwn(FILTERS, name) ? name : 'all';
}

// ---------------------------------------------------------------------------------------------
// Rendering: DOM from state. Nothing here writes data.

function render() {
  const { todos } = state;
  if (state.editingId !== null && !todos.some((t) => t.id === state.editingId)) {
    state.editingId = null; // destroyed elsewhere while being edited
  }
  const completed = todos.filter(FILTERS.completed).length;
  const active = todos.length - completed;

  el.main.hidden = todos.length === 0;
  el.footer.hidden = todos.length === 0;
  el.toggleAll.checked = todos.length > 0 && active === 0;
  renderCount(active);
  renderFilters();
  el.clearCompleted.hidden = completed === 0;
  renderList(todos.filter(FILTERS[state.filter]));
}

function renderCount(active) {
  const strong = document.createElement('strong');
  strong.textContent = String(active);
  el.count.replaceChildren(strong, ` ${active === 1 ? 'item' : 'items'} left`);
}

function renderFilters() {
  for (const a of el.filters) {
    const name = a.getAttribute('href').replace(/^#\/?/, '') || 'all';
    a.classList.toggle('selected', name === state.filter);
  }
}

/** One <li> per todo, keyed by id, so an item being edited survives remote changes. */
const itemsById = new Map();

function renderList(shown) {
  const keep = new Set(shown.map((todo) => todo.id));
  for (const [id, li] of itemsById) {
    if (!keep.has(id)) {
      li.remove();
      itemsById.delete(id);
    }
  }
  let previous = null;
  for (const todo of shown) {
    let li = itemsById.get(todo.id);
    if (!li) {
      li = createItem(todo.id);
      itemsById.set(todo.id, li);
    }
    updateItem(li, todo);
    const expected = previous ? previous.nextElementSibling : el.list.firstElementChild;
    if (expected !== li) el.list.insertBefore(li, expected);
    previous = li;
  }
}

function createItem(id) {
  const li = document.createElement('li');
  li.dataset.id = id;
  li.innerHTML =
    '<div class="view">' +
    '<input class="toggle" type="checkbox" aria-label="Completed">' +
    '<label></label>' +
    '<button class="destroy" type="button" aria-label="Delete"></button>' +
    '</div>' +
    '<input class="edit" aria-label="Edit todo">';
  return li;
}

function updateItem(li, todo) {
  const completed = todo.completed === true;
  li.classList.toggle('completed', completed);
  li.classList.toggle('editing', todo.id === state.editingId);
  li.querySelector('.toggle').checked = completed;
  const label = li.querySelector('label');
  const title = typeof todo.title === 'string' ? todo.title : '';
  if (label.textContent !== title) label.textContent = title;
  // The edit field's value is set once when editing starts, never here: a remote change must
  // not overwrite what the user is typing.
}

/** Online or not, and how many todos of this list have changes the server has not recorded yet. */
function renderStatus(status, unsaved) {
  const online = Boolean(status && status.online);
  el.status.dataset.online = String(online);
  el.statusLabel.textContent = online ? 'online' : 'offline';
  el.pending.textContent = String(unsaved);
  el.pendingLabel.textContent = unsaved === 1 ? 'todo' : 'todos';
  el.unsaved.hidden = unsaved === 0;
  el.allSaved.hidden = unsaved !== 0;
}

/**
 * "1 todo is", "3 todos (2 in other lists) are": the todos with changes not on the server yet,
 * in every list, as signing out (or in as someone else) drops them all.
 */
function unsavedTodos(client, list) {
  const all = client.unsaved();
  const elsewhere = all.filter((doc) => doc.col !== list).length;
  return `${all.length === 1 ? '1 todo' : `${all.length} todos`}${elsewhere > 0 ? ` (${elsewhere} in other lists)` : ''} `
    + `${all.length === 1 ? 'is' : 'are'}`;
}

function renderListInfo(list, warning) {
  document.title = `${list} • Syncline TodoMVC`;
  el.listName.textContent = list;
  el.shareUrl.value = shareUrlOf(list);
  el.listWarning.hidden = warning === null;
  el.listWarning.textContent = warning ?? '';
}

/** The account line: the user's name and "Sign out", or "Sign in". */
function renderAccount(user) {
  el.signedIn.hidden = user === null;
  el.showSignIn.hidden = user !== null;
  el.userName.textContent = user ? user.id : '';
  if (user) el.signInForm.hidden = true;
}

/** Opens the sign-in form, saying why when `reason` is given. */
function openSignIn(reason = null) {
  el.signInReason.hidden = reason === null;
  el.signInReason.textContent = reason ?? '';
  el.signInError.hidden = true;
  if (el.signInForm.hidden) {
    el.signInForm.hidden = false;
    el.username.focus();
  }
}

function closeSignIn() {
  el.signInForm.hidden = true;
  el.password.value = '';
}

/** What to tell the user about a refused sign-in (a SynclineError). */
function signInProblem(error) {
  switch (error && error.code) {
    case 'unauthenticated': return 'Wrong username or password.';
    case 'rate_limited': return `Too many attempts. Try again in ${Math.ceil((error.retryAfterMs ?? 1000) / 1000)} s.`;
    case 'offline': return 'Not connected to the server. Try again when online.';
    default: return (error && error.message) || String(error);
  }
}

/**
 * Registers sw.js, which keeps the page for opening offline; <html data-offline="ready"> once it
 * is active. Browsers offer service workers in secure contexts only (https, localhost, 127.0.0.1):
 * elsewhere the app still works offline once open, but a reload needs the server.
 */
function keepForOffline() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('sw.js')
    .catch((error) => console.warn('The page is not kept for offline use:', error));
  navigator.serviceWorker.ready.then(() => { document.documentElement.dataset.offline = 'ready'; });
}

function showFatal(error) {
  console.error(error);
  el.fatal.textContent = `The app could not start: ${error && error.message ? error.message : error}`;
  el.fatal.hidden = false;
}

// ---------------------------------------------------------------------------------------------
// Actions: writes through the SDK. The live query brings the result back to render().

function makeActions(col) {
  const todo = (id) => col.doc(id);
  const each = (todos, write) => Promise.all(todos.map(write));
  return {
    add: (title) => {
      const doc = col.doc();
      state.added.set(doc.id, title);
      if (state.added.size > 20) state.added.delete(state.added.keys().next().value);
      return doc.set({ title, completed: false });
    },
    rename: (id, title) => todo(id).set({ title }),
    setCompleted: (id, completed) => todo(id).set({ completed }),
    remove: (id) => todo(id).destroy(),
    setAllCompleted: (completed) =>
      each(state.todos.filter((t) => (t.completed === true) !== completed),
        (t) => todo(t.id).set({ completed })),
    clearCompleted: () => each(state.todos.filter(FILTERS.completed), (t) => todo(t.id).destroy()),
  };
}

/** Runs an action; a failed write is logged (then `onError` runs), the UI shows what the SDK holds. */
function run(promise, onError = () => {}) {
  Promise.resolve(promise).catch((error) => {
    console.error('Syncline write failed:', error);
    onError(error);
  });
}

// ---------------------------------------------------------------------------------------------
// Events: DOM events to actions (and to the page-only state: filter, editing).

function bindEvents(actions) {
  const idOf = (node) => node.closest('li')?.dataset.id;

  el.newTodo.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' || event.isComposing) return;
    const title = el.newTodo.value.trim();
    if (!title) return;
    el.newTodo.value = '';
    run(actions.add(title), (error) => {
      // refused (e.g. too long): give it back. Not after a storage failure: the edit is applied and
      // will be pushed (the item is shown), so giving it back would make the user add it twice
      if (error?.code !== 'storage' && !el.newTodo.value) el.newTodo.value = title;
    });
  });

  el.toggleAll.addEventListener('change', () => run(actions.setAllCompleted(el.toggleAll.checked)));
  el.clearCompleted.addEventListener('click', () => run(actions.clearCompleted()));

  el.list.addEventListener('change', (event) => {
    if (event.target.matches('.toggle')) run(actions.setCompleted(idOf(event.target), event.target.checked));
  });
  el.list.addEventListener('click', (event) => {
    if (event.target.matches('.destroy')) run(actions.remove(idOf(event.target)));
  });
  el.list.addEventListener('dblclick', (event) => {
    if (event.target.matches('label')) startEditing(idOf(event.target));
  });
  el.list.addEventListener('keydown', (event) => {
    if (!event.target.matches('.edit') || event.isComposing) return;
    if (event.key === 'Enter') finishEditing(actions, idOf(event.target), event.target.value);
    else if (event.key === 'Escape') cancelEditing();
  });
  el.list.addEventListener('focusout', (event) => {
    if (event.target.matches('.edit')) finishEditing(actions, idOf(event.target), event.target.value);
  });

  window.addEventListener('hashchange', () => {
    state.filter = filterFromHash();
    render();
  });

  el.copyUrl.addEventListener('click', () => copyShareUrl());
}

function startEditing(id) {
  const todo = state.todos.find((t) => t.id === id);
  if (!todo) return;
  state.editingId = id;
  render();
  const input = itemsById.get(id).querySelector('.edit');
  input.value = typeof todo.title === 'string' ? todo.title : '';
  input.focus();
  input.setSelectionRange(input.value.length, input.value.length);
}

function finishEditing(actions, id, value) {
  if (state.editingId !== id) return; // already saved or cancelled (Escape, then blur)
  state.editingId = null;
  const title = value.trim();
  const todo = state.todos.find((t) => t.id === id);
  render();
  if (!todo) return;
  if (!title) run(actions.remove(id));
  else if (title !== todo.title) run(actions.rename(id, title));
}

function cancelEditing() {
  state.editingId = null;
  render();
}

async function copyShareUrl() {
  try {
    await navigator.clipboard.writeText(el.shareUrl.value);
    el.copyUrl.textContent = 'Copied';
  } catch {
    el.shareUrl.select(); // clipboard not allowed here: leave it selected for Ctrl+C
  }
}

/** The sign-in form and the account line, wired to client.login and client.logout. */
function bindAccount(client, list) {
  el.showSignIn.addEventListener('click', () => openSignIn());
  el.signInCancel.addEventListener('click', () => closeSignIn());
  el.signOut.addEventListener('click', () => {
    // logout drops this user's data here, changes not yet on the server too: ask first
    const unsaved = client.unsaved().length;
    if (unsaved > 0 && !window.confirm(`${unsavedTodos(client, list)} not saved on the server yet. `
      + `Signing out drops ${unsaved === 1 ? 'its' : 'their'} changes. Sign out anyway?`)) return;
    run(client.logout());
  });
  el.signInForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    // signing in as someone else drops the data here, changes not yet on the server too: ask first
    // (the form also opens after a sign-in expired, or when a change was refused)
    const name = el.username.value.trim();
    const unsaved = client.unsaved().length;
    if (unsaved > 0 && client.owner !== null && client.owner !== name
      && !window.confirm(`${unsavedTodos(client, list)} not saved on the server yet (changes of ${client.owner}). `
        + `Signing in as ${name} drops ${unsaved === 1 ? 'its' : 'their'} changes. Sign in anyway?`)) return;
    el.signInSubmit.disabled = true;
    el.signInError.hidden = true;
    try {
      await client.login(name, el.password.value);
      closeSignIn();
    } catch (error) {
      el.signInError.textContent = signInProblem(error);
      el.signInError.hidden = false;
    } finally {
      el.signInSubmit.disabled = false;
    }
  });
  client.on('auth', ({ user }) => renderAccount(user));
  client.on('error', (error) => {
    if (error.code === 'forbidden' && error.db === 'todo') {
      // error.col: a write was refused, and the SDK put the item back as the server has it
      const what = error.col === undefined ? 'see' : 'change';
      const lost = error.col === undefined ? '' : 'Your change was not saved. ';
      // signed in already: the user lacks the right, and may sign in as someone who has it
      openSignIn(lost + (client.user ? `${client.user.id} may not ${what} this list. Sign in as someone who may.`
        : `Sign in to ${what} this list.`));
      // an item added here and refused: its title goes back in the input, as for a refusal at once
      const title = error.attr === 'title' ? state.added.get(error.id) : undefined;
      if (title !== undefined && !el.newTodo.value) el.newTodo.value = title;
    } else if (error.code === 'unauthenticated') {
      openSignIn('Your sign-in has expired. Sign in again.');
    }
  });
  renderAccount(client.user);
}

// ---------------------------------------------------------------------------------------------
// Start.

async function main() {
  keepForOffline();
  const { list, warning } = listFromLocation();
  state.filter = filterFromHash();
  renderListInfo(list, warning);
  render();

  const client = createClient({ url: syncUrl(), store: indexedDbStore('todo-app') });
  // the SDK counts attributes (status.pending); the page counts todos, of this list
  const showStatus = () => renderStatus(client.status,
    client.unsaved().filter((doc) => doc.db === 'todo' && doc.col === list).length);
  for (const event of ['status', 'connect', 'disconnect']) client.on(event, showStatus);
  client.on('error', (error) => console.warn('Syncline:', error));
  bindAccount(client, list);
  showStatus();

  await client.ready;
  showStatus();
  renderAccount(client.user);
  const col = client.db('todo').col(list);
  bindEvents(makeActions(col));
  // an item deleted in one browser and ticked or renamed in another that was offline comes back
  // with only that newer attribute (last writer wins per attribute): no title, no item to show
  col.live((doc) => typeof doc.title === 'string', (docs) => {
    state.todos = docs;
    render();
  });
  window.syncline = { client, col }; // for poking at it from the console
  document.documentElement.dataset.app = 'ready';
}

main().catch(showFatal);
