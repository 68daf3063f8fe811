// How the panels speak to the person: short notes that fade (toasts), and one modal dialog to
// confirm a step that destroys something or to ask for a value or two. A refusal from the server
// is shown with its code and message as the server wrote them.

import { byId, fill, h } from './dom.js';

const TOAST_MS = 4000;

/** A note at the corner of the page; 'error' notes stay twice as long. */
export function toast(text, kind = 'info') {
  const note = h(`p.toast.${kind}`, {}, text);
  byId('toasts').append(note);
  setTimeout(() => note.remove(), kind === 'error' ? 2 * TOAST_MS : TOAST_MS);
}

/** Shows a failed request: "forbidden: …", "offline: not connected". */
export function failed(error) {
  toast(`${error.code ?? 'error'}: ${error.message}`, 'error');
}

/** Resolves true when the person confirms with the `ok` button. */
export function confirm(title, text, ok) {
  return open(title, [h('p', {}, text)], ok);
}

/**
 * Asks for fields [{name, label, value?, type?, autocomplete?, optional?}]; resolves to
 * {name: value} when confirmed, or null.
 */
export async function ask(title, fields, ok) {
  const inputs = fields.map((f) => h('input', {
    name: f.name, type: f.type ?? 'text', value: f.value ?? '', autocomplete: f.autocomplete ?? 'off', required: !f.optional,
  }));
  const confirmed = await open(title, fields.map((f, i) => h('label', {}, f.label, inputs[i])), ok);
  return confirmed ? Object.fromEntries(fields.map((f, i) => [f.name, inputs[i].value])) : null;
}

function open(title, body, ok) {
  const dialog = byId('dialog');
  byId('dialog-title').textContent = title;
  fill(byId('dialog-body'), body);
  byId('dialog-ok').textContent = ok;
  byId('dialog-cancel').onclick = () => dialog.close('cancel');
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}
