'use strict';
/**
 * The add-on in the sheet's language (Messages.gs): a pl_PL sheet gets a Polish menu,
 * dialogs, toasts, errors, cells and sidebar; an en_US one the English of before. Same fake
 * Apps Script runtime as addon.test.js (the one mock); the service tests talk to a real
 * `kpirules serve` that pytest starts (tests/test_addon.py).
 */

const test = require('node:test');
const assert = require('node:assert/strict');
const { makeRuntime, loadAddon, editEvent } = require('./gas_fake.js');

const SERVICE = process.env.KPIRULES_TEST_SERVICE_URL;
const TOKEN = process.env.KPIRULES_TEST_TOKEN;
const needsService = SERVICE ? {} : { skip: 'no kpirules service (run through pytest tests/test_addon.py)' };

const RULES = [
  ['Name', 'Rule', 'Enabled'],
  ['visits_daily', 'count(visits) >= 1 daily', true],
  ['conv', 'signups / visits >= 2% weekly', true]
];
const DATA = [['Date', 'Visits', 'Signups']];
for (let d = 12; d <= 25; d++) {
  DATA.push([{ $date: '2026-11-' + d }, 100, 3]);
}

function setUp(locale, tabs, extra) {
  const runtime = makeRuntime(Object.assign({ tabs: tabs || { Rules: RULES, Data: DATA }, identityToken: TOKEN, locale },
    extra || {}));
  return { runtime, addon: loadAddon(runtime, SERVICE), ss: runtime.spreadsheet };
}

/** What the page shows once render() ran: the JSON appended to Sidebar.html. */
function sidebarData(html) {
  const tail = html.slice(html.lastIndexOf('<script>render(') + '<script>render('.length, html.lastIndexOf(');</script>'));
  return JSON.parse(tail);
}

test('every text has its Polish, with the same placeholders', () => {
  const { addon } = setUp('en_US');
  const placeholders = (text) => [].concat(text).map((t) => (t.match(/\{\w+\}/g) || []).sort().join(' '));
  const en = addon.MESSAGES.en;
  const pl = addon.MESSAGES.pl;
  assert.deepEqual(Object.keys(pl).sort(), Object.keys(en).sort());
  for (const key of Object.keys(en)) {
    for (const form of placeholders(pl[key])) {
      assert.equal(form, placeholders(en[key])[0], key);
    }
    if (Array.isArray(pl[key])) {
      assert.equal(pl[key].length, 3, key + ': Polish has three plural forms');
    }
    if (!['menu', 'error', 'error_status'].includes(key) && !/^[A-Z]/.test(key)) {
      assert.notEqual(pl[key], en[key], key + ' is not translated');
    }
  }
});

test('the language: the sheet\'s locale, else the user\'s; anything but Polish is English', () => {
  assert.equal(setUp('pl_PL').addon.language_(), 'pl');
  assert.equal(setUp('en_GB').addon.language_(), 'en');
  assert.equal(setUp('de_DE').addon.language_(), 'en');
  const { runtime, addon } = setUp('pl_PL', null, { userLocale: 'pl' });
  runtime.spreadsheet.getSpreadsheetLocale = () => { throw new Error('Authorization is required'); };
  runtime.spreadsheet.getSheetByName = () => { throw new Error('Authorization is required'); };
  assert.equal(addon.language_(), 'pl'); // a menu before authorisation: the user's locale
  const { addon: addon2 } = setUp('', null, { userLocale: 'pl' });
  assert.equal(addon2.language_(), 'pl');
});

test('the Settings tab\'s language wins over the locale, as for the results', () => {
  const settings = [['Setting', 'Value'], ['date_column', 'Date'], [' Language ', 'PL']];
  assert.equal(setUp('en_US', { Rules: RULES, Settings: settings }).addon.language_(), 'pl');
  const english = [['language', 'en']];
  assert.equal(setUp('pl_PL', { Rules: RULES, Settings: english }).addon.language_(), 'en');
  const unknown = [['language', 'de']];
  assert.equal(setUp('pl_PL', { Rules: RULES, Settings: unknown }).addon.language_(), 'pl');
});

