'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { loadCode, fakeResponse, DAILY_FETCHES } = require('./gas_fakes');
const { allowlistEntry, writeAllowlist } = require('../allowlist');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const plain = (value) => JSON.parse(JSON.stringify(value));

test('onOpen adds the add-on menu with its three items, even in AuthMode.NONE', () => {
  const { gs, ui, trigger } = loadCode();
  trigger('onOpen', 'NONE'); // the fakes refuse properties, fetches and tokens in this mode
  assert.equal(ui.menus.length, 1);
  assert.equal(ui.menus[0].title, '(add-on)', 'createAddonMenu, as add-ons must');
  assert.deepEqual(plain(ui.menus[0].items), [
    { caption: 'Open sidebar', fn: 'showSidebar' },
    { caption: 'Insert template', fn: 'insertTemplateFromMenu' },
    { caption: 'Validate sheet', fn: 'validateFromMenu' }
  ]);
  for (const item of ui.menus[0].items) {
    assert.equal(typeof gs[item.fn], 'function', item.fn + ' must be a global function');
  }
});

test('AuthMode.NONE forbids what Google forbids there', () => {
  const { gs, trigger } = loadCode();
  gs.onOpen = () => gs.api('GET', '/api/config');
  assert.throws(() => trigger('onOpen', 'NONE'), /AuthMode.NONE/);
});

test('onInstall builds the same menu', () => {
  const { ui, trigger } = loadCode();
  trigger('onInstall', 'FULL');
  assert.equal(ui.menus[0].title, '(add-on)');
  assert.equal(ui.menus[0].items.length, 3);
});

test('showSidebar serves Sidebar.html titled "Batch images"', () => {
  const { gs, ui } = loadCode();
  gs.showSidebar();
  assert.equal(ui.sidebars.length, 1);
  assert.equal(ui.sidebars[0].file, 'Sidebar');
  assert.equal(ui.sidebars[0].title, 'Batch images');
});

test('getContext names the spreadsheet, the active sheet and the user', () => {
  const { gs, spreadsheet } = loadCode();
  spreadsheet.active = spreadsheet.sheets[1];
  assert.deepEqual(plain(gs.getContext()), {
    spreadsheetId: 'spreadsheet-123', spreadsheetName: 'My prompts', sheetId: 77,
    sheetTitle: 'Other', email: 'person@example.com', action: null
  });
});

test('menu "Validate sheet" opens the sidebar with a one-shot validate request', () => {
  const { gs, ui } = loadCode();
  gs.validateFromMenu();
  assert.equal(ui.sidebars.length, 1);
  assert.equal(gs.getContext().action, 'validate');
  assert.equal(gs.getContext().action, null, 'the request is consumed once read');
});

test('api sends both tokens, JSON content type and a JSON body to SHEETBATCH_URL', () => {
  const { gs, requests } = loadCode({ responses: [fakeResponse(200, { valid: true, rows: 3 })] });
  const answer = gs.api('POST', '/api/validate', { spreadsheet_id: 's1', sheet_id: 0 });
  assert.deepEqual(plain(answer), { valid: true, rows: 3 });
  assert.equal(requests.length, 1);
  const { url, params } = requests[0];
  assert.equal(url, 'https://backend.test/api/validate', 'trailing slash of the property is dropped');
  assert.equal(params.method, 'post');
  assert.equal(params.muteHttpExceptions, true);
  assert.equal(params.contentType, 'application/json');
  assert.deepEqual(JSON.parse(params.payload), { spreadsheet_id: 's1', sheet_id: 0 });
  assert.equal(params.headers.Authorization, 'Bearer header.identity-token-xyz.signature');
  assert.equal(params.headers['X-Google-Access-Token'], 'access-token-abc');
});

