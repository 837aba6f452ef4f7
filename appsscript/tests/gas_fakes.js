'use strict';
// Small fakes of the Apps Script services Code.js calls, and a loader that runs Code.js in a
// fresh vm context with them. Each fake records what it was asked to do.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const CODE_PATH = path.join(__dirname, '..', 'Code.js');

function fakeResponse(status, body) {
  const text = body === undefined || body === null ? ''
    : typeof body === 'string' ? body : JSON.stringify(body);
  return { getResponseCode: () => status, getContentText: () => text };
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
  const logs = [];
  const context = {
    SpreadsheetApp: { getUi: () => ui, getActiveSpreadsheet: () => spreadsheet },
    UrlFetchApp: {
      fetch(url, params) {
        requests.push({ url, params: JSON.parse(JSON.stringify(params)) });
        if (options.fetchThrows) throw new Error(options.fetchThrows);
        const next = typeof scripted === 'function' ? scripted(url, params) : scripted.shift();
        if (!next) throw new Error('test: no scripted response for ' + url);
        return next;
      }
    },
    ScriptApp: {
      getOAuthToken: () => 'access-token-abc',
      getIdentityToken: () => 'header.identity-token-xyz.signature',
      AuthMode: { NONE: 'NONE', LIMITED: 'LIMITED', FULL: 'FULL' }
    },
    HtmlService: { createHtmlOutputFromFile: (file) => new FakeHtmlOutput(file) },
    PropertiesService: {
      getScriptProperties: () => scriptProperties,
      getUserProperties: () => userProperties
    },
    Session: { getActiveUser: () => ({ getEmail: () => 'person@example.com' }) },
    Logger: { log: (...args) => logs.push(args.join(' ')) },
    console: { log: (...a) => logs.push(a.join(' ')), info: (...a) => logs.push(a.join(' ')),
      warn: (...a) => logs.push(a.join(' ')), error: (...a) => logs.push(a.join(' ')) }
  };
  vm.createContext(context);
  vm.runInContext(fs.readFileSync(CODE_PATH, 'utf8'), context, { filename: 'Code.js' });
  return { gs: context, spreadsheet, ui, requests, scriptProperties, userProperties, logs };
}

module.exports = { loadCode, fakeResponse };
