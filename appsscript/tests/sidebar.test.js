'use strict';
// Static checks of Sidebar.html: columns come from /api/config, and every server function the
// sidebar calls exists in Code.js.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { loadCode } = require('./gas_fakes');

const html = fs.readFileSync(path.join(__dirname, '..', 'Sidebar.html'), 'utf8');

/** The sidebar with HTML, CSS and JS comments removed (string contents kept). */
function withoutComments(text) {
  return text
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"\\])\/\/[^\n]*/g, '$1');
}
const code = withoutComments(html);
const script = (code.match(/<script>([\s\S]*?)<\/script>/) || [])[1] || '';

test('the sidebar never names a sheet column: the column list comes from /api/config', () => {
  for (const name of ['aspect_ratio', 'magic_prompt', 'num_images', 'seed_number',
    'negative_prompt', 'color_palette']) {
    assert.ok(!code.includes(name), `Sidebar.html hard-codes the column "${name}"`);
  }
  for (const name of ['prompt', 'visibility', 'model', 'rendering', 'style']) {
    const quoted = new RegExp(`['"\`]${name}['"\`]|>\\s*${name}\\s*<`);
    assert.doesNotMatch(code, quoted, `Sidebar.html hard-codes the column "${name}"`);
  }
});

test('the sidebar hard-codes no dropdown values either', () => {
  for (const value of ['16:9', '9:16', '2a', 'ultramarine', 'realistic', 'anime', 'turbo', 'quality', 'ideogram', 'openai']) {
    assert.ok(!new RegExp(`['"\`>\\s]${value.replace('.', '\\.')}['"\`<\\s,]`).test(code),
      `Sidebar.html hard-codes the value "${value}"`);
  }
});

test('the sidebar loads /api/config at start', () => {
  assert.match(script, /api\('GET', '\/api\/config'\)/);
});

test('every server function the sidebar runs exists in Code.js', () => {
  const { gs } = loadCode();
  const called = new Set();
  for (const match of script.matchAll(/\brun\('([A-Za-z_$][\w$]*)'/g)) called.add(match[1]);
  assert.ok(called.size >= 4, 'found the google.script.run calls');
  for (const name of called) {
    assert.equal(typeof gs[name], 'function', `Code.js has no function ${name}()`);
    assert.ok(!name.endsWith('_'), `${name} is private (trailing underscore) and cannot be called`);
  }
  for (const name of ['api', 'getContext', 'selectCell', 'insertTemplate', 'keepTokenFresh', 'notify']) {
    assert.ok(called.has(name), `the sidebar never calls ${name}()`);
  }
  // Every api() call carries the access token; a separate refresh would only spend quota.
  assert.ok(!called.has('refreshToken'), 'the sidebar spends no fetch on refreshToken()');
});

test('the sidebar is one self-contained file that works in the Apps Script sandbox', () => {
  assert.doesNotMatch(code, /<script[^>]+src=/i, 'no external scripts');
  const sheets = code.match(/<link[^>]+stylesheet[^>]*>/gi) || [];
  assert.deepEqual(sheets.map((tag) => /href="([^"]+)"/.exec(tag)[1]),
    ['https://ssl.gstatic.com/docs/script/css/add-ons1.css'], "only Google's add-on CSS package");
  assert.doesNotMatch(code, /<\?|\?>/, 'no template scriptlets, so the file is served as is');
  assert.match(code, /aria-live=/);
  assert.match(code, /role="progressbar"/);
  assert.match(code, /MAX_IN_FLIGHT = [1-9]\b/);
  new Function(script); // the script parses
});

test('statuses, counts, actions and what Fix repairs come from the backend, not from the sidebar', () => {
  for (const status of ['completed', 'completed_with_errors', 'failed', 'queued', 'running',
    'stopping', 'stopped']) {
    assert.ok(!script.includes(`'${status}'`), `Sidebar.html hard-codes the status "${status}"`);
  }
  assert.doesNotMatch(script, /\.status ===/, 'no decision on a status spelling');
  assert.doesNotMatch(script, /\['done', 'failed'/, 'count names come from /api/config');
  assert.match(script, /!batch\.finished/);
  for (const action of ['stop', 'resume', 'retry', 'download']) {
    assert.match(script, new RegExp(`allows\\(batch, '${action}'\\)`), `the ${action} button follows batch.actions`);
  }
  assert.match(script, /w\.fixable === true/);
});

test('why a batch paused (storage, the provider account) is the backend\'s own line', () => {
  assert.match(script, /\$\('paused'\)\.textContent = batch\.paused \|\| ''/);
  assert.match(code, /<p id="paused" class="hidden" role="status"><\/p>/);
});

test('the sidebar polls the compact progress (how often: polling.test.js)', () => {
  assert.match(script, /'\/progress'/);
  assert.doesNotMatch(script, /api\('GET', '\/api\/batches\/' \+ encodeURIComponent\(id\)\)/,
    'the full status (every row) is never polled');
});

test('no text smaller than 12 px (Google add-on style: 13 px body)', () => {
  const sizes = [...code.matchAll(/font-size:\s*(\d+)px/g)].map((m) => Number(m[1]));
  assert.ok(sizes.length > 0 && sizes.every((px) => px >= 12), String(sizes));
  assert.match(code, /font: 13px\/1\.45 Arial/);
});
