'use strict';
/**
 * A fake of the Apps Script runtime, for running Code.gs under node: SpreadsheetApp,
 * UrlFetchApp, HtmlService, ScriptApp and Utilities, as far as the add-on uses them.
 *
 * This is the one mock of the add-on's tests: the Apps Script runtime cannot run outside
 * Google. Everything else is real: UrlFetchApp.fetch makes a real (synchronous, as in Apps
 * Script) HTTP request, so the add-on talks to a real `kpirules serve`.
 *
 * Where Sheets' behaviour matters to the add-on, the fake does what Sheets does:
 * setValues parses text as a person's typing would be parsed ("=..." becomes a formula,
 * "12" a number, "2026-12-06 10:01" a date) unless it starts with an apostrophe; ranges
 * outside the grid throw; getDisplayValues formats numbers by their number format.
 */

const fs = require('fs');
const path = require('path');
const vm = require('vm');
const { execFileSync } = require('child_process');

const ADDON_DIR = path.resolve(__dirname, '..');
// The add-on's server-side files: Apps Script runs them in one global scope.
const ADDON_SCRIPTS = ['Config.gs', 'Messages.gs', 'Code.gs'];

function isDate(v) {
  return Object.prototype.toString.call(v) === '[object Date]';
}

/** A cell from a fixture: {"$date": "2025-06-01T00:00:00"} is a date in UTC. */
function fromFixture(v) {
  if (v && typeof v === 'object' && '$date' in v) {
    const text = v.$date.length === 10 ? v.$date + 'T00:00:00' : v.$date;
    return new Date(text + 'Z');
  }
  return v === null || v === undefined ? '' : v;
}

/** What Sheets stores for a value given to setValue(s). */
function parseTyped(v) {
  if (typeof v !== 'string') {
    return { value: v === null || v === undefined ? '' : v };
  }
  if (v.startsWith("'")) {
    return { value: v.slice(1) };
  }
  if (v.startsWith('=')) {
    return { value: '', formula: v };
  }
  if (/^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(v)) {
    return { value: Number(v) };
  }
  if (/^\s*[-+]?\d+(\.\d+)?%\s*$/.test(v)) {
    return { value: Number(v.trim().slice(0, -1)) / 100 };
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}))?$/.exec(v.trim());
  if (m) {
    return { value: new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0))) };
  }
  return { value: v };
}

function formatDate(date, tz, pattern) {
  const parts = {};
  new Intl.DateTimeFormat('en-CA', {
    timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    second: '2-digit', hourCycle: 'h23'
  }).formatToParts(date).forEach((p) => { parts[p.type] = p.value; });
  return pattern.replace(/'([^']*)'|yyyy|MM|dd|HH|mm|ss/g, (token, quoted) => {
    if (quoted !== undefined) return quoted;
    return { yyyy: parts.year, MM: parts.month, dd: parts.day, HH: parts.hour, mm: parts.minute, ss: parts.second }[token];
  });
}

