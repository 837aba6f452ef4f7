'use strict';
// One open sidebar following a running batch for a simulated hour: a scripted backend for each
// kind of progress the issue names, and the fetches the sidebar makes (each one is a
// UrlFetchApp.fetch from the person's daily quota). Used by polling.test.js and
// bench/sidebar_polling.js.
const { openSidebar, SECOND, HOUR } = require('./sidebar_dom');

const TOTAL_IMAGES = 100000; // more than an hour can make: the batch runs all hour
const WAITING = { state: 'waiting_for_person', message: 'Status is waiting for you: open the sidebar.' };
const WRITING = { state: 'ok', message: '' };

/** How many images are made by `now`, given how many progress answers came before. */
const PROGRESS = {
  'every poll sees progress': (polls) => polls,
  'one image every 8 s': (polls, now) => Math.floor(now / (8 * SECOND)),
  'nothing changes': () => 0,
  'every poll sees progress, write-back "waiting for you"': (polls) => polls
};

function scenario(name, options = {}) {
  return {
    name,
    made: PROGRESS[name] || options.made,
    writeback: /waiting/.test(name) ? WAITING : WRITING,
    finishAt: options.finishAt || Infinity,
    failProgress: !!options.failProgress
  };
}

/** The sheetbatch API as the sidebar sees it, for one batch following `plan`. */
function scriptedBackend(plan) {
  let progressAnswers = 0;
  function batch(now) {
    const finished = now >= plan.finishAt;
    const done = finished ? TOTAL_IMAGES : Math.min(plan.made(progressAnswers, now), TOTAL_IMAGES - 1);
    const pending = TOTAL_IMAGES - done;
    return {
      id: 'b1', status: finished ? 'completed' : 'running', finished,
      counts: { total: TOTAL_IMAGES, done, failed: 0, stopped: 0, pending },
      images: { total: TOTAL_IMAGES, done, failed: 0, stopped: 0, pending },
      title: 'Prompts · 100000 rows', created: 0, failed_rows: [], first_error: null,
      spreadsheet_id: 'spreadsheet-123', sheet_id: 0, writeback: plan.writeback,
      // as server/batches/status.py presents a batch: its label, tone, actions and end
      label: finished ? 'Completed' : 'Running', tone: finished ? 'ok' : 'run',
      actions: finished ? ['download', 'delete'] : ['stop', 'download'],
      outcome: finished ? { text: `Batch complete: ${TOTAL_IMAGES} images ready to download.`,
        short: 'is complete', level: 'info' } : null
    };
  }
  return function answer(method, path, body, now) {
    if (method === 'GET' && path === '/api/config') {
      return { columns: [], providers: ['preview'], default_provider: 'preview', currency: 'USD',
        statuses: { finished: ['completed', 'failed', 'stopped'],
          counts: ['total', 'done', 'failed', 'stopped', 'pending'] } };
    }
    if (method === 'GET' && path.startsWith('/api/batches?')) return { batches: [batch(now)] };
    if (method === 'GET' && path === '/api/batches/b1/progress') {
      if (plan.failProgress && progressAnswers > 0) {
        return { httpStatus: 503, body: { error: 'unavailable', message: 'The server is busy.' } };
      }
      const answer = batch(now);
      progressAnswers++;
      return answer;
    }
    if (method === 'POST' && path === '/api/token') return null;
    return { httpStatus: 404, body: { error: 'not_found', message: `test: no route ${method} ${path}` } };
  };
}

/**
 * Opens the sidebar on a running batch and lets an hour pass. `hidden(now)` says whether the tab
 * is hidden at that moment (checked every `visibilityStepMs`). Returns the fetches made, the
 * google.script.run calls, Code.js's UrlFetchApp requests and what the sidebar shows at the end.
 */
async function simulateHour(plan, { roundTripMs = SECOND, hidden = () => false,
  visibilityStepMs = 60 * SECOND, hourMs = HOUR } = {}) {
  const sidebar = openSidebar({ backend: scriptedBackend(plan), roundTripMs });
  let wasHidden = false;
  for (let t = 0; t < hourMs; t += visibilityStepMs) {
    const now = hidden(t);
    if (now !== wasHidden) sidebar.setHidden(now);
    wasHidden = now;
    await sidebar.clock.advance(Math.min(visibilityStepMs, hourMs - t));
  }
  const text = (id) => sidebar.document.getElementById(id).textContent;
  const result = { fetches: sidebar.fetches, calls: sidebar.calls, requests: sidebar.code.requests,
    shown: { progress: text('progress-text'), writeback: text('writeback'), message: text('message') } };
  sidebar.close();
  return result;
}

const STATES = Object.keys(PROGRESS);

module.exports = { simulateHour, scenario, STATES, TOTAL_IMAGES };
