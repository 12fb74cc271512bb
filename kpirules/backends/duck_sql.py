"""The SQL the DuckDB backend runs for the reader's recipe (``kpirules.read``): macros that
read dates and numbers exactly as ``kpirules.read.dates`` and ``kpirules.read.numbers`` do,
for the spellings written here. Any other spelling is left NULL in SQL and judged by the
Python functions themselves (``kpirules.backends.duckdb_table``), so the two paths cannot
disagree: SQL takes a cell only where Python takes it with the same value."""

from __future__ import annotations

import re

# Python's str.isspace() characters: dimension_text and parse_number strip exactly these.
# parse_date's ISO pattern, ASCII only (anything else is re-checked by parse_date itself).
# Python's `$` also matches before a final newline.
_ISO = r"^[ \t\n\r\f\v]*([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})(?:\n?$|[ T])"
# The dates kp_date reads (any other spelling sends the file to the Python path).
SQL_DATE = re.compile(r"^\s*(?:\d{4}[-/]\d{1,2}[-/]\d{1,2}(?:$|[ T])|\d{8}\s*$|\d{1,2}\.\d{1,2}\.(?:\d{4}|\d{2})\.?(?:$|[ T,]))")
# kpirules.read.dates' D.M.YYYY (ASCII spaces; others are re-checked in Python)
_DOTTED = r"^[ \t\n\r\f\v]*([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4}|[0-9]{2})\.?(?:\n?$|[ T,])"


def sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# First characters a placeholder read as blank (read.numbers.BLANK_WORDS: `--`, `n/a`, `#N/A`...)
# may begin with: a cell starting otherwise with printable ASCII is filled, decided cheaply.
_PLACEHOLDER_STARTS = "('-', 'n', 'N', '#')"


def _blank_words() -> str:
    from kpirules.read.numbers import BLANK_WORDS

    return ", ".join(sql_str(w) for w in sorted(BLANK_WORDS))


def filled_sql(cell: str) -> str:
    """SQL: the cell holds a value (not ``numbers.holds_no_value``: None, whitespace only, or
    a placeholder such as `--` or `n/a`). A cell whose first character is printable ASCII
    ('!' <= c < U+0080, bytewise) and cannot begin a placeholder is filled: the common case,
    decided without stripping."""
    return (f"CASE WHEN {cell} >= '!' AND {cell} < '{chr(128)}' AND NOT (left({cell}, 1) IN {_PLACEHOLDER_STARTS}) "
            f"THEN true WHEN {cell} IS NULL THEN false "
            f"ELSE kp_text({cell}) <> '' AND lower(kp_text({cell})) NOT IN ({_blank_words()}) END")


def maybe_blank_sql(cell: str) -> str:
    """SQL: a cell the quick cube, which counts every cell that is not NULL as filled, may
    have got wrong (whitespace only, or a placeholder): when a row has one, the cube is
    built again the exact way (``filled_sql``)."""
    return (f"({cell} < '!' OR {cell} >= '{chr(128)}' OR (left({cell}, 1) IN {_PLACEHOLDER_STARTS} "
            f"AND lower(trim({cell})) IN ({_blank_words()})))")


