"""JUnit XML for CI systems (GitLab, Jenkins, GitHub test reporters).

One ``<testsuite>`` per test file, one ``<testcase>`` per test. A failed expectation is a
``<failure>`` holding the same expected/got text the terminal shows; a test file that could
not be loaded is an ``<error>`` so CI shows it as broken rather than as failing.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Iterable

# Control characters a YAML test name or a data cell may carry (\x0b from a pasted Word line
# break): ElementTree writes them as they are, and every CI parser then rejects the whole
# report. xml_text shows them as escapes instead.
from kpirules.errors import xml_text
from kpirules.ruletest.runner import FileResult


def junit_xml(results: Iterable[FileResult]) -> bytes:
    results = list(results)
    root = ET.Element("testsuites", name="kpirules test")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for fr in results:
        failures = sum(1 for c in fr.cases if not c.passed)
        errors = 1 if fr.problems else 0
        suite = ET.SubElement(root, "testsuite", name=xml_text(fr.path), tests=str(len(fr.cases) + errors),
                              failures=str(failures), errors=str(errors), skipped="0", time="0")
        for case in fr.cases:
            tc = ET.SubElement(suite, "testcase", classname=xml_text(fr.path), name=xml_text(case.name),
                               file=xml_text(fr.path), line=str(case.line), time="0")
            if not case.passed:
                n = len(case.failures)
                failure = ET.SubElement(tc, "failure", type="expectation",
                                        message=f"{n} result{'s' if n != 1 else ''} not as expected")
                failure.text = xml_text(case.render())
        if fr.problems:
            tc = ET.SubElement(suite, "testcase", classname=xml_text(fr.path), name="load test file",
                               file=xml_text(fr.path), time="0")
            error = ET.SubElement(tc, "error", type="invalid-test-file",
                                  message=xml_text(fr.problems[0].message))
            error.text = xml_text("\n".join(p.render() for p in fr.problems))
        totals["tests"] += len(fr.cases) + errors
        totals["failures"] += failures
        totals["errors"] += errors
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
