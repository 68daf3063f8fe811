// The wire format (PROTOCOL.md §2, §7, §8): one JSON object per text frame, discriminated by
// "type". Client messages are encoded with only the fields the protocol names; server messages
// are decoded into a normal form that keeps only the fields this SDK knows, so unknown fields
// are ignored and encoding the normal form again gives the same JSON value.

import { isTimestamp } from './hlc.js';

// For each client message type, its fields in wire order and whether each is required.
const CLIENT = {
  hello: [['protocol', true], ['clientId', true], ['token', false]],
  login: [['username', true], ['password', true]],
  signup: [['username', true], ['password', true]],
  renew: [],
  sub: [['db', true], ['cols', false], ['since', false], ['epoch', false]],
  unsub: [['sid', true]],
  push: [['db', true], ['deltas', true], ['w', false]],
  admin: [['op', true], ['args', false]],
  ping: [],
};

const DELTA_FIELDS = ['col', 'id', 'attr', 'value', 'ts'];

/**
 * Encodes a client message as frame text. Optional fields that are null or undefined are left
 * out; push deltas carry exactly {col, id, attr, value, ts}.
 */
export function encodeClient(message) {
  const fields = CLIENT[message.type];
  if (!fields) throw new TypeError(`unknown client message type ${message.type}`);
  const out = { type: message.type };
  if (message.rid != null) out.rid = message.rid;
  for (const [name, required] of fields) {
    const v = message[name];
    if (v == null) {
      if (required) throw new TypeError(`${message.type}.${name} is required`);
      continue;
    }
    out[name] = name === 'deltas' ? v.map(pickDelta) : v;
  }
  return JSON.stringify(out);
}

function pickDelta(d) {
  const out = {};
  for (const k of DELTA_FIELDS) out[k] = d[k];
  return out;
}

// Server message fields: [name, kind, required]. Kinds check the JSON type loosely; a value of
// the wrong type makes the message unreadable.
const STR = 'string', INT = 'integer', OBJ = 'object', ANY = 'any', NUM = 'number';
const SERVER = {
  welcome: [['protocol', INT, true], ['serverId', STR, true], ['time', INT, true], ['user', 'user', true], ['limits', OBJ, true]],
  token: [['token', STR, true], ['expiresAt', INT, true], ['user', 'user', true]],
  subscribed: [['sid', STR, true], ['db', STR, true], ['head', INT, true], ['epoch', STR, false]],
  changes: [['sid', STR, true], ['db', STR, true], ['seq', INT, true], ['deltas', 'deltas', true]],
  synced: [['sid', STR, true], ['seq', INT, true]],
  reset: [['sid', STR, true], ['epoch', STR, false]],
  ack: [['db', STR, true], ['seq', INT, true], ['results', 'results', true]],
  result: [['data', ANY, true]],
  ok: [],
  pong: [],
  error: [['code', STR, true], ['message', STR, true], ['retryAfterMs', NUM, false], ['serverTime', INT, false],
    ['sid', STR, false], ['index', INT, false]],
};

const RESULT_ERROR_FIELDS = [['error', STR, true], ['message', STR, true], ['serverTime', INT, false],
  ['retryAfterMs', NUM, false], ['servers', INT, false]];

export class ProtocolError extends Error {}

/**
 * Decodes a server frame into its normal form: {type, rid?, …known fields}. Returns null for a
 * message type this SDK does not know (a later protocol may add some); throws ProtocolError for
 * a frame that is not a readable server message.
 */
export function decodeServer(text) {
  let raw;
  try {
    raw = typeof text === 'string' ? JSON.parse(text) : text;
  } catch {
    throw new ProtocolError('not valid JSON');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ProtocolError('not a JSON object');
  if (typeof raw.type !== 'string') throw new ProtocolError('type: required string');
  const fields = SERVER[raw.type];
  if (!fields) return null;
  const out = { type: raw.type };
  if (raw.rid != null) {
    if (typeof raw.rid !== 'string' && !Number.isInteger(raw.rid)) throw new ProtocolError('rid: string or integer');
    out.rid = raw.rid;
  }
  copyFields(raw, out, fields, raw.type);
  return out;
}

function copyFields(raw, out, fields, where) {
  for (const [name, kind, required] of fields) {
    const present = Object.hasOwn(raw, name) && (raw[name] !== null || kind === 'user' || kind === ANY);
    if (!present) {
      if (required) throw new ProtocolError(`${where}.${name}: required`);
      continue;
    }
    out[name] = read(raw[name], kind, `${where}.${name}`);
  }
}

function read(v, kind, where) {
  switch (kind) {
    case STR: if (typeof v === 'string') return v; break;
    case INT: if (Number.isInteger(v)) return v; break;
    case NUM: if (typeof v === 'number') return v; break;
    case OBJ: if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v; break;
    case ANY: return v;
    case 'user':
      if (v === null) return null;
      if (typeof v === 'object' && !Array.isArray(v)) return v;
      break;
    case 'deltas':
      if (Array.isArray(v)) return v.map((d, i) => readDelta(d, `${where}[${i}]`));
      break;
    case 'results':
      if (Array.isArray(v)) return v.map((r, i) => readResult(r, `${where}[${i}]`));
      break;
  }
  throw new ProtocolError(`${where}: unexpected ${v === null ? 'null' : typeof v}`);
}

function readDelta(d, where) {
  if (d === null || typeof d !== 'object' || Array.isArray(d)) throw new ProtocolError(`${where}: not an object`);
  for (const k of ['col', 'id', 'attr']) {
    if (typeof d[k] !== 'string') throw new ProtocolError(`${where}.${k}: required string`);
  }
  if (!Object.hasOwn(d, 'value')) throw new ProtocolError(`${where}.value: required`);
  if (!isTimestamp(d.ts)) throw new ProtocolError(`${where}.ts: not a timestamp`);
  const out = { col: d.col, id: d.id, attr: d.attr, value: d.value, ts: d.ts };
  if (Number.isInteger(d.seq)) out.seq = d.seq;
  // the server keeps none of the values this $deleted hides (PROTOCOL.md §6)
  if (d.valuesPurged === true && d.attr === '$deleted' && d.value === true) out.valuesPurged = true;
  return out;
}

function readResult(r, where) {
  if (typeof r === 'string') return r; // 'applied' | 'superseded' | 'duplicate', or a later outcome
  if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new ProtocolError(`${where}: not a result`);
  const out = {};
  copyFields(r, out, RESULT_ERROR_FIELDS, where);
  return out;
}

/** Encodes a decoded server message again (used to check the codec against the vectors). */
export function encodeServer(message) {
  return JSON.stringify(message);
}
