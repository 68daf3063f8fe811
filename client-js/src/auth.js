// Who the client is signed in as. The token record kept in the store is
// {token, expiresAt, issuedAt, user}: the JWT, when it expires and when this client got it (both
// in server-clock ms), and the user {id, roles} it names. Pure functions: the core keeps the
// record, the session sends and renews it.

import { SynclineError } from './errors.js';

/** Lifetime taken for a stored token that does not say when it was issued: the server's default, 7 days. */
export const DEFAULT_TOKEN_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

/** The longest delay setTimeout can wait (a longer one fires at once). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A user as the server describes one, {id, roles}, frozen; null for anything else. */
export function readUser(user) {
  if (user === null || typeof user !== 'object' || typeof user.id !== 'string' || user.id === '') return null;
  const roles = Array.isArray(user.roles) ? user.roles.filter((r) => typeof r === 'string') : [];
  return Object.freeze({ id: user.id, roles: Object.freeze(roles) });
}

/** True when a and b are both null, or the same id with the same roles. */
export function sameUser(a, b) {
  if (a === null || b === null) return a === b;
  return a.id === b.id && a.roles.length === b.roles.length && a.roles.every((r, i) => r === b.roles[i]);
}

/** The record of a `token` answer received at `now` (server clock, ms); null if it names no user. */
export function tokenRecord(message, now) {
  const user = readUser(message.user);
  if (!user) return null;
  return Object.freeze({ token: message.token, expiresAt: message.expiresAt, issuedAt: now, user });
}

/** A record read back from a store, checked; null when it is not one. issuedAt may be null. */
export function readTokenRecord(record) {
  if (record === null || typeof record !== 'object') return null;
  const { token, expiresAt, issuedAt } = record;
  const user = readUser(record.user);
  if (typeof token !== 'string' || token === '' || !Number.isFinite(expiresAt) || !user) return null;
  return Object.freeze({ token, expiresAt, issuedAt: Number.isFinite(issuedAt) ? issuedAt : null, user });
}

/**
 * Milliseconds from `now` until the token is due for renewal: when less than half of its
 * lifetime (issuedAt to expiresAt) is left. Without issuedAt, the lifetime is taken to be
 * DEFAULT_TOKEN_LIFETIME_MS. 0 when it is due already.
 */
export function renewDelay(record, now) {
  const issuedAt = record.issuedAt ?? record.expiresAt - DEFAULT_TOKEN_LIFETIME_MS;
  const halfway = issuedAt + (record.expiresAt - issuedAt) / 2;
  return Math.max(0, Math.ceil(halfway - now));
}

/** The error a sign-in request rejects with when there is no connection to send it on. */
export function offlineError(message = 'not connected to the server') {
  return new SynclineError('offline', message);
}

/**
 * Why `username` or `password` can't be sent (the server's limits: 1 to 256 and 1 to 1024
 * characters), or null.
 */
export function credentialsProblem(username, password) {
  const chars = (s) => [...s].length;
  if (typeof username !== 'string' || username.length === 0 || chars(username) > 256) return 'username: 1 to 256 characters';
  if (typeof password !== 'string' || password.length === 0 || chars(password) > 1024) return 'password: 1 to 1024 characters';
  return null;
}
