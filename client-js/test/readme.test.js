// The README's examples against what they claim to work with: the first example writes todos
// the todo example (examples/todo/public/app.js) shows, so it must use that app's database and
// attribute names.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const README = readFileSync(join(HERE, '..', 'README.md'), 'utf8');
const TODO_APP = readFileSync(join(HERE, '..', '..', 'examples', 'todo', 'public', 'app.js'), 'utf8');

/** The attribute names in every `set({…})` and `live({…}` / `find({…}` object literal of `code`. */
function attributes(code) {
  const names = new Set();
  for (const [, body] of code.matchAll(/\.(?:set|live|find)\(\{([^}]*)\}/g)) {
    for (const part of body.split(',')) {
      const name = part.split(':')[0].trim();
      if (/^[A-Za-z_$][\w$]*$/.test(name)) names.add(name);
    }
  }
  return names;
}

describe('README', () => {
  it('the first example writes todos with the todo example\'s database and attributes', () => {
    const example = /```js\n([\s\S]*?)```/.exec(README)[1];
    const app = attributes(TODO_APP);
    assert.ok(app.has('title') && app.has('completed'), `the todo app's attributes: ${[...app]}`);
    assert.match(example, /\.db\('todo'\)/);
    assert.match(TODO_APP, /\.db\('todo'\)/);
    const used = attributes(example);
    assert.ok(used.size > 0, 'the example writes attributes');
    for (const name of used) assert.ok(app.has(name), `the README example uses ${name}, which the todo app does not: ${[...app]}`);
  });
});

describe('Node versions', () => {
  const ROOT = join(HERE, '..', '..');
  const engine = (file) => Number(/^>=(\d+)$/.exec(JSON.parse(readFileSync(file, 'utf8')).engines.node)?.[1]);

  it('the READMEs state the Node version the packages\' engines require', () => {
    const sdk = engine(join(HERE, '..', 'package.json'));
    assert.equal(engine(join(ROOT, 'examples', 'todo', 'package.json')), sdk, 'the todo example and the SDK agree');
    const root = /Node (\d+)\+/.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    assert.ok(root, 'the README names a Node version');
    assert.equal(Number(root[1]), sdk, `the README says Node ${root[1]}+, package.json's engines say >=${sdk}`);
    assert.equal(Number(/Node needs version (\d+) or later/.exec(README)?.[1]), sdk, 'client-js/README.md');
  });

  it('this Node is one the engines allow (the SDK uses globalThis.crypto, which Node 18 lacks)', () => {
    const need = engine(join(HERE, '..', 'package.json'));
    assert.ok(Number(process.versions.node.split('.')[0]) >= need, `Node ${process.version} runs these tests; the SDK needs ${need}+`);
  });
});