test('a GET carries the tokens but no payload', () => {
  const { gs, requests } = loadCode({ responses: [fakeResponse(200, { columns: [] })] });
  gs.api('GET', '/api/config');
  const { url, params } = requests[0];
  assert.equal(url, 'https://backend.test/api/config');
  assert.equal(params.method, 'get');
  assert.equal(params.payload, undefined);
  assert.equal(params.headers.Authorization, 'Bearer header.identity-token-xyz.signature');
  assert.equal(params.headers['X-Google-Access-Token'], 'access-token-abc');
});

test('an empty 204 answer comes back as null', () => {
  const { gs } = loadCode({ responses: [fakeResponse(204, '')] });
  assert.equal(gs.api('POST', '/api/token', { access_token: 'x' }), null);
});

for (const [status, code, message] of [
  [400, 'bad_request', 'The request named no spreadsheet.'],
  [401, 'unauthenticated', 'Your Google sign-in has expired. Reopen the sidebar.'],
  [402, 'budget', 'This batch costs $4.00 but only $1.20 of your budget is left.'],
  [404, 'not_found', 'There is no batch with that id.'],
  [422, 'invalid', 'The sheet has 3 errors; fix them before generating.'],
  [429, 'rate_limited', 'Too many requests; wait a minute and try again.'],
  [500, 'internal', 'Something went wrong on the server.']
]) {
  test(`HTTP ${status} throws an Error with the backend's message`, () => {
    const { gs } = loadCode({ responses: [fakeResponse(status, { error: code, message })] });
    assert.throws(() => gs.api('POST', '/api/batches', { confirm: true }), (error) => {
      assert.equal(error.message, message);
      assert.equal(error.status, status);
      assert.equal(error.code, code);
      return true;
    });
  });
}

test('a non-JSON error page becomes a plain-English error naming the status', () => {
  const { gs } = loadCode({ responses: [fakeResponse(502, '<html>Bad gateway</html>')] });
  assert.throws(() => gs.api('GET', '/api/batches'), /answered with an error \(HTTP 502\)/);
});

test('a network failure names the server host and never the tokens', () => {
  const { gs, logs } = loadCode({ fetchThrows: 'DNS error: backend.test' });
  assert.throws(() => gs.api('GET', '/api/config'), (error) => {
    assert.match(error.message, /Could not reach the sheetbatch server \(backend\.test\)/);
    assert.doesNotMatch(error.message, /access-token-abc|identity-token-xyz/);
    return true;
  });
  assert.equal(logs.length, 0, 'nothing is logged');
});

test('missing SHEETBATCH_URL is a clear error and nothing is fetched', () => {
  const { gs, requests } = loadCode({ url: null });
  assert.throws(() => gs.api('GET', '/api/config'),
    /sheetbatch server address is not set.*Script Properties.*SHEETBATCH_URL/s);
  assert.equal(requests.length, 0);
});

