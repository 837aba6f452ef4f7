'use strict';
// The real Sidebar.html in jsdom, on a virtual clock, with a google.script.run that calls the
// real Code.js (in the Apps Script fakes of gas_fakes.js). Every UrlFetchApp.fetch Code.js makes
// is answered by a scripted backend and counted: that count is what the person's daily URL-fetch
// quota pays. Used by the polling tests and by bench/sidebar_polling.js.
const fs = require('node:fs');
const path = require('node:path');
const { JSDOM } = require('jsdom');
const { loadCode, fakeResponse } = require('./gas_fakes');

const SIDEBAR = fs.readFileSync(path.join(__dirname, '..', 'Sidebar.html'), 'utf8');
const BACKEND = 'https://backend.test';
const SECOND = 1000;
const HOUR = 3600 * SECOND;

/** Timers that run only when the test moves the clock. */
class VirtualClock {
  constructor() {
    this.now = 0;
    this.timers = new Map();
    this.nextId = 1;
  }

  setTimeout(fn, ms, ...args) {
    const id = this.nextId++;
    this.timers.set(id, { at: this.now + Math.max(Number(ms) || 0, 0), seq: id, fn, args });
    return id;
  }

  clearTimeout(id) { this.timers.delete(id); }

  /** Runs every timer due until `ms` from now, in order, letting promises settle after each. */
  async advance(ms) {
    const until = this.now + ms;
    for (;;) {
      await settle();
      let next = null;
      for (const [id, timer] of this.timers) {
        if (timer.at <= until && (!next || timer.at < next[1].at ||
          (timer.at === next[1].at && timer.seq < next[1].seq))) next = [id, timer];
      }
      if (!next) break;
      this.timers.delete(next[0]);
      this.now = next[1].at;
      next[1].fn(...next[1].args);
    }
    this.now = until;
  }
}

/** Lets every pending promise callback run (they queue microtasks, and each other). */
async function settle() {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Date for the page: `new Date()` and `Date.now()` read the virtual clock. */
function virtualDate(clock) {
  return class extends Date {
    constructor(...args) { if (args.length) super(...args); else super(clock.now); }
    static now() { return clock.now; }
  };
}

/**
 * google.script.run calling Code.js's functions: arguments and answers are JSON-copied, the
 * answer (or error) arrives `roundTripMs` later on the virtual clock, as with Apps Script.
 */
function scriptRun(code, clock, roundTripMs, calls) {
  function runner(success, failure) {
    const handle = {
      withSuccessHandler: (fn) => runner(fn, failure),
      withFailureHandler: (fn) => runner(success, fn),
      withUserObject: () => handle
    };
    for (const name of Object.keys(code.gs)) {
      if (typeof code.gs[name] !== 'function' || name.endsWith('_')) continue;
      handle[name] = (...args) => {
        calls.push({ name, args: JSON.parse(JSON.stringify(args)), at: clock.now });
        let outcome;
        try {
          const value = code.gs[name](...JSON.parse(JSON.stringify(args)));
          outcome = { ok: true, value: value === undefined ? null : JSON.parse(JSON.stringify(value)) };
        } catch (error) {
          outcome = { ok: false, error: new Error(error.message) };
        }
        clock.setTimeout(() => {
          if (outcome.ok && success) success(outcome.value);
          if (!outcome.ok && failure) failure(outcome.error);
        }, roundTripMs);
      };
    }
    return handle;
  }
  return runner(null, null);
}

/**
 * Opens the sidebar. `backend(method, path, body, now)` answers every fetch: a body (200), or
 * {status, body} for another status. Returns the window, the clock, the fetches made (method,
 * path, at), the google.script.run calls, and `setHidden(bool)` for the tab's visibility.
 */
function openSidebar({ backend, roundTripMs = SECOND }) {
  const clock = new VirtualClock();
  const fetches = [];
  const code = loadCode({
    responses(url, params) {
      const method = String(params.method || 'get').toUpperCase();
      const pathname = url.slice(BACKEND.length);
      fetches.push({ method, path: pathname, at: clock.now });
      const body = params.payload ? JSON.parse(params.payload) : null;
      const answer = backend(method, pathname, body, clock.now);
      const scripted = answer && answer.httpStatus ? answer : { httpStatus: 200, body: answer };
      return fakeResponse(scripted.httpStatus, scripted.body, roundTripMs / SECOND);
    },
    url: BACKEND
  });
  const calls = [];
  let hidden = false;
  const dom = new JSDOM(SIDEBAR, {
    runScripts: 'dangerously',
    pretendToBeVisual: true,
    beforeParse(window) {
      window.setTimeout = clock.setTimeout.bind(clock);
      window.clearTimeout = clock.clearTimeout.bind(clock);
      window.Date = virtualDate(clock);
      window.google = { script: { run: scriptRun(code, clock, roundTripMs, calls) } };
      Object.defineProperty(window.document, 'visibilityState', {
        configurable: true, get: () => (hidden ? 'hidden' : 'visible')
      });
      Object.defineProperty(window.document, 'hidden', { configurable: true, get: () => hidden });
    }
  });
  function setHidden(value) {
    hidden = value;
    dom.window.document.dispatchEvent(new dom.window.Event('visibilitychange'));
  }
  return { window: dom.window, document: dom.window.document, clock, fetches, calls, code,
    setHidden, close: () => dom.window.close() };
}

module.exports = { openSidebar, VirtualClock, SECOND, HOUR };
