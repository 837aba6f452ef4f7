/**
 * sheetbatch — the Google Sheets side of bulk image generation.
 *
 * The sidebar (Sidebar.html) does all the talking through google.script.run; the functions here
 * are thin: they know the spreadsheet the person is in, and they carry calls to the sheetbatch
 * backend with two Google tokens:
 *   Authorization: Bearer <identity token>   who is calling (the backend verifies it)
 *   X-Google-Access-Token: <access token>    lets the backend read and mark this spreadsheet
 * The backend URL comes from the Script Property SHEETBATCH_URL (see README.md); it must be
 * https:// and covered by the manifest's urlFetchWhitelist (`npm run allowlist -- <url>` writes
 * it). Nothing here logs a token, and nothing here knows the sheet's columns or statuses: they
 * come from GET /api/config.
 *
 * Scopes: appsscript.json's, each with its reason in README.md (Scopes).
 */

var MENU_TITLE = 'Batch images';
var SIDEBAR_TITLE = 'Batch images';
var URL_PROPERTY = 'SHEETBATCH_URL';
var PENDING_PROPERTY = 'SHEETBATCH_PENDING_ACTION';
var REFRESH_HANDLER = 'hourlyRefresh';
var ALLOWED_METHODS = { GET: true, POST: true, PUT: true, PATCH: true, DELETE: true };

/**
 * Adds the menu under Extensions (createAddonMenu: right for an add-on, and it works in a bound
 * script too). Runs in AuthMode.NONE too, so it touches nothing else: no properties, no fetch.
 */
function onOpen(e) {
  SpreadsheetApp.getUi().createAddonMenu()
    .addItem('Open sidebar', 'showSidebar')
    .addItem('Insert template', 'insertTemplateFromMenu')
    .addItem('Validate sheet', 'validateFromMenu')
    .addToUi();
}

function onInstall(e) {
  onOpen(e);
}

function showSidebar() {
  var html = HtmlService.createHtmlOutputFromFile('Sidebar')
    .setTitle(SIDEBAR_TITLE);
  SpreadsheetApp.getUi().showSidebar(html);
}

/** Menu "Validate sheet": open the sidebar and ask it to validate as soon as it has loaded. */
function validateFromMenu() {
  PropertiesService.getUserProperties().setProperty(PENDING_PROPERTY, 'validate');
  showSidebar();
}

/** Menu "Insert template": add the full template sheet and go to it. */
function insertTemplateFromMenu() {
  var spreadsheet = SpreadsheetApp.getActiveSpreadsheet();
  try {
    var sheet = insertTemplate();
    spreadsheet.toast('Fill in one row per prompt, then choose Validate sheet in this add-on\'s menu (Extensions).',
      'Template "' + sheet.title + '" added', 8);
  } catch (error) {
    SpreadsheetApp.getUi().alert('Could not insert the template: ' + error.message);
  }
}

/**
 * What the sidebar needs to know about where the person is. `action` is a one-shot request from
 * the menu (e.g. "validate"), cleared once read.
 */
function getContext() {
  var spreadsheet = SpreadsheetApp.getActiveSpreadsheet();
  var sheet = spreadsheet.getActiveSheet();
  var properties = PropertiesService.getUserProperties();
  var action = properties.getProperty(PENDING_PROPERTY);
  if (action) {
    properties.deleteProperty(PENDING_PROPERTY);
  }
  return {
    spreadsheetId: spreadsheet.getId(),
    spreadsheetName: spreadsheet.getName(),
    sheetId: sheet.getSheetId(),
    sheetTitle: sheet.getName(),
    email: Session.getActiveUser().getEmail() || '',
    action: action || null
  };
}

/** The backend's base URL, without a trailing slash; a clear error when it is not set. */
function backendUrl_() {
  var url = PropertiesService.getScriptProperties().getProperty(URL_PROPERTY);
  url = url ? String(url).trim() : '';
  if (!url) {
    throw new Error('The sheetbatch server address is not set. In the Apps Script editor open ' +
      'Project Settings → Script Properties and add ' + URL_PROPERTY +
      ' (for example https://sheetbatch.example.com).');
  }
  if (!/^https:\/\//i.test(url)) {
    // The manifest's allowlist (urlFetchWhitelist) takes https:// prefixes only.
    throw new Error(URL_PROPERTY + ' must start with https:// (it is "' + url + '").');
  }
  return url.replace(/\/+$/, '');
}

function authHeaders_() {
  return {
    Authorization: 'Bearer ' + identityToken_(),
    'X-Google-Access-Token': ScriptApp.getOAuthToken()
  };
}

function identityToken_() {
  var identity = ScriptApp.getIdentityToken();
  if (!identity) {
    // Apps Script returns null without the openid scope: never send "Bearer null".
    throw new Error('Google gave this add-on no identity token: its manifest (appsscript.json) ' +
      'must ask for the "openid" and "userinfo.email" scopes. Ask whoever installed it.');
  }
  return identity;
}

/**
 * Setup helper, run from the Apps Script editor (choose it in the toolbar's function list, then
 * Run): logs the OAuth client id that this script's identity tokens name as their audience —
 * the value the backend's GOOGLE_CLIENT_ID must list. It belongs to the script's Cloud project,
 * so it changes when the script moves to another project. Fetches nothing.
 */
function showClientId() {
  var payload = identityToken_().split('.')[1] || '';
  while (payload.length % 4) payload += '='; // JWTs drop the base64 padding
  var claims = JSON.parse(Utilities.newBlob(Utilities.base64DecodeWebSafe(payload)).getDataAsString());
  Logger.log('GOOGLE_CLIENT_ID=' + claims.aud);
  return claims.aud;
}