def macros() -> list[str]:
    from kpirules.names import WHITESPACE
    from kpirules.read.numbers import MAX_NUMBER_CHARS

    ws = sql_str(WHITESPACE)
    iso = sql_str(_ISO)
    dot = sql_str(_DOTTED)
    return [
        # dimension_text: the cell stripped, '' when empty. The guard keeps the slow trim
        # with a character set off the common cell that starts and ends with a letter.
        "CREATE OR REPLACE TEMP MACRO kp_text(c) AS CASE WHEN c IS NULL THEN '' "
        "WHEN ord(c[1]) <= 32 OR ord(c[-1]) <= 32 OR ord(c[1]) >= 133 OR ord(c[-1]) >= 133 "
        f"THEN trim(c, {ws}) ELSE c END",
        # DuckDB's cast also takes 1_000 and +-1, which parse_number does not.
        "CREATE OR REPLACE TEMP MACRO kp_cast(t) AS CASE WHEN strpos(t, '_') = 0 AND "
        "strpos(t, '+-') = 0 THEN try_cast(t AS DOUBLE) END",
        # A column without a decimal mark that the Python path reads cell by cell
        # (kpirules.read.numbers.read_text with no mark): "1.500" is 1.5 or 1500, ambiguous.
        # Read cell by cell (read_text), a number spelt in over MAX_NUMBER_CHARS characters
        # is bad, whatever its mark; float() alone (a clean column, kp_cast) takes it.
        f"CREATE OR REPLACE TEMP MACRO kp_long(c) AS length(c) > {MAX_NUMBER_CHARS} "
        f"AND length(trim(c, {ws})) > {MAX_NUMBER_CHARS}",
        "CREATE OR REPLACE TEMP MACRO kp_unmarked(t) AS CASE WHEN kp_long(t) OR regexp_full_match(t, "
        "'[ \t\n\r\f\v]*[-+]?[0-9]{1,3}[.][0-9]{3}[ \t\n\r\f\v]*') THEN NULL ELSE kp_cast(t) END",
        # The plain YYYY-MM-DD text first (cheap); the cast alone would also take
        # 'infinity', ' 2026-01-01' and year 0, so the pattern always gates it.
        "CREATE OR REPLACE TEMP MACRO kp_date(c) AS CASE "
        "WHEN c GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' THEN "
        "  CASE WHEN NOT starts_with(c, '0000') THEN try_cast(c AS DATE) END "
        f"WHEN regexp_matches(c, {iso}) AND regexp_extract(c, {iso}, 1) <> '0000' THEN "
        f"  try_cast(regexp_extract(c, {iso}, 1) || '-' || regexp_extract(c, {iso}, 2) || '-' "
        f"  || regexp_extract(c, {iso}, 3) AS DATE) "
        # GA4's 20261001 (kpirules.read.dates: _COMPACT), spaces around allowed
        "WHEN regexp_full_match(c, '[ \t\n\r\f\v]*[0-9]{8}[ \t\n\r\f\v]*') THEN "
        "  try_cast(strptime(trim(c, ' \t\n\r\f\v'), '%Y%m%d') AS DATE) "
        f"WHEN regexp_matches(c, {dot}) THEN try_cast(CASE WHEN length(regexp_extract(c, {dot}, 3)) = 2 "
        f"  THEN '20' ELSE '' END || regexp_extract(c, {dot}, 3) || '-' || regexp_extract(c, {dot}, 2) "
        f"  || '-' || regexp_extract(c, {dot}, 1) AS DATE) END",
        # Numbers with a known decimal mark (kpirules.read.numbers.read_text), exactly the
        # shapes written here: grouped thousands, a decimal comma, a percent; any other
        # spelling is left NULL and judged by parse_number (the fallback takes over when
        # Python reads it). The blank words are NULL too and judged blank there.
        "CREATE OR REPLACE TEMP MACRO kp_pct(t) AS CASE WHEN ends_with(t, '%') "
        "THEN rtrim(t, '%') || 'e-2' ELSE t END",
        # sign, currency before or after, percent: `PLN -1 234,56` -> `-1 234,56`
        f"CREATE OR REPLACE TEMP MACRO kp_norm(c) AS regexp_replace(c, {sql_str(_NUMBER_PARTS)}, "
        "'\\1\\2\\3\\4', 'i')",
        "CREATE OR REPLACE TEMP MACRO kp_dot_n(n, c) AS CASE "
        f"WHEN regexp_full_match(n, {sql_str(_DOT_GROUPED)}) "
        f"THEN try_cast(kp_pct(regexp_replace(n, {sql_str(_DOT_SEPARATORS)}, '', 'g')) AS DOUBLE) "
        f"WHEN regexp_full_match(n, {sql_str(_DOT_PLAIN)}) THEN try_cast(kp_pct(n) AS DOUBLE) "
        "ELSE kp_cast(c) END",
        "CREATE OR REPLACE TEMP MACRO kp_dot(c) AS CASE WHEN NOT kp_long(c) THEN kp_dot_n(kp_norm(c), c) END",
        "CREATE OR REPLACE TEMP MACRO kp_comma_n(n) AS CASE "
        f"WHEN regexp_full_match(n, {sql_str(_COMMA_PLAIN)}) "
        "THEN try_cast(kp_pct(replace(n, ',', '.')) AS DOUBLE) "
        f"WHEN regexp_full_match(n, {sql_str(_COMMA_GROUPED)}) "
        f"THEN try_cast(kp_pct(replace(regexp_replace(n, {sql_str(_COMMA_SEPARATORS)}, '', 'g'), ',', '.')) "
        "AS DOUBLE) END",
        "CREATE OR REPLACE TEMP MACRO kp_comma(c) AS CASE WHEN NOT kp_long(c) THEN kp_comma_n(kp_norm(c)) END",
    ]


# kpirules.read.numbers' cell: sign, currency, body, percent, currency (ASCII spaces and
# the no-break ones; a cell spelt otherwise is judged in Python).
_SP = "[ \\t\\n\\r\\f\\v\u00a0\u202f]*"
_CUR = "(?:[$€£¥]|zł|PLN|USD|EUR|GBP|CHF|CZK|SEK|NOK|DKK|CAD|AUD|US\\$)"
_NUMBER_PARTS = (f"^{_SP}([-+]?){_SP}(?:{_CUR}{_SP})?([-+]?){_SP}([0-9][0-9.,' \u00a0\u202f]*?|[.,][0-9]+)"
                 f"{_SP}(%?){_SP}(?:{_CUR})?{_SP}$")


def _grouped(decimal: str, separators: str) -> str:
    """A number with thousands grouped by one of ``separators`` (the same one throughout,
    as kpirules.read.numbers requires) and an optional ``decimal`` part."""
    groups = "|".join(f"(?:{s}[0-9]{{3}})+" for s in separators)
    return f"[-+]?[0-9]{{1,3}}(?:{groups})(?:{decimal}[0-9]*)?%?"


_DOT_SEPARATORS = "[, '\u00a0\u202f]"
_COMMA_SEPARATORS = "[. '\u00a0\u202f]"
_DOT_GROUPED = _grouped("\\.", [",", " ", "'", "\u00a0", "\u202f"])
_COMMA_GROUPED = _grouped(",", ["\\.", " ", "'", "\u00a0", "\u202f"])
_DOT_PLAIN = "[-+]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)%?"
_COMMA_PLAIN = "[-+]?(?:[0-9]+(?:,[0-9]*)?|,[0-9]+)%?"
