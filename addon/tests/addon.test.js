'use strict';
/**
 * The add-on (Code.gs) under node's built-in test runner, on the fake Apps Script runtime
 * (gas_fake.js: the one mock, since Apps Script itself cannot run here).
 *
 * Tests that call the service need a real `kpirules serve`: pytest starts one
 * (tests/test_addon.py) and passes KPIRULES_TEST_SERVICE_URL and KPIRULES_TEST_TOKEN.
 * Run alone, `node --test addon/tests` runs the others and skips those.
 */

const test = require('node:test');
const assert = require('node:assert/strict');
const { makeRuntime, loadAddon, editEvent, formatDate } = require('./gas_fake.js');

const SERVICE = process.env.KPIRULES_TEST_SERVICE_URL;
const TOKEN = process.env.KPIRULES_TEST_TOKEN;
const needsService = SERVICE ? {} : { skip: 'no kpirules service (run through pytest tests/test_addon.py)' };

const RULES = [
  ['Name', 'Rule', 'Enabled', 'Owner'],
  ['visits_daily', 'count(visits) >= 1 daily', 'yes', 'Ana'],
  ['signup_rate', 'signups / visits >= 2% weekly by campaign', 'no', 'Ana']
];

function data(days) {
  const rows = [['Date', 'Campaign', 'Visits', 'Signups']];
  for (let d = 0; d < days; d++) {
    const day = new Date(Date.UTC(2026, 10, 12 + d)).toISOString().slice(0, 10);
    rows.push([{ $date: day }, 'brand', 100, 3]);
    rows.push([{ $date: day }, '=IMPORTXML("http://x")', 500, 3]);
  }
  return rows;
}

function setUp(tabs, extra) {
  const runtime = makeRuntime(Object.assign({ tabs, identityToken: TOKEN }, extra || {}));
  const addon = loadAddon(runtime, SERVICE);
  return { runtime, addon, ss: runtime.spreadsheet };
}

test('onOpen adds the KPI rules menu with its four items', () => {
  const { runtime, addon } = setUp({ Rules: RULES });
  addon.onOpen({});
  assert.equal(runtime.record.menus.length, 1);
  const menu = runtime.record.menus[0];
  assert.equal(menu.name, 'KPI rules');
  assert.deepEqual(menu.items.filter((i) => i[1]).map((i) => i[0]),
    ['Check now', 'Validate rules', 'Show results', 'Set up this sheet']);
  for (const [, fn] of menu.items.filter((i) => i[1])) {
    assert.equal(typeof addon[fn], 'function', fn + ' is a global function');
  }
});

test('Set up this sheet: headers, frozen row, checkboxes, colours, protection, trigger; once', () => {
  const { runtime, addon, ss } = setUp({ Rules: RULES, Data: data(1) });
  addon.setUpSheet();
  addon.setUpSheet(); // again: nothing is added twice
  const sheet = ss.getSheetByName('Rules');
  assert.deepEqual(sheet.values()[0], ['Name', 'Rule', 'Enabled', 'Owner', 'Status', 'Value', 'Target',
    'Period', 'Checked', 'Message']);
  assert.equal(sheet.getFrozenRows(), 1);
  // Enabled: the old yes/no became ticked/unticked checkboxes
  assert.deepEqual(sheet.getRange(2, 3, 2, 1).getValues(), [[true], [false]]);
  assert.equal(sheet.cell(2, 3).validation.type, 'CHECKBOX');
  // Status colours by conditional formatting, one rule per status, installed once
  const rules = sheet.getConditionalFormatRules();
  assert.equal(rules.length, 6);
  assert.ok(rules.every((r) => r.getRanges()[0].getColumn() === 5));
  const pass = rules.find((r) => r.getBooleanCondition().getCriteriaValues()[0] === 'PASS');
  assert.equal(pass.getBooleanCondition().getBackground(), '#D9EAD3');
  const error = rules.find((r) => r.getBooleanCondition().getCriteriaValues()[0] === 'ERROR');
  assert.equal(error.getBooleanCondition().getCriteriaType(), 'TEXT_STARTS_WITH');
  // The engine's six columns protected with a warning only, once each
  const protections = sheet.getProtections('RANGE');
  assert.equal(protections.length, 6);
  assert.ok(protections.every((p) => p.isWarningOnly()));
  assert.deepEqual(protections.map((p) => p.getRange().getColumn()), [5, 6, 7, 8, 9, 10]);
  // The installable on-edit trigger for instant validation, once
  assert.deepEqual(runtime.record.triggers.map((t) => [t.handler, t.event]), [['onRulesEdit', 'ON_EDIT']]);
});

test('Set up this sheet creates a Rules tab when there is none', () => {
  const { addon, ss } = setUp({ Data: data(1) });
  addon.setUpSheet();
  assert.deepEqual(ss.getSheetByName('Rules').values()[0].slice(0, 3), ['Name', 'Rule', 'Enabled']);
});