function display(value, format) {
  if (value === '' || value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (isDate(value)) return formatDate(value, 'Etc/GMT', 'yyyy-MM-dd');
  if (typeof value !== 'number') return String(value);
  const fixed = (n) => value.toLocaleString('en-US', { minimumFractionDigits: n, maximumFractionDigits: n });
  switch (format) {
    case '0.00%': return (value * 100).toFixed(2) + '%';
    case '#,##0': return fixed(0);
    case '#,##0.00': return fixed(2);
    case '0.0000': return value.toFixed(4);
    default: return String(value);
  }
}

class FakeRange {
  constructor(sheet, row, column, numRows, numColumns) {
    if (row < 1 || column < 1 || numRows < 1 || numColumns < 1 ||
        row + numRows - 1 > sheet.maxRows || column + numColumns - 1 > sheet.maxColumns) {
      throw new Error('Exception: The coordinates of the range are outside the dimensions of the sheet.');
    }
    Object.assign(this, { sheet, row, column, numRows, numColumns });
  }

  getSheet() { return this.sheet; }
  getRow() { return this.row; }
  getColumn() { return this.column; }
  getNumRows() { return this.numRows; }
  getNumColumns() { return this.numColumns; }
  getA1Notation() { return this.sheet.a1(this.row, this.column); }

  map(fn) {
    const out = [];
    for (let r = 0; r < this.numRows; r++) {
      const line = [];
      for (let c = 0; c < this.numColumns; c++) line.push(fn(this.row + r, this.column + c, r, c));
      out.push(line);
    }
    return out;
  }

  getValues() { return this.map((r, c) => this.sheet.cell(r, c).value); }
  getDisplayValues() { return this.map((r, c) => display(this.sheet.cell(r, c).value, this.sheet.cell(r, c).format)); }
  getNumberFormats() { return this.map((r, c) => this.sheet.cell(r, c).format || 'General'); }
  getNotes() { return this.map((r, c) => this.sheet.cell(r, c).note || ''); }
  getFormulas() { return this.map((r, c) => this.sheet.cell(r, c).formula || ''); }

  setValues(values) {
    if (values.length !== this.numRows || values.some((l) => l.length !== this.numColumns)) {
      throw new Error('Exception: The number of rows or columns in the data does not match the range.');
    }
    this.map((r, c, i, j) => this.sheet.put(r, c, parseTyped(values[i][j])));
    return this;
  }

  setValue(value) {
    return this.setValues(this.map(() => value));
  }

  setNumberFormats(formats) {
    this.map((r, c, i, j) => { this.sheet.cell(r, c, true).format = formats[i][j]; });
    return this;
  }

  setNote(note) {
    this.map((r, c) => { this.sheet.cell(r, c, true).note = note; });
    return this;
  }

  setFontWeight(weight) {
    this.map((r, c) => { this.sheet.cell(r, c, true).fontWeight = weight; });
    return this;
  }

  setDataValidation(rule) {
    this.map((r, c) => { this.sheet.cell(r, c, true).validation = rule; });
    return this;
  }

  protect() {
    const protection = new FakeProtection(this);
    this.sheet.protections.push(protection);
    return protection;
  }
}

class FakeProtection {
  constructor(range) {
    this.range = range;
    this.description = '';
    this.warningOnly = false;
  }
  getRange() { return this.range; }
  setDescription(d) { this.description = d; return this; }
  getDescription() { return this.description; }
  setWarningOnly(w) { this.warningOnly = w; return this; }
  isWarningOnly() { return this.warningOnly; }
}

class FakeSheet {
  constructor(spreadsheet, name, rows) {
    this.spreadsheet = spreadsheet;
    this.name = name;
    this.cells = new Map(); // "r,c" -> {value, formula, format, note, validation}
    (rows || []).forEach((line, r) => line.forEach((v, c) => {
      const value = fromFixture(v);
      if (value !== '') this.cell(r + 1, c + 1, true).value = value;
    }));
    this.maxRows = Math.max(1000, (rows || []).length);
    this.maxColumns = Math.max(26, ...(rows || []).map((l) => l.length));
    this.frozenRows = 0;
    this.conditionalRules = [];
    this.protections = [];
  }

  cell(r, c, create) {
    const key = r + ',' + c;
    let cell = this.cells.get(key);
    if (!cell) {
      cell = { value: '' };
      if (create) this.cells.set(key, cell);
    }
    return cell;
  }

  put(r, c, typed) {
    const cell = this.cell(r, c, true);
    cell.value = typed.value;
    if (typed.formula) cell.formula = typed.formula; else delete cell.formula;
  }

  a1(r, c) {
    let letters = '';
    for (let n = c; n > 0; n = Math.floor((n - 1) / 26)) letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
    return letters + r;
  }

  used() {
    let lastRow = 0;
    let lastColumn = 0;
    for (const [key, cell] of this.cells) {
      if (cell.value === '' && !cell.formula) continue;
      const [r, c] = key.split(',').map(Number);
      lastRow = Math.max(lastRow, r);
      lastColumn = Math.max(lastColumn, c);
    }
    return [lastRow, lastColumn];
  }

  getName() { return this.name; }
  getParent() { return this.spreadsheet; }
  getLastRow() { return this.used()[0]; }
  getLastColumn() { return this.used()[1]; }
  getMaxRows() { return this.maxRows; }
  getMaxColumns() { return this.maxColumns; }
  getRange(row, column, numRows, numColumns) {
    return new FakeRange(this, row, column, numRows || 1, numColumns || 1);
  }
  getDataRange() {
    const [r, c] = this.used();
    return new FakeRange(this, 1, 1, Math.max(r, 1), Math.max(c, 1));
  }
  insertColumnsAfter(after, howMany) { this.maxColumns += howMany; return this; }
  setFrozenRows(n) { this.frozenRows = n; }
  getFrozenRows() { return this.frozenRows; }
  getConditionalFormatRules() { return this.conditionalRules.slice(); }
  setConditionalFormatRules(rules) { this.conditionalRules = rules.slice(); }
  getProtections(type) { return type === 'RANGE' ? this.protections.slice() : []; }
  setActiveRange(range) { this.spreadsheet.activeRange = range; return range; }

  /** The tab as rows of values (what a test compares), trimmed to the used range. */
  values() {
    const [rows, columns] = this.used();
    return rows ? new FakeRange(this, 1, 1, rows, columns).getValues() : [];
  }
}

class RuleBuilder {
  constructor() { this.rule = { ranges: [], format: {} }; }
  setRanges(ranges) { this.rule.ranges = ranges; return this; }
  setBackground(c) { this.rule.format.background = c; return this; }
  setFontColor(c) { this.rule.format.fontColor = c; return this; }
  whenTextEqualTo(t) { this.rule.condition = { type: 'TEXT_EQ', values: [t] }; return this; }
  whenTextStartsWith(t) { this.rule.condition = { type: 'TEXT_STARTS_WITH', values: [t] }; return this; }
  build() {
    const rule = this.rule;
    return {
      raw: rule,
      getRanges: () => rule.ranges.slice(),
      getBooleanCondition: () => rule.condition && {
        getCriteriaType: () => rule.condition.type, getCriteriaValues: () => rule.condition.values.slice(),
        getBackground: () => rule.format.background, getFontColor: () => rule.format.fontColor
      }
    };
  }
}

class FakeSpreadsheet {
  constructor({ tabs = {}, timeZone = 'Etc/GMT', locale = 'en_US' } = {}) {
    this.sheets = Object.keys(tabs).map((name) => new FakeSheet(this, name, tabs[name]));
    this.timeZone = timeZone;
    this.locale = locale;
    this.toasts = [];
    this.activeSheet = this.sheets[0] || null;
    this.activeRange = null;
  }
  getSheetByName(name) { return this.sheets.find((s) => s.name === name) || null; }
  getSheets() { return this.sheets.slice(); }
  insertSheet(name) { const s = new FakeSheet(this, name, []); this.sheets.push(s); return s; }
  getSpreadsheetTimeZone() { return this.timeZone; }
  getSpreadsheetLocale() { return this.locale; }
  toast(message, title) { this.toasts.push({ message, title }); }
  setActiveSheet(sheet) { this.activeSheet = sheet; return sheet; }
}

/** Synchronous HTTP, as UrlFetchApp is: a child node process makes the request. */
function fetchSync(url, params) {
  const script = `
    const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    fetch(input.url, { method: input.method, headers: input.headers, body: input.body })
      .then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })))
      .catch((e) => process.stdout.write(JSON.stringify({ error: String(e && e.cause || e) })));`;
  const headers = Object.assign({}, params.headers || {});
  if (params.contentType) headers['Content-Type'] = params.contentType;
  const out = JSON.parse(execFileSync(process.execPath, ['-e', script], {
    input: JSON.stringify({ url, method: (params.method || 'get').toUpperCase(), headers, body: params.payload }),
    maxBuffer: 256 * 1024 * 1024
  }).toString());
  if (out.error) {
    throw new Error('Exception: Address unavailable: ' + url + ' (' + out.error + ')');
  }
  if (out.status >= 400 && !params.muteHttpExceptions) {
    throw new Error('Exception: Request failed for ' + url + ' returned code ' + out.status);
  }
  return { getResponseCode: () => out.status, getContentText: () => out.body };
}

/**
 * A runtime around one spreadsheet. ``options``: tabs (name -> rows), timeZone, locale (the
 * spreadsheet's, e.g. pl_PL), userLocale (Session's), identityToken (what
 * ScriptApp.getIdentityToken() answers).
 */
function makeRuntime(options = {}) {
  const spreadsheet = new FakeSpreadsheet(options);
  const record = { menus: [], sidebars: [], alerts: [], fetches: [], triggers: [] };
  const ui = {
    ButtonSet: { OK: 'OK' },
    createMenu(name) {
      const menu = { name, items: [] };
      const builder = {
        addItem(caption, fn) { menu.items.push([caption, fn]); return builder; },
        addSeparator() { menu.items.push(['-', null]); return builder; },
        addToUi() { record.menus.push(menu); }
      };
      return builder;
    },
    alert(title, message) { record.alerts.push({ title, message }); return 'OK'; },
    showSidebar(html) { record.sidebars.push(html); }
  };
  const globals = {
    SpreadsheetApp: {
      getActiveSpreadsheet: () => spreadsheet,
      getUi: () => ui,
      newConditionalFormatRule: () => new RuleBuilder(),
      newDataValidation: () => {
        const rule = {};
        const b = {
          requireCheckbox() { rule.type = 'CHECKBOX'; return b; },
          setAllowInvalid(a) { rule.allowInvalid = a; return b; },
          build() { return Object.assign({}, rule); }
        };
        return b;
      },
      ProtectionType: { RANGE: 'RANGE', SHEET: 'SHEET' },
      flush() {}
    },
    UrlFetchApp: {
      fetch(url, params) {
        record.fetches.push({ url, method: params.method, path: new URL(url).pathname,
          body: params && params.payload ? JSON.parse(params.payload) : null });
        return fetchSync(url, params || {});
      }
    },
    HtmlService: {
      createHtmlOutputFromFile(name) {
        let content = fs.readFileSync(path.join(ADDON_DIR, name + '.html'), 'utf8');
        let title = '';
        const output = {
          append(more) { content += more; return output; },
          setTitle(t) { title = t; return output; },
          getTitle() { return title; },
          getContent() { return content; }
        };
        return output;
      }
    },
    ScriptApp: {
      getIdentityToken: () => options.identityToken || '',
      getProjectTriggers: () => record.triggers.map((t) => ({ getHandlerFunction: () => t.handler })),
      newTrigger(handler) {
        const trigger = { handler };
        const b = {
          forSpreadsheet(ss) { trigger.spreadsheet = ss; return b; },
          onEdit() { trigger.event = 'ON_EDIT'; return b; },
          create() { record.triggers.push(trigger); return trigger; }
        };
        return b;
      }
    },
    Utilities: { formatDate },
    Session: { getActiveUserLocale: () => options.userLocale || 'en' }
  };
  return { spreadsheet, record, globals };
}

/** Load Config.gs, Messages.gs and Code.gs into a fresh context with the runtime's globals, as Apps
 * Script does (one global scope). ``serviceUrl`` replaces Config.gs's URL. */
function loadAddon(runtime, serviceUrl) {
  const context = vm.createContext(Object.assign({ console }, runtime.globals));
  for (const file of ADDON_SCRIPTS) {
    vm.runInContext(fs.readFileSync(path.join(ADDON_DIR, file), 'utf8'), context, { filename: file });
  }
  if (serviceUrl) context.KPIRULES_SERVICE_URL = serviceUrl;
  return context;
}

/** An edit event as Sheets passes it to an on-edit trigger. */
function editEvent(sheet, row, column, numRows, numColumns) {
  const range = sheet.getRange(row, column, numRows || 1, numColumns || 1);
  return { range, source: sheet.getParent(), value: range.getValues()[0][0] };
}

module.exports = { makeRuntime, loadAddon, editEvent, formatDate, display, ADDON_DIR, ADDON_SCRIPTS };
