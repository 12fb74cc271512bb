/**
 * kpirules in the sheet: a "KPI rules" menu, a sidebar with the results, and instant
 * feedback while rules are edited.
 *
 * The engine is not here: it runs in the kpirules service (`kpirules serve`). This script
 * reads the Rules, Data and Settings tabs, sends their values to /v1/evaluate, and writes
 * back the cells the service answers: the same cells `kpirules run` writes (Status, Value,
 * Target, Period, Checked, Message). The service never sees the sheet itself, needs no
 * access to it, and keeps nothing.
 *
 * Every text is written as text (a leading apostrophe), never as a formula: messages quote
 * segment names, which come from the data.
 */

var RULES_TAB = 'Rules';
var DATA_TAB = 'Data';
var SETTINGS_TAB = 'Settings';
// The engine's columns, by their English names; a Polish sheet's headers are Polish
// (columnLabel_, Messages.gs), as `kpirules run` writes them.
var ENGINE_COLUMNS = ['Status', 'Value', 'Target', 'Period', 'Checked', 'Message'];
var USER_COLUMNS = ['Name', 'Rule', 'Enabled', 'Owner', 'Description'];
var MAX_EDITED_ROWS = 50; // a larger paste is checked by "Check now", not one call per edit

// Status colours: the same as `kpirules run` and `kpirules init` use (fill, text).
var STATUS_COLOURS = {
  PASS: ['#D9EAD3', '#274E13'],
  WARN: ['#FFE599', '#7F6000'],
  FAIL: ['#F4CCCC', '#990000'],
  NO_DATA: ['#E0E0E0', '#434343'],
  ERROR: ['#CC0000', '#FFFFFF'],
  OFF: ['#F3F3F3', '#999999']
};

// --- menu --------------------------------------------------------------------------

function onOpen(e) {
  SpreadsheetApp.getUi()
    .createMenu(t_('menu'))
    .addItem(t_('check_now'), 'checkNow')
    .addItem(t_('validate_rules'), 'validateRules')
    .addItem(t_('show_results'), 'showResults')
    .addSeparator()
    .addItem(t_('set_up'), 'setUpSheet')
    .addToUi();
}

/** An error the user reads: "KPI rules: ..." in the sheet's language. */
function userError_(message) {
  return new Error(t_('error', { message: message }));
}

function onInstall(e) {
  onOpen(e);
}

/**
 * Menu: evaluate every rule now, write the results next to them, show the sidebar.
 * ``asOf`` (optional, YYYY-MM-DD): evaluate as of that day, as `kpirules check --as-of`
 * does (a fixed "now": the same answer whenever it is asked); without it, as of today in
 * the sheet's time zone, which the service works out from the time zone sent.
 */
function checkNow(asOf) {
  var answer = evaluateSheet_(asOf);
  if (answer) {
    showSidebar_(answer.rules, answer.as_of);
  }
  return answer;
}

/** Sidebar: "Check now" from its own button (and its "as of" date); answers what the sidebar lists. */
function checkNowForSidebar(asOf) {
  var answer = evaluateSheet_(asOf);
  return answer ? sidebarData_(answer.rules, answer.as_of) : null;
}

/**
 * ``value`` as the as_of the service takes: '' for none (a menu passes no text), the date
 * when it is a real YYYY-MM-DD day; anything else is an error that says how to write it,
 * raised before any call (the service checks it again).
 */
function asOfText_(value) {
  if (typeof value !== 'string' || value.trim() === '') {
    return '';
  }
  var text = value.trim();
  var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  var day = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
  if (!day || day.getUTCFullYear() !== Number(m[1]) || day.getUTCMonth() !== Number(m[2]) - 1 ||
      day.getUTCDate() !== Number(m[3])) {
    throw userError_(t_('as_of_not_a_date', { value: JSON.stringify(text) }));
  }
  return text;
}