test('text is written as text, never as a formula, number or date', () => {
  const { addon, ss } = setUp({ Rules: RULES });
  const sheet = ss.getSheetByName('Rules');
  addon.writeCells_(sheet, [
    { row: 2, column: 5, value: '=IMPORTXML("http://x")' },
    { row: 2, column: 6, value: '2026-12-06 10:01' },
    { row: 2, column: 7, value: '12' },
    { row: 2, column: 8, value: 0.0224, number_format: '0.00%' },
    { row: 2, column: 30, value: null }
  ]);
  assert.deepEqual(sheet.getRange(2, 5, 1, 4).getValues()[0], ['=IMPORTXML("http://x")', '2026-12-06 10:01', '12', 0.0224]);
  assert.deepEqual(sheet.getRange(2, 5, 1, 4).getFormulas()[0], ['', '', '', '']);
  assert.equal(sheet.getRange(2, 8).getDisplayValues()[0][0], '2.24%');
  assert.equal(sheet.getMaxColumns(), 30); // the grid grew for the cell past it
});

test('dates go to the service as ISO text in the sheet time zone', () => {
  const { addon } = setUp({ Rules: RULES }, { timeZone: 'Europe/Warsaw' });
  assert.equal(addon.cellJson_(new Date('2026-11-25T23:00:00Z'), 'Europe/Warsaw'), '2026-11-26');
  assert.equal(addon.cellJson_(new Date('2026-11-26T07:30:00Z'), 'Europe/Warsaw'), '2026-11-26T08:30:00');
  assert.equal(addon.cellJson_(42, 'Europe/Warsaw'), 42);
  assert.equal(formatDate(new Date('2026-01-02T03:04:05Z'), 'Etc/GMT', "yyyy-MM-dd'T'HH:mm:ss"), '2026-01-02T03:04:05');
});

test('the sidebar carries the results as data that cannot break out of its script', () => {
  const { runtime, addon } = setUp({ Rules: RULES });
  addon.showSidebar_([{ name: '</script><img src=x onerror=alert(1)>', row: 2, status: 'FAIL', value: '1',
    target: '>= 2', period: '', message: 'm' }], '2026-11-26');
  const html = runtime.record.sidebars[0].getContent();
  assert.equal(runtime.record.sidebars[0].getTitle(), 'KPI rules');
  const tail = html.slice(html.lastIndexOf('<script>render('));
  assert.ok(!tail.slice(8).includes('</script><img'));
  assert.ok(tail.includes('\\u003c/script>\\u003cimg'));
  // The page builds its list with textContent only
  assert.ok(!/innerHTML/.test(html));
});

test('Show results lists what the Rules tab holds, and a click selects the rule row', () => {
  const rules = RULES.map((r, i) => r.concat(i === 0 ? ['Status', 'Value', 'Target', 'Message'] :
    i === 1 ? ['PASS', 3, '>= 1', 'fine'] : ['', '', '', '']));
  const { runtime, addon, ss } = setUp({ Rules: rules });
  const results = addon.showResults();
  assert.deepEqual(JSON.parse(JSON.stringify(results)), [{ row: 2, name: 'visits_daily', status: 'PASS', value: '3',
    target: '>= 1', period: '', message: 'fine' }]);
  assert.equal(runtime.record.sidebars.length, 1);
  addon.selectRule(2);
  assert.equal(ss.activeRange.getRow(), 2);
  assert.equal(ss.activeSheet.getName(), 'Rules');
});

test('Check now writes the cells and opens the sidebar', needsService, () => {
  const { runtime, addon, ss } = setUp({ Rules: RULES, Data: data(14) });
  const answer = addon.checkNow();
  const sheet = ss.getSheetByName('Rules');
  const values = sheet.values();
  assert.deepEqual(values[0].slice(4), ['Status', 'Value', 'Target', 'Period', 'Checked', 'Message']);
  assert.equal(values[1][4], answer.rules[0].status);
  assert.equal(values[2][4], 'OFF'); // Enabled "no" switches the rule off
  assert.equal(runtime.record.sidebars.length, 1);
  assert.ok(runtime.record.sidebars[0].getContent().includes('"name":"visits_daily"'));
  assert.deepEqual(runtime.record.fetches.map((f) => f.path), ['/v1/evaluate']);
});

