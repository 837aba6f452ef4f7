#!/usr/bin/env node
'use strict';
// Writes the manifest's urlFetchWhitelist (the allowlist) from the backend URL:
//   npm run allowlist -- https://sheetbatch.example.org
// Once the allowlist is present Apps Script enforces it, and it takes https:// prefixes only, so
// the entry is the backend's origin with a trailing slash (a bare host would also match
// https://sheetbatch.example.org.evil.test). Without an argument it uses $SHEETBATCH_URL.
const fs = require('node:fs');
const path = require('node:path');

const MANIFEST = path.join(__dirname, 'appsscript.json');

function allowlistEntry(url) {
  let parsed;
  try {
    parsed = new URL(String(url || '').trim());
  } catch (error) {
    throw new Error(`Not a URL: "${url}". Pass the backend's address, e.g. https://sheetbatch.example.org`);
  }
  if (parsed.protocol !== 'https:') {
    throw new Error(`The allowlist takes https:// addresses only (got ${parsed.protocol}//).`);
  }
  return `https://${parsed.host}/`;
}

function writeAllowlist(url, manifestPath = MANIFEST) {
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  manifest.urlFetchWhitelist = [allowlistEntry(url)];
  fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  return manifest.urlFetchWhitelist;
}

if (require.main === module) {
  try {
    console.log('urlFetchWhitelist:', writeAllowlist(process.argv[2] || process.env.SHEETBATCH_URL));
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}

module.exports = { allowlistEntry, writeAllowlist };
