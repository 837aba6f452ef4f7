/*
 * A stand-in for google.script.run, for running Sidebar.html in a plain browser (tests only).
 * It mirrors Code.js: api(method, path, body) goes to the backend with the two token headers and
 * throws the backend's message on a non-2xx answer; getContext() answers fixed ids; selectCell()
 * is recorded in window.__gas.selected. Query parameters of the page:
 *   backend   base URL of the sheetbatch backend (default: this page's origin)
 *   id_token  identity token to send as Bearer (default "test-identity-token")
 *   access_token, spreadsheet_id, sheet_id, sheet_title, action
 * Like Apps Script, calls are asynchronous, arguments are JSON-copied, and only the script's
 * public functions exist. window.__gas counts calls in flight (Apps Script allows 10).
 */
(function () {
  'use strict';
  var params = new URLSearchParams(window.location.search);
  var backend = (params.get('backend') || window.location.origin).replace(/\/+$/, '');
  var idToken = params.get('id_token') || 'test-identity-token';
  var accessToken = params.get('access_token') || 'test-access-token';
  var context = {
    spreadsheetId: params.get('spreadsheet_id') || 'test-spreadsheet',
    spreadsheetName: 'Test spreadsheet',
    sheetId: Number(params.get('sheet_id') || 0),
    sheetTitle: params.get('sheet_title') || 'Prompts',
    email: 'tester@example.com',
    action: params.get('action') || null
  };
  var gas = window.__gas = { calls: [], selected: [], inFlight: 0, maxInFlight: 0, tokenRefreshes: 0,
    toasts: [], triggers: 0 };

  function api(method, path, body) {
    method = String(method || 'GET').toUpperCase();
    if (path.indexOf('/api/') !== 0) return Promise.reject(new Error('Not a sheetbatch API path: ' + path));
    var init = { method: method, headers: { Authorization: 'Bearer ' + idToken, 'X-Google-Access-Token': accessToken } };
    if (body !== undefined && body !== null && method !== 'GET') {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(backend + path, init).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (response.ok) return data;
        var message = data && (data.message || data.error);
        throw new Error(message || 'The sheetbatch server answered with an error (HTTP ' + response.status + '). Please try again.');
      });
    }, function (error) {
      throw new Error('Could not reach the sheetbatch server. Details: ' + error.message);
    });
  }

  var server = {
    getContext: function () {
      var answer = Object.assign({}, context);
      context.action = null; // one-shot, as in Code.js
      return answer;
    },
    api: api,
    selectCell: function (a1, sheetId) {
      gas.selected.push({ a1: String(a1).toUpperCase(), sheetId: sheetId });
      return { a1: String(a1).toUpperCase(), sheetId: sheetId };
    },
    refreshToken: function () {
      gas.tokenRefreshes++;
      return api('POST', '/api/token', { access_token: accessToken }).then(function () { return true; });
    },
    keepTokenFresh: function () {
      gas.triggers = 1; // Code.js installs at most one hourly trigger
      return true;
    },
    notify: function (message, title) {
      gas.toasts.push({ message: message, title: title });
      return true;
    },
    insertTemplate: function () {
      return api('POST', '/api/template', { spreadsheet_id: context.spreadsheetId, full: true }).then(function (answer) {
        context.sheetId = answer.sheet.id;
        context.sheetTitle = answer.sheet.title;
        return { id: answer.sheet.id, title: answer.sheet.title };
      });
    }
  };

  function Runner(success, failure) {
    var runner = this;
    this.withSuccessHandler = function (f) { return new Runner(f, failure); };
    this.withFailureHandler = function (f) { return new Runner(success, f); };
    this.withUserObject = function () { return runner; };
    Object.keys(server).forEach(function (name) {
      runner[name] = function () {
        var args = JSON.parse(JSON.stringify(Array.prototype.slice.call(arguments)));
        gas.calls.push({ name: name, args: args });
        gas.inFlight++;
        gas.maxInFlight = Math.max(gas.maxInFlight, gas.inFlight);
        setTimeout(function () {
          Promise.resolve().then(function () { return server[name].apply(null, args); }).then(function (value) {
            gas.inFlight--;
            if (success) success(value === undefined ? null : JSON.parse(JSON.stringify(value)));
          }, function (error) {
            gas.inFlight--;
            if (failure) failure(error instanceof Error ? error : new Error(String(error)));
          });
        }, 0);
      };
    });
  }

  window.google = { script: { run: new Runner(null, null), host: { close: function () {}, editor: { focus: function () {} } } } };
})();
