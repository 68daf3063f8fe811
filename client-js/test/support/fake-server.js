// An in-process stand-in for the server, for unit tests of what the client sends and how it
// reacts (timers, tokens, refusals) without the jar: a WebSocket class for createClient's
// `WebSocket` option whose sockets hand every client message to `server.handle`. The default
// handler answers like the real server for one empty-ish world of users and tokens; a test
// replaces `server.handle` (or wraps `server.standard`) to script other answers. The
// integration tests check the same behaviour against the real jar.

const LIMITS = {
  maxMessageBytes: 1048576, maxDeltasPerPush: 1000, maxIdLength: 256, maxColLength: 256,
  maxAttrLength: 256, maxValueBytes: 65536, maxClockSkewMs: 60000, maxSubscriptions: 100,
};

/**
 * @param {{users?: {[name: string]: {password: string, roles?: string[]}}, tokenLifetimeMs?: number}} options
 * @returns a server: {WebSocket, sockets, received, socket, sent(type), handle, standard, tokens}
 */
export function fakeServer({ users = {}, tokenLifetimeMs = 60_000 } = {}) {
  let issued = 0;
  let sids = 0;
  const server = {
    /** Every socket the client opened, in order; `socket` is the newest. */
    sockets: [],
    /** Every client message, with `on`: the index of its socket. */
    received: [],
    get socket() {
      return this.sockets.at(-1);
    },
    /** The client messages of one type (on one socket, when `on` is given). */
    sent(type, on) {
      return this.received.filter((m) => m.type === type && (on === undefined || m.on === on));
    },
    /** A token for `name` ({token, expiresAt, user}), as login would give. */
    issue(name, lifetimeMs = tokenLifetimeMs) {
      const expiresAt = Date.now() + lifetimeMs;
      issued += 1;
      return { token: `tok.${name}.${expiresAt}.${issued}`, expiresAt, user: { id: name, roles: users[name]?.roles ?? [] } };
    },
    /** The user a token names, or null when it is not one this server issued or it expired. */
    userOf(token) {
      const m = /^tok\.([^.]+)\.(\d+)\.\d+$/.exec(token ?? '');
      if (!m || !users[m[1]] || Number(m[2]) <= Date.now()) return null;
      return { id: m[1], roles: users[m[1]].roles ?? [] };
    },
    /** Answers like the real server: hello, login, signup, renew, sub (empty database), push (all applied), ping. */
    standard(m, socket) {
      switch (m.type) {
        case 'hello': {
          const user = m.token === undefined ? null : server.userOf(m.token);
          if (m.token !== undefined && !user) {
            socket.reply({ type: 'error', rid: m.rid, code: 'unauthenticated', message: 'invalid or expired token' });
            socket.serverClose(1008, 'unauthenticated');
            return;
          }
          socket.user = user;
          socket.reply({ type: 'welcome', rid: m.rid, protocol: 1, serverId: 'fake', time: Date.now(), user, limits: LIMITS });
          return;
        }
        case 'login':
        case 'signup': {
          const known = users[m.username];
          if (m.type === 'signup') users[m.username] = { password: m.password, roles: [] };
          else if (!known || known.password !== m.password) {
            socket.reply({ type: 'error', rid: m.rid, code: 'unauthenticated', message: 'wrong username or password' });
            return;
          }
          const t = server.issue(m.username);
          socket.user = t.user;
          socket.reply({ type: 'token', rid: m.rid, ...t });
          return;
        }
        case 'renew': {
          if (!socket.user) return socket.reply({ type: 'error', rid: m.rid, code: 'unauthenticated', message: 'not signed in' });
          socket.reply({ type: 'token', rid: m.rid, ...server.issue(socket.user.id) });
          return;
        }
        case 'sub': {
          const sid = `s${++sids}`;
          socket.reply({ type: 'subscribed', rid: m.rid, sid, db: m.db, head: 0, epoch: 'e1' });
          socket.reply({ type: 'synced', sid, seq: m.since ?? 0 });
          return;
        }
        case 'push':
          socket.reply({ type: 'ack', rid: m.rid, db: m.db, seq: 1, results: m.deltas.map(() => 'applied') });
          return;
        case 'ping':
          socket.reply({ type: 'pong', rid: m.rid });
          return;
        default:
          socket.reply({ type: 'error', rid: m.rid, code: 'bad_request', message: 'type: unknown message type' });
      }
    },
    handle: null,
  };
  server.handle = server.standard;

  class FakeWebSocket {
    #closed = false; // by either side: nothing more is delivered

    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.index = server.sockets.length;
      this.user = null;
      server.sockets.push(this);
      setTimeout(() => {
        if (this.#closed) return;
        this.readyState = 1;
        this.onopen?.();
      }, 0);
    }

    send(text) {
      if (this.readyState !== 1) throw new Error('not open');
      const message = JSON.parse(text);
      server.received.push({ ...message, on: this.index });
      setTimeout(() => {
        if (!this.#closed) server.handle(message, this);
      }, 0);
    }

    /** The server sends `message` (after what it sent before). */
    reply(message) {
      setTimeout(() => {
        if (!this.#closed) this.onmessage?.({ data: JSON.stringify(message) });
      }, 0);
    }

    /** The server closes the connection (after what it sent before). */
    serverClose(code, reason = '') {
      setTimeout(() => {
        if (this.#closed) return;
        this.#closed = true;
        this.readyState = 3;
        this.onclose?.({ code, reason });
      }, 0);
    }

    close() {
      this.#closed = true;
      this.readyState = 3;
    }
  }
  server.WebSocket = FakeWebSocket;
  return server;
}
