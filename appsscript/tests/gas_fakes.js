'use strict';
// Small fakes of the Apps Script services Code.js calls, and a loader that runs Code.js in a
// fresh vm context with them. Each fake records what it was asked to do, and is as strict as
// the real service where Google documents a limit (reference/google.md):
//  - UrlFetchApp enforces the manifest's urlFetchWhitelist once present (https:// prefixes
//    only), a fixed deadline (about 60 s: a scripted answer that takes longer throws), and the
//    daily quota of URL fetches (20,000 for a consumer account);
//  - ScriptApp.getIdentityToken() is null unless the manifest asks for `openid`;
//  - Utilities.base64DecodeWebSafe() refuses text that is not whole base64 (padding included);
//  - in AuthMode.NONE (onOpen before the add-on is authorised) properties, fetches and tokens
//    are refused;
//  - time-driven triggers of an add-on run at most hourly.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const CODE_PATH = path.join(__dirname, '..', 'Code.js');
const MANIFEST_PATH = path.join(__dirname, '..', 'appsscript.json');
const FETCH_DEADLINE_SECONDS = 60;
const DAILY_FETCHES = 20000;

/** A scripted answer; `seconds` is how long the backend takes to give it. */
function fakeResponse(status, body, seconds = 0.1) {
  const text = body === undefined || body === null ? ''
    : typeof body === 'string' ? body : JSON.stringify(body);
  return { getResponseCode: () => status, getContentText: () => text, seconds };
}

function checkAllowlist(manifest, url) {
  const allowlist = manifest.urlFetchWhitelist;
  if (allowlist === undefined) return;
  for (const prefix of allowlist) {
    if (!/^https:\/\/[^/]+\//.test(prefix)) {
      throw new Error(`Invalid urlFetchWhitelist entry "${prefix}": only https:// prefixes ending in a path are allowed.`);
    }
  }
  if (!allowlist.some((prefix) => url.startsWith(prefix))) {
    throw new Error(`Exception: Script has attempted to access a URL that is not in the allowlist (urlFetchWhitelist): ${url}`);
  }
}

class FakeRange {
  constructor(sheet, a1) { this.sheet = sheet; this.a1 = a1; }
  activate() { this.sheet.spreadsheet.activated.push({ sheetId: this.sheet.id, a1: this.a1 }); return this; }
}

class FakeSheet {
  constructor(spreadsheet, id, name) { this.spreadsheet = spreadsheet; this.id = id; this.name = name; }
  getSheetId() { return this.id; }
  getName() { return this.name; }
  getRange(a1) { return new FakeRange(this, a1); }
  activate() { this.spreadsheet.active = this; return this; }
}

class FakeSpreadsheet {
  constructor() {
    this.id = 'spreadsheet-123';
    this.sheets = [new FakeSheet(this, 0, 'Prompts'), new FakeSheet(this, 77, 'Other')];
    this.active = this.sheets[0];
    this.activated = [];
    this.toasts = [];
  }
  getId() { return this.id; }
  getName() { return 'My prompts'; }
  getActiveSheet() { return this.active; }
  getSheets() { return this.sheets.slice(); }
  setActiveSheet(sheet) { this.active = sheet; return sheet; }
  toast(message, title) { this.toasts.push({ message, title }); }
  addSheet(id, name) { const sheet = new FakeSheet(this, id, name); this.sheets.push(sheet); return sheet; }
}

class FakeMenu {
  constructor(ui, title) { this.ui = ui; this.title = title; this.items = []; }
  addItem(caption, fn) { this.items.push({ caption, fn }); return this; }
  addSeparator() { this.items.push({ separator: true }); return this; }
  addToUi() { this.ui.menus.push(this); }
}

class FakeTriggers {
  constructor() { this.triggers = []; }
  builder(handler) {
    const triggers = this.triggers;
    const timeBased = {
      everyHours(n) {
        if (!(n >= 1)) throw new Error('Add-on triggers run at most once an hour.');
        this.hours = n; return this;
      },
      everyMinutes() { throw new Error('Add-on triggers run at most once an hour.'); },
      create() {
        const trigger = { getHandlerFunction: () => handler, hours: this.hours };
        triggers.push(trigger);
        return trigger;
      }
    };
    return { timeBased: () => timeBased };
  }
}

class FakeUi {
  constructor() { this.menus = []; this.sidebars = []; this.alerts = []; }
  createMenu(title) { return new FakeMenu(this, title); }
  createAddonMenu() { return new FakeMenu(this, '(add-on)'); }
  showSidebar(html) { this.sidebars.push(html); }
  alert(message) { this.alerts.push(message); }
}

class FakeHtmlOutput {
  constructor(file) { this.file = file; this.title = null; this.width = null; }
  setTitle(title) { this.title = title; return this; }
  setWidth(width) { this.width = width; return this; }
}

class FakeProperties {
  constructor(initial) { this.values = Object.assign({}, initial); }
  getProperty(key) { return Object.prototype.hasOwnProperty.call(this.values, key) ? this.values[key] : null; }
  setProperty(key, value) { this.values[key] = String(value); return this; }
  deleteProperty(key) { delete this.values[key]; return this; }
}

