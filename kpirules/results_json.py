"""``check --format json``'s results as text, one at a time: each exactly what
``json.dumps(result.to_json(), ensure_ascii=False, default=str)`` writes, without making
the dictionary of every result and the encoder of every dictionary (issue 14: a run with
50,000 segments writes half a million results). The eight keys every result has are
written here, their values by the encoder's own functions; the keys some results have
(``RuleResult.json_extras``) by the encoder."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from json.encoder import encode_basestring  # the C function: what the encoder uses for text
from typing import Any

from kpirules.results import Period, RuleResult, Status

# How ``check`` writes JSON (kpirules.cli.output.echo_json in a pipe, check's stream).
encode = json.JSONEncoder(ensure_ascii=False, default=str).encode


_STATUS = {status: encode(status.value) for status in Status}


def _number(value: Any) -> str:
    """A value or threshold as the encoder writes it: a finite float by its repr."""
    if value is None:
        return "null"
    kind = type(value)
    if (kind is float and value - value == 0) or kind is int:  # not inf or nan: their own words
        return repr(value)
    return encode(value)


def _text(value: Any) -> str:
    return encode_basestring(value) if type(value) is str else encode(value)


def _segment(segment: dict[str, str] | None) -> str:
    if segment is None:
        return "null"
    if len(segment) == 1:  # by one column: most segmented rules
        for key, value in segment.items():
            return f"{{{_text(key)}: {_text(value)}}}"
    return "{" + ", ".join(f"{_text(k)}: {_text(v)}" for k, v in segment.items()) + "}"


def result_texts(results: Iterable[RuleResult]) -> Iterator[str]:
    """``encode(r.to_json())`` for each of ``results``; what a rule's results share (its
    name and text, their period) is written once for them."""
    name = rule = head = None
    period: Period | None = None
    period_text = "null"
    for r in results:
        if r.name is not name or r.rule is not rule or head is None:
            name, rule = r.name, r.rule
            head = f'{{"name": {encode(name)}, "rule": {encode(rule)}, "status": '
        if r.period is not period:
            period = r.period
            period_text = encode(period.to_json()) if period else "null"
        extras = r.json_extras({})
        yield (f'{head}{_STATUS[r.status]}, "value": {_number(r.value)}, "threshold": '
               f'{_number(r.threshold)}, "period": {period_text}, "segment": {_segment(r.segment)}, '
               f'"message": {_text(r.message)}'
               + (", " + encode(extras)[1:] if extras else "}"))