/**
 * Calls the backend: api('POST', '/api/validate', {...}). Returns the parsed JSON (null for an
 * empty answer). A non-2xx answer throws an Error carrying the backend's plain-English message,
 * which google.script.run hands to the sidebar's failure handler.
 */
function api(method, path, body) {
  method = String(method || 'GET').toUpperCase();
  if (!ALLOWED_METHODS[method]) {
    throw new Error('Unsupported request method: ' + method);
  }
  path = String(path || '');
  if (path.indexOf('/api/') !== 0 || path.indexOf('..') !== -1 || /[\s#]/.test(path)) {
    throw new Error('Not a sheetbatch API path: ' + path);
  }
  var options = { method: method.toLowerCase(), headers: authHeaders_(), muteHttpExceptions: true,
    followRedirects: false };
  if (body !== undefined && body !== null && method !== 'GET') {
    options.contentType = 'application/json';
    options.payload = JSON.stringify(body);
  }
  var base = backendUrl_();
  var response;
  try {
    response = UrlFetchApp.fetch(base + path, options);
  } catch (error) {
    throw new Error('Could not reach the sheetbatch server (' + hostOf_(base) + '). ' +
      'Check SHEETBATCH_URL and that the server is running. Details: ' + error.message);
  }
  return parseResponse_(response);
}

function parseResponse_(response) {
  var status = response.getResponseCode();
  var text = response.getContentText() || '';
  var data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (ignored) {
      data = null;
    }
  }
  if (status >= 200 && status < 300) {
    if (text && data === null) {
      throw new Error('The sheetbatch server sent an answer that is not JSON (HTTP ' + status + ').');
    }
    return data;
  }
  var message = data && (data.message || data.error);
  var error = new Error(message ? String(message)
    : 'The sheetbatch server answered with an error (HTTP ' + status + '). Please try again.');
  error.status = status;
  error.code = data && data.error ? String(data.error) : null;
  throw error;
}

function hostOf_(url) {
  var match = /^https?:\/\/([^\/?#]+)/i.exec(url);
  return match ? match[1] : url;
}

/**
 * Jumps to a cell named in a problem report ("C7"), on the sheet it came from when sheetId is
 * given and still exists, otherwise on the active sheet. Also accepts whole rows ("7:7").
 */
function selectCell(a1, sheetId) {
  a1 = String(a1 || '').trim().toUpperCase();
  if (!/^([A-Z]{1,3}[0-9]{1,7}(:[A-Z]{1,3}[0-9]{1,7})?|[0-9]{1,7}:[0-9]{1,7})$/.test(a1)) {
    throw new Error('"' + a1 + '" is not a cell reference.');
  }
  var spreadsheet = SpreadsheetApp.getActiveSpreadsheet();
  var sheet = null;
  if (sheetId !== undefined && sheetId !== null && sheetId !== '') {
    sheet = findSheetById_(spreadsheet, Number(sheetId));
  }
  if (!sheet) {
    sheet = spreadsheet.getActiveSheet();
  } else {
    sheet.activate();
  }
  sheet.getRange(a1).activate();
  return { sheetId: sheet.getSheetId(), a1: a1 };
}

function findSheetById_(spreadsheet, sheetId) {
  var sheets = spreadsheet.getSheets();
  for (var i = 0; i < sheets.length; i++) {
    if (sheets[i].getSheetId() === sheetId) {
      return sheets[i];
    }
  }
  return null;
}

/** Hands the backend a fresh access token, so status write-back keeps working in long batches. */
function refreshToken() {
  api('POST', '/api/token', { access_token: ScriptApp.getOAuthToken() });
  return true;
}

/**
 * While a batch runs, a time-driven trigger (at most hourly for add-ons) hands the backend a
 * fresh token even with the sidebar closed, so status keeps landing in the sheet. The sidebar
 * calls this when it sees a running batch; the trigger removes itself once none is running.
 */
function keepTokenFresh() {
  var exists = ScriptApp.getProjectTriggers().some(function (trigger) {
    return trigger.getHandlerFunction() === REFRESH_HANDLER;
  });
  if (!exists) {
    ScriptApp.newTrigger(REFRESH_HANDLER).timeBased().everyHours(1).create();
  }
  return !exists;
}

/** The hourly trigger: a fresh token while any batch of the person's runs; else it retires. */
function hourlyRefresh() {
  var answer = api('GET', '/api/batches') || {};
  var running = (answer.batches || []).some(function (batch) { return !batch.finished; });
  if (running) {
    refreshToken();
    return true;
  }
  ScriptApp.getProjectTriggers().forEach(function (trigger) {
    if (trigger.getHandlerFunction() === REFRESH_HANDLER) {
      ScriptApp.deleteTrigger(trigger);
    }
  });
  return false;
}

/** A toast in the sheet (e.g. "Batch complete"), seen even when the sidebar is scrolled away. */
function notify(message, title) {
  SpreadsheetApp.getActiveSpreadsheet().toast(String(message || ''), String(title || MENU_TITLE), 10);
  return true;
}

/** Adds the full template as a new sheet (the backend writes it) and activates it. */
function insertTemplate() {
  var spreadsheet = SpreadsheetApp.getActiveSpreadsheet();
  var answer = api('POST', '/api/template', { spreadsheet_id: spreadsheet.getId(), full: true });
  var info = (answer && answer.sheet) || {};
  var sheet = info.id !== undefined ? findSheetById_(spreadsheet, Number(info.id)) : null;
  if (sheet) {
    spreadsheet.setActiveSheet(sheet);
  }
  return { id: info.id, title: info.title || (sheet ? sheet.getName() : '') };
}