test('a blank, non-https or http SHEETBATCH_URL is refused', () => {
  assert.throws(() => loadCode({ url: '   ' }).gs.api('GET', '/api/config'), /not set/);
  assert.throws(() => loadCode({ url: 'backend.test' }).gs.api('GET', '/api/config'),
    /must start with https:\/\//);
  assert.throws(() => loadCode({ url: 'http://backend.test' }).gs.api('GET', '/api/config'),
    /must start with https:\/\//);
});

test('a backend outside the allowlist cannot be reached, as in Apps Script', () => {
  const { gs, requests } = loadCode({ url: 'https://other.test', responses: () => fakeResponse(200, {}) });
  assert.throws(() => gs.api('GET', '/api/config'), /not in the allowlist/);
  assert.equal(requests.length, 0);
  const placeholder = loadCode({ manifest: { urlFetchWhitelist: ['https://sheetbatch.example.com/'] } });
  assert.throws(() => placeholder.gs.api('GET', '/api/config'), /not in the allowlist/);
});

test('allowlist.js writes the backend origin as the only https:// prefix', () => {
  assert.equal(allowlistEntry('https://sheetbatch.example.org/some/path'), 'https://sheetbatch.example.org/');
  assert.throws(() => allowlistEntry('http://sheetbatch.example.org'), /https:\/\/ addresses only/);
  assert.throws(() => allowlistEntry('sheetbatch'), /Not a URL/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manifest-'));
  const copy = path.join(dir, 'appsscript.json');
  fs.copyFileSync(path.join(__dirname, '..', 'appsscript.json'), copy);
  writeAllowlist('https://api.example.org:8443', copy);
  const manifest = JSON.parse(fs.readFileSync(copy, 'utf8'));
  assert.deepEqual(manifest.urlFetchWhitelist, ['https://api.example.org:8443/']);
  const { gs } = loadCode({ url: 'https://api.example.org:8443', manifest,
    responses: [fakeResponse(200, { ok: true })] });
  assert.deepEqual(plain(gs.api('GET', '/api/config')), { ok: true });
});

test('without the openid scope there is no identity token, and no "Bearer null" is sent', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'appsscript.json'), 'utf8'));
  manifest.oauthScopes = manifest.oauthScopes.filter((scope) => scope !== 'openid');
  const { gs, requests } = loadCode({ manifest, responses: () => fakeResponse(200, {}) });
  assert.throws(() => gs.api('GET', '/api/config'), /no identity token.*openid/s);
  assert.equal(requests.length, 0);
});

test('a backend slower than the fetch deadline is a failure, not a hang', () => {
  const { gs } = loadCode({ responses: [fakeResponse(200, {}, 61)] });
  assert.throws(() => gs.api('GET', '/api/config'), /Could not reach the sheetbatch server.*Timeout/s);
});

test('the daily fetch quota runs out as in Apps Script', () => {
  const { gs, quota } = loadCode({ fetchesLeft: 1, responses: () => fakeResponse(200, {}) });
  gs.api('GET', '/api/config');
  assert.throws(() => gs.api('GET', '/api/config'), /too many times for one day/);
  assert.equal(quota.left, 0);
  assert.equal(loadCode().quota.left, DAILY_FETCHES);
});

test('keepTokenFresh installs one hourly trigger; it retires once no batch runs', () => {
  const running = [fakeResponse(200, { batches: [{ id: 'b1', finished: false }] }), fakeResponse(204, '')];
  const { gs, triggers, requests } = loadCode({ responses: running.concat(
    [fakeResponse(200, { batches: [{ id: 'b1', finished: true }] })]) });
  assert.equal(gs.keepTokenFresh(), true);
  assert.equal(gs.keepTokenFresh(), false, 'never a second trigger');
  assert.equal(triggers.triggers.length, 1);
  assert.equal(triggers.triggers[0].getHandlerFunction(), 'hourlyRefresh');
  assert.equal(gs.hourlyRefresh(), true);
  assert.equal(requests[1].url, 'https://backend.test/api/token');
  assert.equal(gs.hourlyRefresh(), false);
  assert.equal(triggers.triggers.length, 0);
});

test('notify shows a toast in the sheet', () => {
  const { gs, spreadsheet } = loadCode();
  gs.notify('Batch complete: 8 images.', 'Batch images');
  assert.deepEqual(plain(spreadsheet.toasts), [{ message: 'Batch complete: 8 images.', title: 'Batch images' }]);
});

test('api only reaches /api/ paths with known methods', () => {
  const { gs, requests } = loadCode({ responses: () => fakeResponse(200, {}) });
  assert.throws(() => gs.api('GET', 'https://evil.test/x'), /Not a sheetbatch API path/);
  assert.throws(() => gs.api('GET', '/api/../admin'), /Not a sheetbatch API path/);
  assert.throws(() => gs.api('TRACE', '/api/config'), /Unsupported request method/);
  assert.equal(requests.length, 0);
});

