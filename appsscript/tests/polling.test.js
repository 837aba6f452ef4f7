'use strict';
// The sidebar's polling against Apps Script's URL-fetch quota: the real Sidebar.html in jsdom on
// a virtual clock, google.script.run calling the real Code.js, one open sidebar following a
// running batch for a simulated hour with a 1 s round trip. DESIGN.md: at most 240 fetches an
// hour while open, whatever the batch does.
const test = require('node:test');
const assert = require('node:assert/strict');
const { simulateHour, scenario, STATES } = require('./polling_hour');
const { SECOND } = require('./sidebar_dom');

const QUOTA_PER_HOUR = 240;
const isPoll = (fetch) => fetch.path === '/api/batches/b1/progress';
const MINUTE = 60 * SECOND;

function gaps(times) {
  return times.slice(1).map((at, i) => at - times[i]);
}

for (const name of STATES) {
  test(`one open sidebar, an hour of "${name}": at most ${QUOTA_PER_HOUR} fetches, status still live`, async () => {
    const { fetches, calls, requests, shown } = await simulateHour(scenario(name));
    assert.ok(fetches.length <= QUOTA_PER_HOUR, `${fetches.length} fetches in the hour`);
    const polls = fetches.filter(isPoll).map((fetch) => fetch.at);
    const longest = Math.max(...gaps(polls));
    const steady = /nothing changes/.test(name) ? 61 * SECOND : 17 * SECOND;
    assert.ok(longest <= steady, `a ${longest / SECOND} s gap between polls`);
    assert.ok(polls.at(-1) >= 59 * MINUTE, 'still polling at the end of the hour');
    assert.ok(!calls.some((call) => call.name === 'refreshToken'),
      'no separate token refresh: every poll carries a fresh access token');
    assert.ok(requests.every((request) => request.params.headers['X-Google-Access-Token']));
    if (/waiting/.test(name)) assert.match(shown.writeback, /waiting for you/);
  });
}

test('a hidden sidebar does not poll, and polls again when shown', async () => {
  const visible = await simulateHour(scenario(STATES[0]));
  const hiddenFrom10To50 = (now) => now >= 10 * MINUTE && now < 50 * MINUTE;
  const { fetches } = await simulateHour(scenario(STATES[0]), { hidden: hiddenFrom10To50 });
  assert.ok(fetches.length < visible.fetches.length / 2, `${fetches.length} fetches`);
  const whileHidden = fetches.filter((f) => f.at > 10 * MINUTE + 2 * SECOND && f.at < 50 * MINUTE);
  assert.deepEqual(whileHidden, [], 'no fetch while hidden (a poll under way may finish)');
  const back = fetches.filter((f) => isPoll(f) && f.at >= 50 * MINUTE);
  assert.equal(back[0].at, 50 * MINUTE, 'shown again: it looks at once');
  assert.ok(back.length >= 10 * MINUTE / (17 * SECOND), `${back.length} polls after coming back`);
});

test('switching tabs back and forth does not add polls', async () => {
  const everyOtherStep = (now) => Math.floor(now / (3 * SECOND)) % 2 === 1;
  const { fetches } = await simulateHour(scenario(STATES[0]),
    { hidden: everyOtherStep, visibilityStepMs: 3 * SECOND });
  assert.ok(fetches.length <= QUOTA_PER_HOUR, `${fetches.length} fetches`);
  assert.ok(Math.min(...gaps(fetches.filter(isPoll).map((f) => f.at))) >= 16 * SECOND);
});

test('polling stops when the batch is finished', async () => {
  const plan = scenario('finishing at 20 min', { made: (polls) => polls, finishAt: 20 * MINUTE });
  const { fetches, shown } = await simulateHour(plan);
  const finishing = fetches.findIndex((f) => isPoll(f) && f.at >= 20 * MINUTE);
  assert.deepEqual(fetches.slice(finishing + 1).map((f) => f.path),
    ['/api/batches?spreadsheet_id=spreadsheet-123'], 'after it, only the recent batches, once');
  assert.match(shown.message, /Batch complete/);
});

test('a backend that keeps failing is asked less and less often', async () => {
  const plan = scenario('failing', { made: () => 0, failProgress: true });
  const { fetches, shown } = await simulateHour(plan);
  assert.ok(fetches.length <= 65, `${fetches.length} fetches`);
  assert.match(shown.message, /Could not get the batch status \(The server is busy\.\)/);
});