function evaluateSheet_(asOf) {
  var day = asOfText_(asOf);
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var rules = findSheet_(ss, RULES_TAB);
  var data = findSheet_(ss, DATA_TAB);
  if (!rules || !data) {
    SpreadsheetApp.getUi().alert(t_('menu'), t_('needs_tab', { tab: rules ? DATA_TAB : RULES_TAB }),
      SpreadsheetApp.getUi().ButtonSet.OK);
    return null;
  }
  var tz = ss.getSpreadsheetTimeZone();
  var body = {
    rules: tabValues_(rules, tz),
    data: tabValues_(data, tz),
    rules_tab: rules.getName(),
    data_tab: data.getName(),
    time_zone: tz,
    locale: ss.getSpreadsheetLocale()
  };
  var settings = findSheet_(ss, SETTINGS_TAB);
  if (settings) {
    body.settings = tabValues_(settings, tz);
  }
  if (day) {
    body.as_of = day;
  }
  var answer = callService_('/v1/evaluate', body);
  writeCells_(rules, answer.cells);
  return answer;
}

/** Menu: check every rule's text (and its column names against the Data tab). */
function validateRules() {
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var rules = findSheet_(ss, RULES_TAB);
  if (!rules) {
    SpreadsheetApp.getUi().alert(t_('menu'), t_('no_tab', { tab: RULES_TAB }), SpreadsheetApp.getUi().ButtonSet.OK);
    return null;
  }
  var rows = [];
  var lastRow = rules.getLastRow();
  for (var row = 2; row <= lastRow; row++) {
    rows.push(row);
  }
  var answer = validateRows_(rules, rows);
  var bad = answer ? answer.rules.filter(function (r) { return !r.ok; }) : [];
  ss.toast(bad.length ? t_('rules_need_a_fix', { n: bad.length, status: t_('Status') }) : t_('all_valid'),
    t_('menu'));
  return answer;
}

/** Menu: the sidebar with the results the Rules tab holds now. */
function showResults() {
  var rules = findSheet_(SpreadsheetApp.getActiveSpreadsheet(), RULES_TAB);
  var results = rules ? readResults_(rules) : [];
  showSidebar_(results, null);
  return results;
}

/** Sidebar: select the row of the rule clicked. */
function selectRule(row) {
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var rules = findSheet_(ss, RULES_TAB);
  if (!rules || !(row >= 2)) {
    return;
  }
  ss.setActiveSheet(rules);
  rules.setActiveRange(rules.getRange(row, 1, 1, Math.max(1, rules.getLastColumn())));
}

// --- instant validation ----------------------------------------------------------

/**
 * Installable on-edit trigger (Set up this sheet installs it: a simple onEdit trigger may
 * not call URLs). An edited rule is validated at once; its Status cell says what is wrong
 * and at which column of the rule, its Message cell shows the rule with a caret.
 */
function onRulesEdit(e) {
  if (!e || !e.range) {
    return;
  }
  var sheet = e.range.getSheet();
  if (!sameName_(sheet.getName(), RULES_TAB)) {
    return;
  }
  var columns = headerColumns_(sheet);
  var ruleCol = columns.rule;
  var first = e.range.getColumn();
  var last = first + e.range.getNumColumns() - 1;
  if (!ruleCol || ruleCol < first || ruleCol > last || e.range.getNumRows() > MAX_EDITED_ROWS) {
    return;
  }
  var rows = [];
  for (var r = Math.max(2, e.range.getRow()); r < e.range.getRow() + e.range.getNumRows(); r++) {
    rows.push(r);
  }
  validateRows_(sheet, rows);
}

