// A JavaScript client (client-js) for JsInteropTest: writes its documents and one attribute of the
// shared document, waits until it holds `expect` documents and has nothing pending, then prints
// every document of the collection as one JSON line and exits.
// Usage: node js-client.mjs SDK_INDEX_URL WS_URL DB COL COUNT EXPECT (Node < 22 takes `ws` from client-js/node_modules)
const [sdk, url, db, colName, count, expect] = process.argv.slice(2);
const { createClient } = await import(sdk);

const client = createClient({ url, clientId: 'js-interop' });
await client.ready;
const col = client.db(db).col(colName);
for (let i = 0; i < Number(count); i++) await col.doc(`js-${i}`).set({ from: 'js', i });
await col.doc('shared').set({ fromJs: true, title: 'js title' });

const deadline = Date.now() + 20000;
while (!(col.all().length >= Number(expect) && client.status.pending === 0 && client.status.online
    && col.doc('shared').get()?.fromJava === true)) {
  if (Date.now() > deadline) {
    console.error(`timed out: ${col.all().length} docs, ${client.status.pending} pending`);
    process.exit(2);
  }
  await new Promise((r) => setTimeout(r, 20));
}
console.log(JSON.stringify(col.all()));
await client.close();
process.exit(0);