/** An identity token shaped as Google's: base64url JSON parts without padding. */
function jwt(claims) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.signature`;
}

/** Loads Code.js into a new context. `responses` is a list of fakeResponse()s or a function. */
function loadCode(options = {}) {
  const spreadsheet = new FakeSpreadsheet();
  const ui = new FakeUi();
  const requests = [];
  const scripted = options.responses || [];
  const scriptProperties = new FakeProperties(
    'url' in options ? (options.url === null ? {} : { SHEETBATCH_URL: options.url })
      : { SHEETBATCH_URL: 'https://backend.test/' });
  const userProperties = new FakeProperties({});
  const manifest = Object.assign(JSON.parse(fs.readFileSync(MANIFEST_PATH, 'utf8')),
    { urlFetchWhitelist: ['https://backend.test/'] }, options.manifest || {});
  const quota = { left: options.fetchesLeft === undefined ? DAILY_FETCHES : options.fetchesLeft };
  const triggers = new FakeTriggers();
  const mode = { current: 'FULL' };
  const logs = [];
  /** What AuthMode.NONE forbids (Google: no properties, no fetch, no tokens in onOpen). */
  function authorised(service) {
    if (mode.current === 'NONE') {
      throw new Error(`You do not have permission to call ${service} in AuthMode.NONE.`);
    }
  }
  function properties(store, name) {
    return () => { authorised(name); return store; };
  }
  const context = {
    SpreadsheetApp: { getUi: () => ui, getActiveSpreadsheet: () => spreadsheet },
    UrlFetchApp: {
      fetch(url, params) {
        authorised('UrlFetchApp.fetch');
        checkAllowlist(manifest, url);
        if (quota.left <= 0) throw new Error('Exception: Service invoked too many times for one day: urlfetch.');
        quota.left--;
        requests.push({ url, params: JSON.parse(JSON.stringify(params)) });
        if (options.fetchThrows) throw new Error(options.fetchThrows);
        const next = typeof scripted === 'function' ? scripted(url, params) : scripted.shift();
        if (!next) throw new Error('test: no scripted response for ' + url);
        if (next.seconds > FETCH_DEADLINE_SECONDS) throw new Error('Exception: Timeout: ' + url);
        return next;
      }
    },
    ScriptApp: {
      getOAuthToken: () => { authorised('ScriptApp.getOAuthToken'); return 'access-token-abc'; },
      getIdentityToken: () => {
        authorised('ScriptApp.getIdentityToken');
        if (!manifest.oauthScopes.includes('openid')) return null;
        return options.identityClaims ? jwt(options.identityClaims) : 'header.identity-token-xyz.signature';
      },
      getProjectTriggers: () => triggers.triggers.slice(),
      newTrigger: (handler) => { authorised('ScriptApp.newTrigger'); return triggers.builder(handler); },
      deleteTrigger: (trigger) => { triggers.triggers = triggers.triggers.filter((t) => t !== trigger); },
      AuthMode: { NONE: 'NONE', LIMITED: 'LIMITED', FULL: 'FULL' }
    },
    HtmlService: { createHtmlOutputFromFile: (file) => new FakeHtmlOutput(file) },
    Utilities: {
      base64DecodeWebSafe(encoded) {
        if (!/^[A-Za-z0-9_-]*={0,2}$/.test(encoded) || encoded.length % 4) {
          throw new Error('Exception: Could not decode string.');
        }
        return [...Buffer.from(encoded, 'base64url')].map((byte) => (byte > 127 ? byte - 256 : byte));
      },
      newBlob: (bytes) => ({
        getDataAsString: () => Buffer.from(bytes.map((byte) => byte & 255)).toString('utf8')
      })
    },
    PropertiesService: {
      getScriptProperties: properties(scriptProperties, 'PropertiesService.getScriptProperties'),
      getUserProperties: properties(userProperties, 'PropertiesService.getUserProperties')
    },
    Session: { getActiveUser: () => ({ getEmail: () => 'person@example.com' }) },
    Logger: { log: (...args) => logs.push(args.join(' ')) },
    console: { log: (...a) => logs.push(a.join(' ')), info: (...a) => logs.push(a.join(' ')),
      warn: (...a) => logs.push(a.join(' ')), error: (...a) => logs.push(a.join(' ')) }
  };
  vm.createContext(context);
  vm.runInContext(fs.readFileSync(CODE_PATH, 'utf8'), context, { filename: 'Code.js' });
  /** Runs a simple trigger as Apps Script would: onOpen(e) in `authMode`. */
  function trigger(name, authMode) {
    mode.current = authMode;
    try {
      return context[name]({ authMode });
    } finally {
      mode.current = 'FULL';
    }
  }
  return { gs: context, spreadsheet, ui, requests, scriptProperties, userProperties, logs,
    manifest, quota, triggers, trigger };
}

module.exports = { loadCode, fakeResponse, FETCH_DEADLINE_SECONDS, DAILY_FETCHES };