function validateRows_(sheet, rows) {
  var columns = headerColumns_(sheet);
  if (!columns.rule || !rows.length) {
    return null;
  }
  var width = sheet.getLastColumn();
  var first = rows[0];
  var values = sheet.getRange(first, 1, rows[rows.length - 1] - first + 1, width).getValues();
  var asked = [];
  rows.forEach(function (row) {
    var line = values[row - first];
    var text = String(line[columns.rule - 1] === null ? '' : line[columns.rule - 1]).trim();
    if (text) {
      var name = columns.name ? String(line[columns.name - 1] || '') : '';
      asked.push({ name: name || t_('row', { row: row }), rule: text, row: row });
    }
  });
  if (!asked.length) {
    return null;
  }
  var body = { rules: asked, locale: sheet.getParent().getSpreadsheetLocale() };
  var data = findSheet_(sheet.getParent(), DATA_TAB);
  if (data && data.getLastColumn() > 0) {
    body.headers = data.getRange(1, 1, 1, data.getLastColumn()).getValues()[0].map(String);
  }
  var answer = callService_('/v1/validate', body);
  answer.rules.forEach(function (result) {
    var status = result.ok ? 'VALID' : problemStatus_(result.problems[0]);
    var message = result.ok ? t_('rule_is_valid') :
      result.problems.map(function (p) { return p.text; }).join('\n');
    if (columns.status) {
      writeText_(sheet.getRange(result.row, columns.status), status);
    }
    if (columns.message) {
      writeText_(sheet.getRange(result.row, columns.message), message);
    }
  });
  return answer;
}

/** "ERROR at column 11: unknown column `visitz`; did you mean `visits`?" (the status word
 * stays ERROR in every language: the Status column's colours start from it). */
function problemStatus_(problem) {
  return problem.column ? t_('error_at_column', { column: problem.column, message: problem.message }) :
    t_('error_status', { message: problem.message });
}

// --- set up ----------------------------------------------------------------------

/**
 * Menu: what `kpirules init` does to a Google Sheet, for a sheet set up from here: a Rules
 * tab, frozen headers, Enabled as a checkbox, colours on the Status column (conditional
 * formatting, installed once), the engine's columns protected with a warning, and the
 * on-edit trigger for instant validation. Safe to run again: nothing is added twice.
 */
function setUpSheet() {
  var ss = SpreadsheetApp.getActiveSpreadsheet();
  var sheet = findSheet_(ss, RULES_TAB);
  var engineHeaders = ENGINE_COLUMNS.map(function (label) { return columnLabel_(label); });
  if (!sheet) {
    sheet = ss.insertSheet(RULES_TAB);
    var headers = USER_COLUMNS.concat(engineHeaders);
    sheet.getRange(1, 1, 1, headers.length).setValues([headers]).setFontWeight('bold');
  }
  var columns = headerColumns_(sheet);
  var width = sheet.getLastColumn();
  ENGINE_COLUMNS.forEach(function (label, i) {
    if (!columns[label.toLowerCase()]) {
      width += 1;
      sheet.getRange(1, width).setValue(engineHeaders[i]).setFontWeight('bold');
    }
  });
  columns = headerColumns_(sheet);
  if (sheet.getFrozenRows() < 1) {
    sheet.setFrozenRows(1);
  }
  var rows = Math.max(sheet.getMaxRows() - 1, 1);
  if (columns.enabled) {
    enabledCheckboxes_(sheet.getRange(2, columns.enabled, rows, 1));
  }
  if (columns.status) {
    statusColours_(sheet, sheet.getRange(2, columns.status, rows, 1));
  }
  protectEngineColumns_(sheet, columns, rows);
  installEditTrigger_(ss);
  ss.toast(t_('set_up_done', { tab: sheet.getName() }), t_('menu'));
}

/** Enabled as a checkbox; old yes/no cells become ticked/unticked (the engine reads both). */
function enabledCheckboxes_(range) {
  var values = range.getValues();
  var changed = false;
  var words = { yes: true, y: true, true: true, on: true, no: false, n: false, false: false, off: false };
  values = values.map(function (row) {
    var key = String(row[0]).trim().toLowerCase();
    if (typeof row[0] === 'string' && key in words) {
      changed = true;
      return [words[key]];
    }
    return row;
  });
  if (changed) {
    range.setValues(values);
  }
  range.setDataValidation(SpreadsheetApp.newDataValidation().requireCheckbox().setAllowInvalid(false).build());
}

