"""A small formula evaluator, so formula cells have the effectiveValue Sheets would show.

It covers what test data and KPI sheets use: arithmetic, comparison, ``&``, ``%``, cell
and range references (also on other sheets), and common functions (SUM, AVERAGE, MIN,
MAX, COUNT, COUNTA, IF, IFERROR, ROUND, ABS, AND, OR, NOT, CONCATENATE, LEN, UPPER,
LOWER, DATE, TODAY, NOW). Anything else evaluates to ``#NAME?`` with Google's message;
syntax errors to ``#ERROR!``. The formula text itself is always kept as written.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Callable, Protocol

from kpirules_emulator.sheets_a1 import column_index
from kpirules_emulator.sheets_format import LOCALES, SheetError, auto_number, to_serial

PARSE_ERROR = SheetError("ERROR", "Formula parse error.")

TOKEN = re.compile(r"""
    \s*(?:
    (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<str>"(?:[^"]|"")*")
  | (?P<ref>(?:(?:'(?:[^']|'')+'|[A-Za-z_][A-Za-z0-9_.]*)!)?
        (?:\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?
          |\$?[A-Za-z]{1,3}:\$?[A-Za-z]{1,3}))(?![A-Za-z0-9_(])
  | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<op><>|<=|>=|[-+*/^&=<>%(),;])
    )""", re.X)


class Context(Protocol):
    def cell(self, sheet: str | None, row: int, col: int): ...
    def grid(self, sheet: str | None, r0: int, r1: int, c0: int, c1: int) -> list[list]: ...
    def now(self) -> dt.datetime: ...


class _Parse(Exception):
    pass


class _Range:
    """A range reference, evaluated lazily so SUM(A:A) reads only the used cells."""

    def __init__(self, sheet, r0, r1, c0, c1):
        self.sheet, self.r0, self.r1, self.c0, self.c1 = sheet, r0, r1, c0, c1


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise _Parse(text[pos:])
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _ref(text: str):
    sheet = None
    if "!" in text:
        sheet, _, text = text.rpartition("!")
        if sheet.startswith("'"):
            sheet = sheet[1:-1].replace("''", "'")
    text = text.replace("$", "")
    first, _, second = text.partition(":")

    def point(p):
        m = re.match(r"([A-Za-z]+)(\d*)", p)
        return (int(m.group(2)) - 1 if m.group(2) else None), column_index(m.group(1))

    r0, c0 = point(first)
    if not second:
        return _Range(sheet, r0, r0 + 1, c0, c0 + 1)
    r1, c1 = point(second)
    r0, r1 = (None, None) if r0 is None or r1 is None else (min(r0, r1), max(r0, r1) + 1)
    return _Range(sheet, r0, r1, min(c0, c1), max(c0, c1) + 1)


class _Parser:
    """Precedence as in Sheets: comparison < & < + - < * / < ^ < unary < %."""

    def __init__(self, tokens):
        self.t, self.i = tokens, 0

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else (None, None)

    def take(self, value=None):
        tok = self.peek()
        if tok[0] is None or (value is not None and tok[1] != value):
            raise _Parse(value or "end")
        self.i += 1
        return tok

    def parse(self):
        node = self.compare()
        if self.i != len(self.t):
            raise _Parse("trailing")
        return node

    def binary(self, ops, sub):
        node = sub()
        while self.peek()[0] == "op" and self.peek()[1] in ops:
            op = self.take()[1]
            node = ("bin", op, node, sub())
        return node

    def compare(self):
        return self.binary(("=", "<>", "<", ">", "<=", ">="), self.concat)

    def concat(self):
        return self.binary(("&",), self.additive)

    def additive(self):
        return self.binary(("+", "-"), self.term)

    def term(self):
        return self.binary(("*", "/"), self.power)

    def power(self):
        return self.binary(("^",), self.unary)

    def unary(self):
        if self.peek() in (("op", "-"), ("op", "+")):
            op = self.take()[1]
            return ("neg", self.unary()) if op == "-" else self.unary()
        node = self.atom()
        while self.peek() == ("op", "%"):
            self.take()
            node = ("pct", node)
        return node

    def atom(self):
        kind, value = self.take()
        if kind == "num":
            return ("lit", float(value))
        if kind == "str":
            return ("lit", value[1:-1].replace('""', '"'))
        if kind == "ref":
            return ("ref", _ref(value))
        if kind == "name":
            if self.peek() == ("op", "("):
                self.take("(")
                args = []
                if self.peek() != ("op", ")"):
                    args.append(self.compare())
                    while self.peek()[1] in (",", ";"):
                        self.take()
                        args.append(self.compare())
                self.take(")")
                return ("call", value.upper(), args)
            if value.upper() in ("TRUE", "FALSE"):
                return ("lit", value.upper() == "TRUE")
            return ("name", value)
        if (kind, value) == ("op", "("):
            node = self.compare()
            self.take(")")
            return node
        raise _Parse(value)


def _num(v, fn: str, pos: int):
    if isinstance(v, SheetError):
        return v
    if v is None:
        return 0.0
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, float):
        return v
    try:
        return float(v)
    except ValueError:
        return SheetError("VALUE", f"Function {fn} parameter {pos} expects number values. "
                                   f"But '{v}' is a text and cannot be coerced to a number.")


def _text(v) -> str:
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return auto_number(v, LOCALES["en_US"])
    return "" if v is None else str(v)


_OPS: dict[str, tuple[str, Callable]] = {
    "+": ("ADD", lambda a, b: a + b), "-": ("MINUS", lambda a, b: a - b),
    "*": ("MULTIPLY", lambda a, b: a * b), "/": ("DIVIDE", None), "^": ("POW", None),
}


class Evaluator:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def run(self, text: str):
        body = text[1:] if text.startswith("=") else text
        try:
            tree = _Parser(_tokens(body)).parse()
        except (_Parse, IndexError, ValueError):
            return PARSE_ERROR
        try:
            value = self.scalar(self.ev(tree))
        except RecursionError:
            return SheetError("REF", "Circular dependency detected. To resolve with "
                                     "iterative calculation, see File > Settings.")
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return SheetError("NUM", "Result was not a number.")
        return "" if value is None else value

    def scalar(self, v):
        if isinstance(v, _Range):
            if (v.r1 is not None and v.r1 - v.r0 == 1) and v.c1 - v.c0 == 1:
                return self.ctx.cell(v.sheet, v.r0, v.c0)
            return SheetError("VALUE", "An array value could not be found.")
        return v

    def flat(self, v) -> list:
        if isinstance(v, _Range):
            return [x for row in self.ctx.grid(v.sheet, v.r0, v.r1, v.c0, v.c1) for x in row]
        return [v]

    def ev(self, node):
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "ref":
            return node[1]
        if kind == "name":
            return SheetError("NAME", f"Unknown range name: '{node[1].upper()}'.")
        if kind == "neg":
            v = _num(self.scalar(self.ev(node[1])), "UMINUS", 1)
            return v if isinstance(v, SheetError) else -v
        if kind == "pct":
            v = _num(self.scalar(self.ev(node[1])), "UNARY_PERCENT", 1)
            return v if isinstance(v, SheetError) else v / 100
        if kind == "bin":
            return self.binop(node[1], self.scalar(self.ev(node[2])),
                              self.scalar(self.ev(node[3])))
        if kind == "call":
            return self.call(node[1], node[2])
        raise _Parse(kind)

    def binop(self, op, a, b):
        if op == "&":
            for v in (a, b):
                if isinstance(v, SheetError):
                    return v
            return _text(a) + _text(b)
        if op in ("=", "<>", "<", ">", "<=", ">="):
            for v in (a, b):
                if isinstance(v, SheetError):
                    return v
            a = "" if a is None and isinstance(b, str) else (0.0 if a is None else a)
            b = "" if b is None and isinstance(a, str) else (0.0 if b is None else b)
            if type(a) is not type(b):
                rank = {float: 0, str: 1, bool: 2}
                a, b = rank[type(a)], rank[type(b)]
            elif isinstance(a, str):
                a, b = a.lower(), b.lower()
            return {"=": a == b, "<>": a != b, "<": a < b, ">": a > b,
                    "<=": a <= b, ">=": a >= b}[op]
        name, fn = _OPS[op]
        x, y = _num(a, name, 1), _num(b, name, 2)
        if isinstance(x, SheetError):
            return x
        if isinstance(y, SheetError):
            return y
        if op == "/":
            if y == 0:
                return SheetError("DIVIDE_BY_ZERO",
                                  "Function DIVIDE parameter 2 cannot be zero.")
            return x / y
        if op == "^":
            try:
                return float(x ** y)
            except (OverflowError, ZeroDivisionError, TypeError):
                return SheetError("NUM", "Function POW caused a number overflow.")
        return fn(x, y)

    def numbers(self, args, fn) -> list | SheetError:
        out = []
        for pos, arg in enumerate(args, 1):
            v = self.ev(arg)
            if isinstance(v, _Range):
                for x in self.flat(v):
                    if isinstance(x, SheetError):
                        return x
                    if isinstance(x, float):
                        out.append(x)
            else:
                x = _num(v, fn, pos)
                if isinstance(x, SheetError):
                    return x
                out.append(x)
        return out

    def call(self, fn, args):
        if fn in ("SUM", "AVERAGE", "MIN", "MAX", "COUNT"):
            if fn == "COUNT":
                return float(sum(isinstance(x, float) and not isinstance(x, bool)
                                 for a in args for x in self.flat(self.ev(a))))
            nums = self.numbers(args, fn)
            if isinstance(nums, SheetError):
                return nums
            if fn == "SUM":
                return float(math.fsum(nums))
            if fn == "AVERAGE":
                if not nums:
                    return SheetError("DIVIDE_BY_ZERO", "Evaluation of function AVERAGE "
                                      "caused a divide by zero error.")
                return math.fsum(nums) / len(nums)
            return (min if fn == "MIN" else max)(nums) if nums else 0.0
        if fn == "COUNTA":
            return float(sum(x not in (None, "") for a in args for x in self.flat(self.ev(a))))
        if fn == "IF":
            if not 2 <= len(args) <= 3:
                return self.arity(fn, len(args), 2, 3)
            cond = self.scalar(self.ev(args[0]))
            if isinstance(cond, SheetError):
                return cond
            truthy = cond if isinstance(cond, bool) else bool(_num(cond, "IF", 1))
            if truthy:
                return self.scalar(self.ev(args[1]))
            return self.scalar(self.ev(args[2])) if len(args) == 3 else False
        if fn == "IFERROR":
            v = self.scalar(self.ev(args[0]))
            if isinstance(v, SheetError):
                return self.scalar(self.ev(args[1])) if len(args) > 1 else ""
            return v
        if fn in ("AND", "OR"):
            vals = [x for a in args for x in self.flat(self.ev(a)) if x not in (None, "")]
            for x in vals:
                if isinstance(x, SheetError):
                    return x
            bools = [bool(x) if not isinstance(x, str) else None for x in vals]
            if None in bools:
                return SheetError("VALUE", f"{fn} expects boolean values.")
            return all(bools) if fn == "AND" else any(bools)
        if fn in ("NOT", "ABS", "LEN", "UPPER", "LOWER"):
            if len(args) != 1:
                return self.arity(fn, len(args), 1, 1)
            v = self.scalar(self.ev(args[0]))
            if isinstance(v, SheetError):
                return v
            if fn == "NOT":
                return not (v if isinstance(v, bool) else _num(v, fn, 1))
            if fn == "ABS":
                x = _num(v, fn, 1)
                return x if isinstance(x, SheetError) else abs(x)
            if fn == "LEN":
                return float(len(_text(v)))
            return _text(v).upper() if fn == "UPPER" else _text(v).lower()
        if fn == "ROUND":
            vals = [_num(self.scalar(self.ev(a)), fn, i + 1) for i, a in enumerate(args)]
            for v in vals:
                if isinstance(v, SheetError):
                    return v
            digits = int(vals[1]) if len(vals) > 1 else 0
            scaled = vals[0] * 10 ** digits
            return math.copysign(math.floor(abs(scaled) + 0.5), scaled) / 10 ** digits
        if fn in ("CONCATENATE", "CONCAT"):
            parts = []
            for a in args:
                for x in self.flat(self.ev(a)):
                    if isinstance(x, SheetError):
                        return x
                    parts.append(_text(x))
            return "".join(parts)
        if fn == "DATE":
            vals = [_num(self.scalar(self.ev(a)), fn, i + 1) for i, a in enumerate(args)]
            if len(vals) != 3:
                return self.arity(fn, len(vals), 3, 3)
            for v in vals:
                if isinstance(v, SheetError):
                    return v
            y, m, d = (int(v) for v in vals)
            y += (m - 1) // 12
            m = (m - 1) % 12 + 1
            return to_serial(dt.date(y, m, 1)) + d - 1
        if fn == "TODAY":
            return float(math.floor(to_serial(self.ctx.now())))
        if fn == "NOW":
            return to_serial(self.ctx.now())
        return SheetError("NAME", f"Unknown function: '{fn.lower()}'.")

    @staticmethod
    def arity(fn, got, lo, hi):
        want = str(lo) if lo == hi else f"between {lo} and {hi}"
        return SheetError("N_A", f"Wrong number of arguments to {fn}. "
                                 f"Expected {want} arguments, but got {got} arguments.")