test('Polish plural forms: 1 reguła, 2 reguły, 5 reguł, 22 reguły', () => {
  const { addon } = setUp('pl_PL');
  const forms = [1, 2, 5, 12, 22, 25, 104].map((n) => addon.t_('rules_need_a_fix', { n, status: 'Stan' }).split(':')[0]);
  assert.deepEqual(forms, ['1 reguła wymaga poprawki', '2 reguły wymagają poprawki', '5 reguł wymaga poprawki',
    '12 reguł wymaga poprawki', '22 reguły wymagają poprawki', '25 reguł wymaga poprawki', '104 reguły wymagają poprawki']);
});

test('a Polish sheet: the menu in Polish, same handlers', () => {
  const { runtime, addon } = setUp('pl_PL');
  addon.onOpen({});
  const menu = runtime.record.menus[0];
  assert.equal(menu.name, 'Reguły KPI');
  assert.deepEqual(menu.items.filter((i) => i[1]), [['Sprawdź teraz', 'checkNow'],
    ['Sprawdź poprawność reguł', 'validateRules'], ['Pokaż wyniki', 'showResults'], ['Przygotuj ten arkusz', 'setUpSheet']]);
});

test('a Polish sheet set up: Polish headers of the engine\'s columns, a Polish toast; again, nothing twice', () => {
  const { addon, ss } = setUp('pl_PL', { Data: DATA });
  addon.setUpSheet();
  addon.setUpSheet();
  const sheet = ss.getSheetByName('Rules');
  assert.deepEqual(sheet.values()[0], ['Name', 'Rule', 'Enabled', 'Owner', 'Description', 'Stan', 'Wartość',
    'Próg docelowy', 'Okres', 'Sprawdzono', 'Komunikat']);
  assert.equal(ss.toasts[0].title, 'Reguły KPI');
  assert.equal(ss.toasts[0].message, 'Arkusz jest gotowy: edytuj reguły na karcie Rules, a potem Reguły KPI > Sprawdź teraz.');
  assert.equal(sheet.getConditionalFormatRules().length, 6);
  assert.ok(sheet.getConditionalFormatRules().every((r) => r.getRanges()[0].getColumn() === 6)); // Stan
  const protections = sheet.getProtections('RANGE');
  assert.equal(protections.length, 6);
  assert.equal(protections[0].getDescription(), 'kpirules: zapisuje silnik (Stan)');
});

test('a sheet set up in English and again in Polish: no second set of columns or protections', () => {
  const { runtime, addon, ss } = setUp('en_US', { Data: DATA });
  addon.setUpSheet();
  runtime.spreadsheet.locale = 'pl_PL';
  addon.LANGUAGE_ = null; // another execution
  addon.setUpSheet();
  assert.equal(ss.toasts[1].title, 'Reguły KPI');
  const sheet = ss.getSheetByName('Rules');
  assert.deepEqual(sheet.values()[0].slice(5), ['Status', 'Value', 'Target', 'Period', 'Checked', 'Message']);
  assert.equal(sheet.getProtections('RANGE').length, 6);
  assert.equal(sheet.getConditionalFormatRules().length, 6);
});