function statusColours_(sheet, range) {
  var existing = sheet.getConditionalFormatRules();
  var column = range.getColumn();
  var installed = existing.some(function (rule) {
    return rule.getRanges().some(function (r) { return r.getColumn() === column; }) &&
      rule.getBooleanCondition() && String(rule.getBooleanCondition().getCriteriaValues()[0]) === 'PASS';
  });
  if (installed) {
    return false;
  }
  var added = Object.keys(STATUS_COLOURS).map(function (status) {
    var builder = SpreadsheetApp.newConditionalFormatRule().setRanges([range])
      .setBackground(STATUS_COLOURS[status][0]).setFontColor(STATUS_COLOURS[status][1]);
    // ERROR also colours instant validation's "ERROR at column 11: ..."
    builder = status === 'ERROR' ? builder.whenTextStartsWith(status) : builder.whenTextEqualTo(status);
    return builder.build();
  });
  sheet.setConditionalFormatRules(existing.concat(added));
  return true;
}

function protectEngineColumns_(sheet, columns, rows) {
  var described = sheet.getProtections(SpreadsheetApp.ProtectionType.RANGE).map(function (p) {
    return p.getDescription();
  });
  ENGINE_COLUMNS.forEach(function (label) {
    var col = columns[label.toLowerCase()];
    // Once, whichever language set the sheet up before: "kpirules: written by the engine (Status)"
    var earlier = LANGUAGES.map(function (lang) {
      return t_('protection', { column: columnLabel_(label, lang) }, lang);
    });
    var description = t_('protection', { column: columnLabel_(label) });
    if (col && !earlier.some(function (d) { return described.indexOf(d) >= 0; })) {
      sheet.getRange(1, col, rows + 1, 1).protect().setDescription(description).setWarningOnly(true);
    }
  });
}

function installEditTrigger_(ss) {
  var present = ScriptApp.getProjectTriggers().some(function (t) {
    return t.getHandlerFunction() === 'onRulesEdit';
  });
  if (!present) {
    ScriptApp.newTrigger('onRulesEdit').forSpreadsheet(ss).onEdit().create();
  }
}

// --- the service -----------------------------------------------------------------

function callService_(path, body) {
  var response = UrlFetchApp.fetch(KPIRULES_SERVICE_URL.replace(/\/+$/, '') + path, {
    method: 'post',
    contentType: 'application/json',
    payload: JSON.stringify(body),
    // The service says what is wrong with a request in this language (the results follow the sheet).
    headers: { Authorization: 'Bearer ' + ScriptApp.getIdentityToken(), 'Accept-Language': language_() },
    muteHttpExceptions: true
  });
  var code = response.getResponseCode();
  var answer = null;
  try {
    answer = JSON.parse(response.getContentText());
  } catch (err) {
    answer = null;
  }
  if (code !== 200) {
    var error = answer && answer.error;
    var text = error ? error.message + (error.hint ? ' (' + error.hint + ')' : '') :
      t_('service_answered', { code: code });
    throw userError_(text);
  }
  return answer;
}

// --- reading and writing the sheet ------------------------------------------------

function findSheet_(ss, name) {
  var exact = ss.getSheetByName(name);
  if (exact) {
    return exact;
  }
  var found = ss.getSheets().filter(function (s) { return sameName_(s.getName(), name); });
  return found.length ? found[0] : null;
}

function sameName_(a, b) {
  return String(a).trim().toLowerCase() === String(b).trim().toLowerCase();
}

/** Header label (lower case, English) -> 1-based column, for the Rules tab's columns; the
 * engine's columns are found by their header in either language ("Stan" is status). */
function headerColumns_(sheet) {
  var width = sheet.getLastColumn();
  var out = {};
  if (width < 1) {
    return out;
  }
  var english = {};
  ENGINE_COLUMNS.forEach(function (label) {
    LANGUAGES.forEach(function (lang) {
      english[columnLabel_(label, lang).toLowerCase()] = label.toLowerCase();
    });
  });
  sheet.getRange(1, 1, 1, width).getValues()[0].forEach(function (header, i) {
    var key = String(header).trim().toLowerCase();
    key = english[key] || key;
    if (key && !(key in out)) {
      out[key] = i + 1;
    }
  });
  return out;
}

