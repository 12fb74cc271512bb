"""A new lint check is one decorated function: ``@rule_check`` for one that reads the rules,
``@data_check`` for one that reads the data. Both run with the built-in checks, under the
same ``--ignore`` and ``# noqa`` as theirs."""

from __future__ import annotations

import pytest
from test_lint import codes, lint_text, table  # noqa: F401  (table: the module's data fixture)

from kpirules.lint.findings import CODES, DATA_CHECKS, RULE_CHECKS, Finding, data_check, rule_check


@pytest.fixture
def toy_checks():
    rules, data = len(RULE_CHECKS), len(DATA_CHECKS)

    @rule_check("KPI990", "rule named in capitals")
    def shouting(items):
        return [Finding("KPI990", i.entry.name, "the name is in capitals", i.entry.name.lower(), item=i)
                for i in items if i.entry.name.isupper()]

    @data_check("KPI991", "metric flat over the recent periods")
    def flat(items, recent):
        for item in items:
            values = [v for series in recent.values(item.rule.condition.left, item.rule).values() for v in series]
            if len(values) > 1 and len(set(values)) == 1:
                yield Finding("KPI991", item.entry.name, "the same value every period", "check the feed", item=item)

    yield
    del RULE_CHECKS[rules:], DATA_CHECKS[data:]
    CODES.pop("KPI990"), CODES.pop("KPI991")


def test_registered_checks_run_with_the_built_ins(toy_checks, table):  # noqa: F811
    rules = "VISITS: visits >= 1000 weekly\nsignups: signups >= 10 weekly\n"
    without_data = lint_text(rules)
    assert ("VISITS", "KPI990") in codes(without_data)
    assert not any(code == "KPI991" for _, code in codes(without_data))  # needs the data
    with_data = lint_text(rules, table=table)
    assert {("VISITS", "KPI990"), ("VISITS", "KPI991"), ("signups", "KPI991")} <= set(codes(with_data))
    ignored = lint_text(rules, table=table, ignore=["KPI991"])
    assert not any(code == "KPI991" for _, code in codes(ignored))