test('errors before any call, in Polish: an "as of" that is no day, a missing tab', () => {
  const { runtime, addon } = setUp('pl_PL');
  assert.throws(() => addon.checkNow('26/11/2026'),
    /^Error: Reguły KPI: „na dzień” nie jest datą: "26\/11\/2026" \(zapisz ją jako RRRR-MM-DD/);
  const { runtime: r2, addon: a2 } = setUp('pl_PL', { Rules: RULES });
  assert.equal(a2.checkNow(), null);
  assert.deepEqual(r2.record.alerts, [{ title: 'Reguły KPI', message: 'Ten arkusz potrzebuje karty Data. Użyj Reguły KPI > Przygotuj ten arkusz.' }]);
  assert.deepEqual(runtime.record.fetches, []);
});

test('the sidebar gets its texts and the date in the sheet\'s language', () => {
  const { runtime, addon } = setUp('pl_PL');
  addon.showSidebar_([], '2026-11-26');
  const sidebar = runtime.record.sidebars[0];
  assert.equal(sidebar.getTitle(), 'Reguły KPI');
  const data = sidebarData(sidebar.getContent());
  assert.equal(data.as_of, '2026-11-26');
  assert.equal(data.as_of_text, '26.11.2026');
  assert.equal(data.text.lang, 'pl');
  assert.equal(data.text.check_now, 'Sprawdź teraz');
  assert.equal(data.text.no_results, 'Brak wyników: naciśnij Sprawdź teraz.');
  assert.equal(data.text.summary, 'Reguły: {n} na dzień {date} \u2014 {counts}');
  const english = setUp('en_US');
  english.addon.showSidebar_([], '2026-11-26');
  const en = sidebarData(english.runtime.record.sidebars[0].getContent());
  assert.equal(en.as_of_text, '2026-11-26');
  assert.equal(en.text.no_results, 'No results yet: press Check now.');
});

test('Show results on a Polish sheet reads the columns by their Polish headers', () => {
  const rules = [['Name', 'Rule', 'Stan', 'Wartość', 'Komunikat'], ['', 'count(visits) >= 1 daily', 'PASS', 3, 'w normie']];
  const { addon } = setUp('pl_PL', { Rules: rules });
  const results = JSON.parse(JSON.stringify(addon.showResults()));
  assert.deepEqual(results, [{ row: 2, name: 'wiersz 2', status: 'PASS', value: '3', target: '', period: '',
    message: 'w normie' }]);
});

test('a Polish sheet, Check now: results and headers in Polish, found again the next time', needsService, () => {
  const { runtime, addon, ss } = setUp('pl_PL');
  const answer = addon.checkNow('2026-11-26');
  const sheet = ss.getSheetByName('Rules');
  assert.deepEqual(sheet.values()[0], ['Name', 'Rule', 'Enabled', 'Stan', 'Wartość', 'Próg docelowy', 'Okres',
    'Sprawdzono', 'Komunikat']);
  assert.match(sheet.values()[2][8], /spełnia cel >= 2%/);
  assert.equal(runtime.record.fetches[0].body.locale, 'pl_PL');
  const data = sidebarData(runtime.record.sidebars[0].getContent());
  assert.equal(data.as_of_text, '26.11.2026');
  assert.equal(data.rules.length, answer.rules.length);
  addon.checkNow('2026-11-26');
  assert.equal(sheet.values()[0].length, 9); // no second set of columns
  // Instant validation writes into the Polish columns, in Polish
  sheet.getRange(3, 2).setValue('signups / visitz >= 2% weekly');
  addon.onRulesEdit(editEvent(sheet, 3, 2));
  assert.match(sheet.values()[2][3], /^ERROR w kolumnie 11: nieznana kolumna `visitz`; czy chodziło o `visits`\?/);
  sheet.getRange(3, 2).setValue('signups / visits >= 2% weekly');
  addon.onRulesEdit(editEvent(sheet, 3, 2));
  assert.equal(sheet.values()[2][3], 'VALID');
  assert.equal(sheet.values()[2][8], 'Reguła jest poprawna: jej wynik pokaże Reguły KPI > Sprawdź teraz.');
  addon.validateRules();
  assert.equal(ss.toasts[ss.toasts.length - 1].message, 'Wszystkie reguły są poprawne.');
});

test('a Polish sheet: what the service refuses is said in Polish', needsService, () => {
  const runtime = makeRuntime({ tabs: { Rules: RULES, Data: DATA }, identityToken: 'not-the-token', locale: 'pl_PL' });
  const addon = loadAddon(runtime, SERVICE);
  assert.throws(() => addon.checkNow(), /^Error: Reguły KPI: token \(Bearer\) nie jest ważny dla tej usługi \(dodatek wysyła/);
  assert.equal(runtime.record.fetches.length, 1);
});