test('editing a rule validates it: the Status cell says what is wrong and where', needsService, () => {
  const tabs = { Rules: RULES.map((r, i) => r.concat(i === 0 ? ['Status', 'Value', 'Target', 'Period', 'Checked', 'Message'] : [])),
    Data: data(1) };
  const { addon, ss } = setUp(tabs);
  const sheet = ss.getSheetByName('Rules');
  sheet.getRange(2, 2).setValue('signups / visitz >= 2% weekly');
  addon.onRulesEdit(editEvent(sheet, 2, 2));
  const status = sheet.getRange(2, 5).getValues()[0][0];
  assert.match(status, /^ERROR at column 11: unknown column `visitz`; did you mean `visits`\?/);
  const message = sheet.getRange(2, 10).getValues()[0][0];
  assert.ok(message.endsWith('signups / visitz >= 2% weekly\n          ^^^^^^'), message);
  // Fixed: the cell says so. An edit elsewhere (the Owner column) calls nothing.
  sheet.getRange(2, 2).setValue('signups / visits >= 2% weekly');
  addon.onRulesEdit(editEvent(sheet, 2, 2));
  assert.equal(sheet.getRange(2, 5).getValues()[0][0], 'VALID');
  addon.onRulesEdit(editEvent(sheet, 2, 4));
  addon.onRulesEdit(editEvent(ss.getSheetByName('Data'), 2, 2));
});

test('Validate rules marks every broken rule', needsService, () => {
  const rules = [RULES[0].concat(['Status']), ['a', 'visits >= ', 'yes', ''], ['b', 'count(visits) >= 1 daily', 'yes', '']];
  const { addon, ss } = setUp({ Rules: rules, Data: data(1) });
  addon.validateRules();
  const sheet = ss.getSheetByName('Rules');
  assert.match(sheet.getRange(2, 5).getValues()[0][0], /^ERROR at column 10: /);
  assert.equal(sheet.getRange(3, 5).getValues()[0][0], 'VALID');
  assert.match(ss.toasts[0].message, /1 rule\(s\) need a fix/);
});

test('a refused token is an error the user reads, and nothing is written', needsService, () => {
  const runtime = makeRuntime({ tabs: { Rules: RULES, Data: data(1) }, identityToken: 'not-the-token' });
  const addon = loadAddon(runtime, SERVICE);
  assert.throws(() => addon.checkNow(), /KPI rules: the bearer token is not valid for this service/);
  assert.deepEqual(runtime.spreadsheet.getSheetByName('Rules').values()[0], RULES[0]);
});

test('Check now as of a date: the service evaluates that day, whatever today is', needsService, () => {
  const { runtime, addon } = setUp({ Rules: RULES, Data: data(14) });
  const answer = addon.checkNow('2026-11-20');
  assert.equal(answer.as_of, '2026-11-20');
  assert.equal(runtime.record.fetches[0].body.as_of, '2026-11-20');
  // As of 2026-11-20 the data (from 2026-11-12) hold its day before: visits_daily is judged.
  assert.equal(answer.rules[0].status, 'PASS');
  assert.ok(runtime.record.sidebars[0].getContent().includes('"as_of":"2026-11-20"'));
  const again = addon.checkNowForSidebar(' 2026-11-20 ');
  assert.deepEqual(JSON.parse(JSON.stringify({ rules: again.rules, as_of: again.as_of })),
    JSON.parse(JSON.stringify({ rules: answer.rules, as_of: '2026-11-20' })));
  assert.equal(again.text.check_now, 'Check now'); // and the sidebar's texts, in the sheet's language
});

test('Check now without a date: today in the sheet\'s time zone, as the CLI', needsService, () => {
  const { runtime, addon } = setUp({ Rules: RULES, Data: data(1) }, { timeZone: 'Pacific/Kiritimati' });
  const today = () => new Intl.DateTimeFormat('en-CA', { timeZone: 'Pacific/Kiritimati' }).format(new Date());
  const before = today();
  const answer = addon.checkNow();
  assert.ok([before, today()].includes(answer.as_of), answer.as_of);
  assert.equal('as_of' in runtime.record.fetches[0].body, false); // the service decides, from time_zone
  assert.equal(runtime.record.fetches[0].body.time_zone, 'Pacific/Kiritimati');
});

test('an "as of" that is not a day is refused before any call', () => {
  for (const bad of ['2026-02-30', '26/11/2026', '2026-11-26T10:00', 'tomorrow']) {
    const { runtime, addon, ss } = setUp({ Rules: RULES, Data: data(1) });
    assert.throws(() => addon.checkNow(bad), /KPI rules: "as of" is not a date: .* \(write it as YYYY-MM-DD/);
    assert.throws(() => addon.checkNowForSidebar(bad), /not a date/);
    assert.deepEqual(runtime.record.fetches, []);
    assert.deepEqual(ss.getSheetByName('Rules').values()[0], RULES[0]);
  }
});

test('the sidebar has an "as of" date next to Check now, sent with it', () => {
  const { runtime, addon } = setUp({ Rules: RULES });
  addon.showResults();
  const html = runtime.record.sidebars[0].getContent();
  assert.match(html, /<input id="as-of" type="date"/);
  assert.ok(html.includes(".checkNowForSidebar(document.getElementById('as-of').value)"));
});
