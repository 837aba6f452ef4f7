'use strict';
// The guide and the manifest tell the same story: the scopes are listed once, in
// appsscript/README.md (each with its reason), and they are exactly appsscript.json's.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const guide = fs.readFileSync(path.join(ROOT, 'appsscript', 'README.md'), 'utf8');
const mainReadme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'appsscript', 'appsscript.json'), 'utf8'));

/** The rows of the first table under the heading `title` (any level), as arrays of cells. */
function tableUnder(markdown, title) {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => new RegExp(`^#+\\s+${title}\\s*$`).test(line));
  assert.ok(start >= 0, `appsscript/README.md has no "${title}" heading`);
  const rows = [];
  for (const line of lines.slice(start + 1)) {
    if (/^#+\s/.test(line)) break;
    if (!line.startsWith('|')) {
      if (rows.length) break;
      continue;
    }
    rows.push(line.slice(1, line.trimEnd().endsWith('|') ? line.trimEnd().length - 1 : undefined)
      .split('|').map((cell) => cell.trim()));
  }
  return rows.slice(2); // past the header and its --- line
}

function listedScopes() {
  return tableUnder(guide, 'Scopes').map(([scope, reason]) => {
    const name = /^`([^`]+)`$/.exec(scope);
    assert.ok(name, `a scope cell is one scope in backticks: ${scope}`);
    assert.ok(reason && reason.length > 20, `${name[1]} has its reason`);
    return name[1];
  });
}

test("appsscript/README.md's scope list is exactly appsscript.json's oauthScopes", () => {
  const listed = listedScopes();
  assert.equal(new Set(listed).size, listed.length, 'each scope listed once');
  assert.deepEqual([...listed].sort(), [...manifest.oauthScopes].sort());
});

test('the main README names no scope itself: it links to the list', () => {
  assert.match(mainReadme, /\(appsscript\/README\.md#scopes\)/);
  const names = manifest.oauthScopes.concat('https://www.googleapis.com/auth/spreadsheets.currentonly')
    .map((scope) => scope.replace('https://www.googleapis.com/auth/', ''));
  for (const name of names) {
    assert.ok(!mainReadme.includes('`' + name + '`'), `README.md lists the scope ${name}`);
  }
});
