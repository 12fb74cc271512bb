'use strict';
/**
 * End to end, from the menu: load the add-on on a fake spreadsheet made from a fixture,
 * press "KPI rules > Check now" (the menu handler), and write what the spreadsheet then
 * holds. tests/test_addon.py compares it with what `kpirules run` writes.
 *
 *   node drive_check_now.js FIXTURE.json OUT.json
 *
 * FIXTURE: {"tabs": {name: rows}, "time_zone": ..., "service_url": ..., "token": ...}
 * (dates as {"$date": "YYYY-MM-DD"}). OUT: {"rules": rows, "sidebar": html, "fetches": [...]}.
 */

const fs = require('fs');
const { makeRuntime, loadAddon } = require('./gas_fake.js');

const [fixturePath, outPath] = process.argv.slice(2);
const fixture = JSON.parse(fs.readFileSync(fixturePath, 'utf8'));
const runtime = makeRuntime({ tabs: fixture.tabs, timeZone: fixture.time_zone, identityToken: fixture.token });
const addon = loadAddon(runtime, fixture.service_url);
addon.onOpen({});
const handler = runtime.record.menus[0].items.find((item) => item[0] === 'Check now')[1];
addon[handler]();
const rules = runtime.spreadsheet.getSheetByName('Rules');
fs.writeFileSync(outPath, JSON.stringify({
  rules: rules.values(),
  formats: rules.getRange(1, 1, Math.max(rules.getLastRow(), 1), Math.max(rules.getLastColumn(), 1)).getNumberFormats(),
  sidebar: runtime.record.sidebars.map((s) => s.getContent()),
  fetches: runtime.record.fetches
}));
