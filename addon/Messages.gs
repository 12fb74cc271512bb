/**
 * Every text the add-on shows, in English and Polish: the menu, dialogs, toasts, errors,
 * the cells it writes itself, the sidebar, and the headers of the engine's columns. One
 * table; Code.gs reads it through t_(), and the sidebar gets its language's part as data
 * (sidebarText_). The service's own messages (results, rule errors) come already in the
 * sheet's language from `kpirules serve`.
 *
 * The language is the one the service writes the results in: the Settings tab's
 * `language`, else the sheet's locale (pl_PL: Polish); where the sheet cannot be read (a
 * menu built before the add-on is authorised), the user's. Anything else: English.
 *
 * Placeholders are {name}; a text with plural forms is a list: English [one, other],
 * Polish [one, few, many] (1 reguła, 2 reguły, 5 reguł, 22 reguły).
 */

var LANGUAGES = ['en', 'pl'];

var MESSAGES = {
  en: {
    menu: 'KPI rules',
    check_now: 'Check now',
    validate_rules: 'Validate rules',
    show_results: 'Show results',
    set_up: 'Set up this sheet',
    error: '{menu}: {message}',
    as_of_not_a_date: '"as of" is not a date: {value} (write it as YYYY-MM-DD, e.g. 2026-11-26, or leave it ' +
      'empty for today)',
    needs_tab: 'This sheet needs a {tab} tab. Use {menu} > {set_up}.',
    no_tab: 'This sheet has no {tab} tab.',
    rules_need_a_fix: '{n} rule(s) need a fix: see their {status} cells.',
    all_valid: 'Every rule is valid.',
    set_up_done: 'This sheet is set up: edit rules in the {tab} tab, then {menu} > {check_now}.',
    rule_is_valid: 'The rule is valid: {menu} > {check_now} for its result.',
    error_at_column: 'ERROR at column {column}: {message}',
    error_status: 'ERROR: {message}',
    row: 'row {row}',
    service_answered: 'the kpirules service answered {code}',
    protection: 'kpirules: written by the engine ({column})',
    // The sidebar
    as_of: 'as of',
    as_of_empty: "Empty: today in the sheet's time zone",
    select_rule: 'Select this rule in the sheet',
    target: 'target {target}',
    summary: 'Rules: {n} as of {date} \u2014 {counts}',
    summary_undated: 'Rules: {n} \u2014 {counts}',
    no_results: 'No results yet: press {check_now}.',
    checking: 'Checking\u2026',
    // The engine's columns in the Rules tab, as `kpirules run` names them
    // (kpirules.i18n.HEADERS_PL; tests/test_addon_i18n.py compares)
    Status: 'Status', Value: 'Value', Target: 'Target', Period: 'Period', Checked: 'Checked', Message: 'Message'
  },
  pl: {
    menu: 'Reguły KPI',
    check_now: 'Sprawdź teraz',
    validate_rules: 'Sprawdź poprawność reguł',
    show_results: 'Pokaż wyniki',
    set_up: 'Przygotuj ten arkusz',
    error: '{menu}: {message}',
    as_of_not_a_date: '„na dzień” nie jest datą: {value} (zapisz ją jako RRRR-MM-DD, np. 2026-11-26, albo ' +
      'zostaw puste pole, by sprawdzić na dziś)',
    needs_tab: 'Ten arkusz potrzebuje karty {tab}. Użyj {menu} > {set_up}.',
    no_tab: 'Ten arkusz nie ma karty {tab}.',
    rules_need_a_fix: ['{n} reguła wymaga poprawki: zobacz jej komórkę {status}.',
      '{n} reguły wymagają poprawki: zobacz ich komórki {status}.',
      '{n} reguł wymaga poprawki: zobacz ich komórki {status}.'],
    all_valid: 'Wszystkie reguły są poprawne.',
    set_up_done: 'Arkusz jest gotowy: edytuj reguły na karcie {tab}, a potem {menu} > {check_now}.',
    rule_is_valid: 'Reguła jest poprawna: jej wynik pokaże {menu} > {check_now}.',
    error_at_column: 'ERROR w kolumnie {column}: {message}',
    error_status: 'ERROR: {message}',
    row: 'wiersz {row}',
    service_answered: 'usługa kpirules odpowiedziała kodem {code}',
    protection: 'kpirules: zapisuje silnik ({column})',
    as_of: 'na dzień',
    as_of_empty: 'Puste: dziś w strefie czasowej arkusza',
    select_rule: 'Zaznacz tę regułę w arkuszu',
    target: 'cel {target}',
    summary: 'Reguły: {n} na dzień {date} \u2014 {counts}',
    summary_undated: 'Reguły: {n} \u2014 {counts}',
    no_results: 'Brak wyników: naciśnij {check_now}.',
    checking: 'Sprawdzanie\u2026',
    Status: 'Stan', Value: 'Wartość', Target: 'Próg docelowy', Period: 'Okres', Checked: 'Sprawdzono',
    Message: 'Komunikat'
  }
};