/** A tab's values for the service: dates as ISO text in the sheet's time zone. */
function tabValues_(sheet, tz) {
  if (sheet.getLastRow() < 1 || sheet.getLastColumn() < 1) {
    return [[]];
  }
  return sheet.getDataRange().getValues().map(function (row) {
    return row.map(function (value) { return cellJson_(value, tz); });
  });
}

function cellJson_(value, tz) {
  if (Object.prototype.toString.call(value) === '[object Date]') {
    var text = Utilities.formatDate(value, tz, "yyyy-MM-dd'T'HH:mm:ss");
    return text.slice(11) === '00:00:00' ? text.slice(0, 10) : text;
  }
  return value;
}

/**
 * Write the service's cells: per column, one read and one write of the rows it touches
 * (cells between them keep their value), then the number formats and header notes.
 */
function writeCells_(sheet, cells) {
  var byColumn = {};
  cells.forEach(function (cell) {
    (byColumn[cell.column] = byColumn[cell.column] || []).push(cell);
  });
  var maxColumn = Math.max.apply(null, Object.keys(byColumn).map(Number).concat([0]));
  if (maxColumn > sheet.getMaxColumns()) {
    sheet.insertColumnsAfter(sheet.getMaxColumns(), maxColumn - sheet.getMaxColumns());
  }
  Object.keys(byColumn).forEach(function (key) {
    var list = byColumn[key];
    var column = Number(key);
    var top = Math.min.apply(null, list.map(function (c) { return c.row; }));
    var bottom = Math.max.apply(null, list.map(function (c) { return c.row; }));
    var range = sheet.getRange(top, column, bottom - top + 1, 1);
    var values = range.getValues();
    var formats = range.getNumberFormats();
    list.forEach(function (cell) {
      values[cell.row - top][0] = asCellValue_(cell.value);
      if (cell.number_format) {
        formats[cell.row - top][0] = cell.number_format;
      }
    });
    range.setValues(values);
    range.setNumberFormats(formats);
    list.forEach(function (cell) {
      if (cell.note) {
        sheet.getRange(cell.row, column).setNote(cell.note);
      }
    });
  });
}

/** Text always stays text: the apostrophe stops Sheets reading "=..." as a formula, or
 * "2026-12-06 10:01" as a date. Numbers and booleans go as they are. */
function asCellValue_(value) {
  if (value === null || value === undefined) {
    return '';
  }
  if (typeof value === 'string') {
    return value === '' ? '' : "'" + value;
  }
  return value;
}

function writeText_(range, text) {
  range.setValue(asCellValue_(text));
}

/** The results the Rules tab holds (as its cells show them), for the sidebar. */
function readResults_(sheet) {
  var columns = headerColumns_(sheet);
  var lastRow = sheet.getLastRow();
  if (!columns.status || lastRow < 2) {
    return [];
  }
  var shown = sheet.getRange(2, 1, lastRow - 1, sheet.getLastColumn()).getDisplayValues();
  var results = [];
  shown.forEach(function (line, i) {
    var pick = function (label) { return columns[label] ? line[columns[label] - 1] : ''; };
    if (pick('status') && pick('rule')) {
      results.push({ row: i + 2, name: pick('name') || t_('row', { row: i + 2 }), status: pick('status'),
        value: pick('value'), target: pick('target'), period: pick('period'), message: pick('message') });
    }
  });
  return results;
}

// --- sidebar ---------------------------------------------------------------------

function showSidebar_(results, asOf) {
  SpreadsheetApp.getUi().showSidebar(sidebarHtml_(results, asOf));
}

/** What the sidebar shows: the results, the day as the language writes it, and its texts. */
function sidebarData_(results, asOf) {
  var lang = language_();
  return { rules: results || [], as_of: asOf || null, as_of_text: asOf ? dateText_(asOf, lang) : null,
    text: sidebarText_(lang) };
}

/** The sidebar page with the results in it (as JSON that cannot close its script tag). */
function sidebarHtml_(results, asOf) {
  var json = JSON.stringify(sidebarData_(results, asOf)).replace(/</g, '\\u003c');
  return HtmlService.createHtmlOutputFromFile('Sidebar')
    .append('<script>render(' + json + ');</script>')
    .setTitle(t_('menu'));
}
