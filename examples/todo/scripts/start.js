// `npm start [-- --port N] [-- --data DIR]`: serves this working copy of the app (public/ +
// client-js/src as sdk/) from the real Syncline server jar, with its data in target/dev-data (or
// DIR). The server's output is shown: its first start prints the admin password, only then.
// Ctrl-C stops it.

import path from 'node:path';
import { parseArgs } from 'node:util';
import { EXAMPLE_DIR, assembleWebroot, startServer } from './syncline.js';

const target = path.join(EXAMPLE_DIR, 'target');
const { values } = parseArgs({
  options: { port: { type: 'string', default: '8080' }, data: { type: 'string', default: path.join(target, 'dev-data') } },
});
const webroot = await assembleWebroot(path.join(target, 'webroot'));
const server = await startServer({
  dataDir: path.resolve(values.data), webroot, port: Number(values.port),
  onOutput: (text) => process.stdout.write(text),
});
// before the address is printed: whoever reads it may stop this at once
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    await server.stop();
    process.exit(0);
  });
}
console.log(`Todo app: ${server.url.replace('127.0.0.1', 'localhost')}/?list=default  (Ctrl-C stops)`);
console.log('Edits to public/ need a restart (the web root is a copy).');
