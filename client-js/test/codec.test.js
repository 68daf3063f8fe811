// The codec beyond the vectors: what the client sends, and how it reads odd server frames.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeServer, encodeClient } from '../src/index.js';

describe('codec', () => {
  it('encodes client messages with type first and without absent optional fields', () => {
    assert.equal(encodeClient({ type: 'sub', rid: 2, db: 'todo', since: null, epoch: null, cols: undefined }), '{"type":"sub","rid":2,"db":"todo"}');
    assert.equal(encodeClient({ type: 'hello', rid: 1, protocol: 1, clientId: 'c1' }), '{"type":"hello","rid":1,"protocol":1,"clientId":"c1"}');
    assert.equal(
      encodeClient({ type: 'push', rid: 3, db: 'd', deltas: [{ col: 'c', id: 'i', attr: 'a', value: null, ts: '1732212345678-0000-c1', mine: true, db: 'd' }] }),
      '{"type":"push","rid":3,"db":"d","deltas":[{"col":"c","id":"i","attr":"a","value":null,"ts":"1732212345678-0000-c1"}]}',
    );
    assert.throws(() => encodeClient({ type: 'push', db: 'd' }), /deltas/);
    assert.throws(() => encodeClient({ type: 'subscribe' }), /unknown/);
  });

  it('reads server messages into their known fields and ignores unknown fields and types', () => {
    assert.deepEqual(decodeServer('{"seq":5,"type":"synced","sid":"s1","later":{"x":1}}'), { type: 'synced', sid: 's1', seq: 5 });
    assert.equal(decodeServer('{"type":"gossip","rid":1}'), null);
    const ack = decodeServer('{"type":"ack","rid":4,"db":"d","seq":2,"results":["applied",{"error":"clock_skew","message":"m","serverTime":5,"extra":1},"later-outcome"]}');
    assert.deepEqual(ack.results, ['applied', { error: 'clock_skew', message: 'm', serverTime: 5 }, 'later-outcome']);
  });

  it('refuses frames that are not readable server messages', () => {
    for (const text of ['nope', '[]', '{"rid":1}', '{"type":"changes","sid":"s1","db":"d","seq":1,"deltas":[{"col":"c","id":"i","attr":"a","value":1,"ts":"bad"}]}',
      '{"type":"synced","sid":"s1"}', '{"type":"ack","db":"d","seq":1,"results":[7]}']) {
      assert.throws(() => decodeServer(text), undefined, text);
    }
  });
});
