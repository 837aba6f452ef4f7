'use strict';
// Which batch buttons the real Sidebar.html shows for each batch answer it is given: reads
// {"config": /api/config's answer, "batches": [/api/batches/<id>/progress answers]} on stdin and
// prints {"<batch id>": ["stop", "download", …]} — the buttons visible once the person opens
// that batch from the sidebar's list. tests/web/test_actions_everywhere.py feeds it the real
// server's answers, so the sidebar, the web page and the API are checked against each other.
const { openSidebar, SECOND } = require('./sidebar_dom');

const BUTTONS = { stop: 'stop', resume: 'resume', retry: 'retry', download: 'download' };

async function shownFor(config, batch) {
  const backend = (method, path) => {
    if (method === 'GET' && path === '/api/config') return config;
    if (method === 'GET' && path.startsWith('/api/batches?')) return { batches: [batch] };
    if (method === 'GET' && path === `/api/batches/${batch.id}/progress`) return batch;
    if (method === 'POST' && path === '/api/token') return null;
    return { httpStatus: 404, body: { error: 'not_found', message: `no route ${method} ${path}` } };
  };
  const sidebar = openSidebar({ backend, roundTripMs: 10 });
  try {
    await sidebar.clock.advance(2 * SECOND);
    const item = sidebar.document.querySelector(`#batches button[data-batch="${batch.id}"]`);
    if (!item) throw new Error(`batch ${batch.id} is not in the sidebar's list`);
    item.click();
    await sidebar.clock.advance(2 * SECOND);
    return Object.keys(BUTTONS).filter((action) =>
      !sidebar.document.getElementById(BUTTONS[action]).classList.contains('hidden'));
  } finally {
    sidebar.close();
  }
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const { config, batches } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const shown = {};
  for (const batch of batches) shown[batch.id] = await shownFor(config, batch);
  process.stdout.write(JSON.stringify(shown));
}

main().catch((error) => { console.error(error.stack || String(error)); process.exit(1); });