test('selectCell activates that range on the active sheet', () => {
  const { gs, spreadsheet } = loadCode();
  const result = gs.selectCell('c7');
  assert.deepEqual(plain(spreadsheet.activated), [{ sheetId: 0, a1: 'C7' }]);
  assert.deepEqual(plain(result), { sheetId: 0, a1: 'C7' });
});

test('selectCell with a sheet id goes to that sheet first; whole rows work too', () => {
  const { gs, spreadsheet } = loadCode();
  gs.selectCell('12:12', 77);
  assert.equal(spreadsheet.active.getSheetId(), 77);
  assert.deepEqual(plain(spreadsheet.activated), [{ sheetId: 77, a1: '12:12' }]);
  gs.selectCell('B2', 999); // a deleted sheet: stay on the active one
  assert.deepEqual(plain(spreadsheet.activated[1]), { sheetId: 77, a1: 'B2' });
});

test('selectCell refuses something that is not a cell reference', () => {
  const { gs, spreadsheet } = loadCode();
  assert.throws(() => gs.selectCell('=HYPERLINK()'), /is not a cell reference/);
  assert.throws(() => gs.selectCell(null), /is not a cell reference/);
  assert.equal(spreadsheet.activated.length, 0);
});

test('showClientId logs the audience of the identity token, the backend\'s GOOGLE_CLIENT_ID', () => {
  // A payload whose base64url length is not a multiple of 4: the padding must be put back.
  for (const aud of ['1234-abc.apps.googleusercontent.com', '56-x.apps.googleusercontent.com']) {
    const { gs, logs, requests } = loadCode({ identityClaims: { aud, email: 'p@example.com', é: 'ü' } });
    assert.equal(gs.showClientId(), aud);
    assert.deepEqual(logs, [`GOOGLE_CLIENT_ID=${aud}`]);
    assert.equal(requests.length, 0, 'nothing fetched: it works before the backend does');
  }
});

test('refreshToken posts the current access token to /api/token', () => {
  const { gs, requests } = loadCode({ responses: [fakeResponse(204, '')] });
  assert.equal(gs.refreshToken(), true);
  assert.equal(requests[0].url, 'https://backend.test/api/token');
  assert.deepEqual(JSON.parse(requests[0].params.payload), { access_token: 'access-token-abc' });
});

test('insertTemplate asks for the full template and activates the new sheet', () => {
  const { gs, requests, spreadsheet } = loadCode({
    responses: (url) => {
      spreadsheet.addSheet(42, 'Batch template'); // the backend added it through the REST API
      return fakeResponse(200, { sheet: { id: 42, title: 'Batch template' } });
    }
  });
  const sheet = gs.insertTemplate();
  assert.deepEqual(plain(sheet), { id: 42, title: 'Batch template' });
  assert.deepEqual(JSON.parse(requests[0].params.payload), { spreadsheet_id: 'spreadsheet-123', full: true });
  assert.equal(spreadsheet.active.getSheetId(), 42);
});

test('menu "Insert template" shows a toast, or an alert with the backend message', () => {
  const ok = loadCode({ responses: [fakeResponse(200, { sheet: { id: 5, title: 'Template' } })] });
  ok.gs.insertTemplateFromMenu();
  assert.match(ok.spreadsheet.toasts[0].title, /Template/);
  const bad = loadCode({ responses: [fakeResponse(401, { error: 'unauthenticated', message: 'Sign in again.' })] });
  bad.gs.insertTemplateFromMenu();
  assert.deepEqual(bad.ui.alerts, ['Could not insert the template: Sign in again.']);
});

test('the manifest asks for the V8 runtime (its scopes: readme.test.js)', () => {
  const manifest = require('../appsscript.json');
  assert.equal(manifest.runtimeVersion, 'V8');
  // No placeholder allowlist: once present it is enforced (npm run allowlist writes the real one).
  assert.equal(manifest.urlFetchWhitelist, undefined);
});
