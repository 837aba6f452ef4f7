#!/usr/bin/env node
'use strict';
// Benchmark: the backend fetches one open sidebar makes in an hour while a batch runs. Each one
// is a UrlFetchApp.fetch from the person's daily quota (20,000 on a consumer account, shared by
// all their scripts). The real appsscript/Sidebar.html runs in jsdom on a virtual clock, its
// google.script.run calls the real Code.js with the Apps Script fakes, and a scripted backend
// answers after a fixed round trip (appsscript/tests/polling_hour.js). Goal: at most 240 an hour.
//
// Run: (cd appsscript && npm ci) && node bench/sidebar_polling.js [--round-trip-ms 1000]
const path = require('node:path');
const { simulateHour, scenario, STATES } = require(path.join(__dirname, '..', 'appsscript', 'tests', 'polling_hour'));

const MINUTE = 60 * 1000;

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

async function row(label, plan, options) {
  const { fetches } = await simulateHour(plan, options);
  const polls = fetches.filter((f) => f.path.endsWith('/progress')).length;
  const perDay = Math.round(20000 / fetches.length * 10) / 10;
  console.log(`| ${label} | ${fetches.length} | ${polls} | ${perDay} |`);
}

async function main() {
  const roundTripMs = option('--round-trip-ms', 1000);
  console.log(`One open sidebar for one simulated hour, ${roundTripMs / 1000} s round trip, Node ${process.version}\n`);
  console.log('| progress during the hour | fetches / hour | of which status polls | hours to spend 20,000 |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const name of STATES) await row(name, scenario(name), { roundTripMs });
  const progress = scenario(STATES[0]);
  await row('every poll sees progress, tab hidden from minute 10 to 50', progress,
    { roundTripMs, hidden: (now) => now >= 10 * MINUTE && now < 50 * MINUTE });
  await row('every poll sees progress, tab hidden and shown every 3 s', progress,
    { roundTripMs, hidden: (now) => Math.floor(now / 3000) % 2 === 1, visibilityStepMs: 3000 });
  await row('batch finishes at minute 20', scenario('finishing', { made: (polls) => polls, finishAt: 20 * MINUTE }),
    { roundTripMs });
  await row('every status request fails (503)', scenario('failing', { made: () => 0, failProgress: true }),
    { roundTripMs });
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
