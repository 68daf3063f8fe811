// The Status tab: server.stats and db.list every two seconds while it is shown (PROTOCOL.md §12,
// §17.7), with the live rates charted, and the latest admin changes from $system's audit
// collection as they happen.

import { byId, bytes, count, duration, fill, h, preview, rate, sparkline, when } from './dom.js';

const REFRESH_MS = 2000;
const HISTORY = 60; // points in a chart: two minutes
const AUDIT_SHOWN = 12;

export class StatusPanel {
  #conn;
  #system;
  #ui;
  #timer = null;
  #shown = false;
  #history = { deltas: [], groups: [] };

  constructor({ conn, system, ui }) {
    this.#conn = conn;
    this.#system = system;
    this.#ui = ui;
    system.listen(() => this.#renderAudit());
  }

  show() {
    this.#shown = true;
    this.#refresh();
    this.#renderAudit();
  }

  hide() {
    this.#shown = false;
    clearTimeout(this.#timer);
  }

  async #refresh() {
    clearTimeout(this.#timer);
    try {
      const [stats, list] = await Promise.all([this.#conn.admin('server.stats'), this.#conn.admin('db.list')]);
      this.#remember(stats.rates);
      this.#render(stats, list.databases);
      byId('status-problem').textContent = '';
    } catch (e) {
      byId('status-problem').textContent = `Could not read the server's status: ${e.code}: ${e.message}`;
    }
    if (this.#shown) this.#timer = setTimeout(() => this.#refresh(), REFRESH_MS);
  }

  #remember(rates) {
    for (const [key, value] of [['deltas', rates.deltasPerSecond], ['groups', rates.groupsPerSecond]]) {
      const list = this.#history[key];
      list.push(value);
      if (list.length > HISTORY) list.shift();
    }
  }

  #render(stats, databases) {
    const { writes, rates, heap, replication } = stats;
    fill(byId('server-facts'), facts([
      ['Server id', h('code', {}, stats.serverId)],
      ['Version', stats.version],
      ['Data folder', h('code', {}, stats.dataPath)],
      ['Size on disk', bytes(stats.diskBytes)],
      ['Durability', stats.durability],
      ['Up for', duration(stats.uptimeMs)],
      ['Heap', `${bytes(heap.usedBytes)} of ${bytes(heap.maxBytes)}`],
    ]));
    fill(byId('load-facts'), facts([
      ['Connections', h('span', { 'data-stat': 'connections' }, count(stats.connections))],
      ['Subscriptions', count(stats.subscriptions)],
      ['Writes', h('span.live', {},
        h('span', { 'data-stat': 'deltas-per-second' }, `${rate(rates.deltasPerSecond)} deltas/s`),
        sparkline(this.#history.deltas))],
      ['Pushes', `${rate(rates.pushesPerSecond)}/s`],
      ['Commits (fsyncs)', h('span.live', {},
        h('span', { 'data-stat': 'groups-per-second' }, `${rate(rates.groupsPerSecond)}/s`),
        sparkline(this.#history.groups))],
      rates.bytesInPerSecond === undefined ? null
        : ['Network', `${bytes(rates.bytesInPerSecond)}/s in · ${bytes(rates.bytesOutPerSecond)}/s out`],
      ['Mean commit', `${(writes.meanCommitMicros / 1000).toFixed(2)} ms`],
      ['Write queue', `${count(writes.queuedDeltas)} deltas${writes.overloaded ? ` · ${count(writes.overloaded)} refused` : ''}`],
      ['Lagging subscribers', count(stats.fanout.lagging)],
    ]));
    fill(byId('replication-facts'), facts([
      ['Peers', count(stats.peers.length)],
      ['Caught up', replication.caughtUp ? 'yes' : 'not yet'],
      ['Write quorum', `${replication.writeQuorum} of ${replication.clusterSize}`],
    ]));
    this.#renderDatabases(databases);
    this.#renderPeers(stats.peers);
  }

  #renderDatabases(databases) {
    fill(byId('databases').tBodies[0], databases.map((d) => h('tr', { dataset: { db: d.db } },
      h('td', {}, h('code', {}, d.db)),
      h('td.num', {}, count(d.head)),
      h('td.num', {}, count(d.documents)),
      h('td.num', {}, count(d.attributes)),
      h('td.num', {}, count(d.tombstones)),
      h('td', {}, when(d.createdAt)),
      h('td.actions', {}, h('button.small', { 'aria-label': `Browse ${d.db}`, onclick: () => this.#ui.browse(d.db) }, 'Browse')))));
  }

  #renderPeers(peers) {
    if (peers.length === 0) {
      fill(byId('peers'), h('p.hint', {}, 'No peers: this server replicates with no other.'));
      return;
    }
    const rows = peers.map((p) => {
      const dbs = Object.entries(p.databases ?? {});
      const lag = Math.max(0, ...dbs.map(([, d]) => d.lagDeltas ?? 0));
      const lagMs = Math.max(0, ...dbs.map(([, d]) => d.lagMs ?? 0));
      // what the peer has not confirmed of this server's writes: seen here also while the link is down
      const unconfirmed = Math.max(0, ...dbs.map(([, d]) => d.unconfirmedDeltas ?? 0));
      return h('tr', {},
        h('td', {}, h('code', {}, p.peer ?? '—'), p.url ? h('div.hint', {}, p.url) : null),
        h('td', {}, p.direction),
        h('td', {}, h('span.state', { dataset: { state: p.state } }, p.state), p.lastError ? h('div.hint', {}, p.lastError) : null),
        h('td', {}, p.since ? when(p.since) : '—'),
        h('td.num', {}, count(lag)),
        h('td.num', {}, duration(lagMs)),
        h('td.num', {}, count(unconfirmed)),
        h('td', {}, dbs.map(([db, d]) => h('div.hint', {}, d.applied === undefined
          ? `${db}: confirmed ${count(d.confirmed ?? 0)}` // not offered back, or the link is down: only what the peer confirmed
          : `${db}: ${count(d.applied)} of ${count(d.peerHead ?? 0)}`,
          d.digest ? (d.digest.equal ? ' · digest equal' : ` · ${d.digest.differingBuckets} buckets differ`) : ''))));
    });
    fill(byId('peers'), h('table', { 'aria-label': 'Peers' },
      h('thead', {}, h('tr', {}, ['Peer', 'Link', 'State', 'Since', 'Lag (deltas)', 'Lag (time)', 'Behind here (deltas)', 'Databases'].map((t) => h('th', {}, t)))),
      h('tbody', {}, rows)));
  }

  #renderAudit() {
    const entries = this.#system.documents('audit')
      .map((d) => d.view?.entry)
      .filter((e) => e && typeof e === 'object')
      .sort((a, b) => b.at - a.at)
      .slice(0, AUDIT_SHOWN);
    fill(byId('audit'), entries.length === 0 ? h('li.hint', {}, 'Nothing yet.') : entries.map((e) => h('li', {},
      h('time', {}, when(e.at)), ' ', h('strong', {}, e.by ?? 'the server'), ' ', h('code', {}, e.op), ' ',
      preview(typeof e.target === 'string' ? e.target : JSON.stringify(e.target ?? ''), 60))));
  }
}

function facts(pairs) {
  return pairs.filter(Boolean).map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]);
}