// What the sidebar shows, sent to it with the results (sidebarText_).
var SIDEBAR_KEYS = ['menu', 'check_now', 'as_of', 'as_of_empty', 'select_rule', 'target', 'summary',
  'summary_undated', 'no_results', 'checking'];

/** 'pl' for a Polish locale (pl, pl_PL, pl-PL), else 'en'. */
function languageOf_(locale) {
  var code = String(locale || '').trim().toLowerCase().split(/[-_]/)[0];
  return LANGUAGES.indexOf(code) >= 0 ? code : 'en';
}

var LANGUAGE_ = null; // found once an execution (Apps Script runs each menu call afresh)

/**
 * The language the add-on speaks, as the engine chooses it for the results: the Settings
 * tab's `language` (en, pl), else the sheet's locale, else (a menu built before the add-on
 * is authorised cannot read the sheet) the user's.
 */
function language_() {
  if (LANGUAGE_ !== null) {
    return LANGUAGE_;
  }
  var locale = '';
  var chosen = null;
  try {
    var ss = SpreadsheetApp.getActiveSpreadsheet();
    chosen = settingsLanguage_(ss);
    locale = ss.getSpreadsheetLocale();
  } catch (err) {
    locale = '';
  }
  if (!chosen && !locale && typeof Session !== 'undefined') {
    try {
      locale = Session.getActiveUserLocale();
    } catch (err) {
      locale = ''; // English
    }
  }
  LANGUAGE_ = chosen || languageOf_(locale);
  return LANGUAGE_;
}

/** The Settings tab's `language` row (key in column A, value in B), when it names one. */
function settingsLanguage_(ss) {
  var settings = typeof SETTINGS_TAB !== 'undefined' ? findSheet_(ss, SETTINGS_TAB) : null;
  if (!settings || settings.getLastRow() < 1 || settings.getLastColumn() < 2) {
    return null;
  }
  var rows = settings.getRange(1, 1, settings.getLastRow(), 2).getValues();
  for (var i = 0; i < rows.length; i++) {
    if (String(rows[i][0]).trim().toLowerCase() === 'language') {
      var value = String(rows[i][1]).trim().toLowerCase();
      return LANGUAGES.indexOf(value) >= 0 ? value : null;
    }
  }
  return null;
}

/** Which plural form of a list: English [one, other]; Polish [one, few, many]. */
function pluralIndex_(lang, n) {
  if (lang === 'pl') {
    if (n === 1) {
      return 0;
    }
    return n % 10 >= 2 && n % 10 <= 4 && (n % 100 < 12 || n % 100 > 14) ? 1 : 2;
  }
  return n === 1 ? 0 : 1;
}

/** Fill {name} placeholders from ``params``; unknown ones stay as they are. */
function fill_(text, params) {
  return String(text).replace(/\{(\w+)\}/g, function (whole, name) {
    return params && Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole;
  });
}

/**
 * The text ``key`` in ``lang`` (default: language_()), its placeholders filled from
 * ``params``; a plural text picks its form by ``params.n``. The menu's names fill {menu},
 * {check_now} and {set_up} unless ``params`` gives them.
 */
function t_(key, params, lang) {
  lang = lang || language_();
  var table = MESSAGES[lang] || MESSAGES.en;
  var text = key in table ? table[key] : MESSAGES.en[key];
  if (text === undefined) {
    throw new Error('no add-on message ' + key);
  }
  if (Array.isArray(text)) {
    text = text[Math.min(pluralIndex_(lang, Number(params && params.n)), text.length - 1)];
  }
  var names = { menu: table.menu, check_now: table.check_now, set_up: table.set_up };
  return fill_(text, Object.assign(names, params || {}));
}

/** A column header of the engine's in ``lang``. */
function columnLabel_(label, lang) {
  return t_(label, null, lang);
}

/** Every language's text for ``key`` (to recognise what an earlier run wrote in another). */
function allTexts_(key, params) {
  return LANGUAGES.map(function (lang) { return t_(key, params, lang); });
}

/** A day (YYYY-MM-DD) as the language writes it: 2026-11-26, or 26.11.2026 in Polish. */
function dateText_(day, lang) {
  var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(day || ''));
  if (!m) {
    return day || '';
  }
  return (lang || language_()) === 'pl' ? m[3] + '.' + m[2] + '.' + m[1] : day;
}

/** The sidebar's texts in ``lang``, and the language itself (its page's lang attribute). */
function sidebarText_(lang) {
  lang = lang || language_();
  var out = { lang: lang };
  SIDEBAR_KEYS.forEach(function (key) {
    out[key] = t_(key, null, lang); // {n}, {date}, {counts}, {target}: the sidebar fills them
  });
  return out;
}
