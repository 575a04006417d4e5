"""JUnit XML: the one writer of every JUnit file autotest produces (the runner's ``junit.xml`` of a run
attempt, the CLI's ``--junit`` file of the runs it waited for).

Callers describe suites and cases (:class:`Suite`, :class:`Case`); this module counts them, builds the
tree and serializes it. ElementTree escapes markup (``<``, ``&``, quotes) but writes any character it is
given, and XML 1.0 forbids most C0 controls (the ESC of terminal colours, NUL), lone surrogates and
U+FFFE/U+FFFF outright, even as character references: one of them in an error message and CI's parser
rejects the whole file, which most CI systems show as "no tests". So every name, attribute value and text
goes through :func:`xml_text` here, in the one place that writes XML. Hand-written on ElementTree because
the libraries that write JUnit (junitparser, junit-xml) build the same ElementTree and pass such
characters through as well; they would add a dependency and not the part that is needed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

#: what XML 1.0 allows (section 2.2, ``Char``); everything else is replaced
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
REPLACEMENT = "\ufffd"

Outcome = Literal["passed", "failure", "error", "skipped"]


def xml_text(text: object) -> str:
    """``text`` as a string XML 1.0 can hold: each forbidden character becomes U+FFFD."""
    return _NOT_XML.sub(REPLACEMENT, str(text))


@dataclass(frozen=True)
class Rerun:
    """An earlier attempt of a case that did not pass (it was retried). Written as Maven Surefire writes reruns,
    which Jenkins, GitLab and most JUnit readers understand: ``<flakyFailure>`` / ``<flakyError>`` inside a case
    that passed in the end, ``<rerunFailure>`` / ``<rerunError>`` inside one that did not."""

    kind: Literal["failure", "error"]
    message: str
    type: str | None = None


@dataclass(frozen=True)
class Case:
    """One ``<testcase>``. A ``failure``, ``error`` or ``skipped`` outcome adds that element, with
    ``message`` and ``type`` as attributes and ``detail`` as its text."""

    name: str
    classname: str
    time_s: float = 0.0
    outcome: Outcome = "passed"
    message: str | None = None
    type: str | None = None
    detail: str | None = None
    system_out: str | None = None
    reruns: Sequence[Rerun] = ()


@dataclass(frozen=True)
class Suite:
    """One ``<testsuite>``; ``time_s`` defaults to the sum of its cases' times."""

    name: str
    cases: Sequence[Case]
    id: str | None = None
    timestamp: str | None = None
    time_s: float | None = None
    properties: Sequence[tuple[str, str]] = ()

    @property
    def seconds(self) -> float:
        return self.time_s if self.time_s is not None else sum(case.time_s for case in self.cases)


def document(suites: Sequence[Suite], *, name: str = "autotest", time_s: float | None = None) -> bytes:
    """The JUnit XML document (UTF-8, with its declaration) of ``suites`` under one ``<testsuites>``."""
    cases = [case for suite in suites for case in suite.cases]
    total = time_s if time_s is not None else sum(suite.seconds for suite in suites)
    root = ET.Element("testsuites", {"name": xml_text(name), **_counts(cases), "time": _seconds(total)})
    for suite in suites:
        attrs = {"name": xml_text(suite.name)}
        if suite.id is not None:
            attrs["id"] = xml_text(suite.id)
        attrs |= {**_counts(suite.cases), "time": _seconds(suite.seconds)}
        if suite.timestamp is not None:
            attrs["timestamp"] = xml_text(suite.timestamp)
        element = ET.SubElement(root, "testsuite", attrs)
        if suite.properties:
            properties = ET.SubElement(element, "properties")
            for key, value in suite.properties:
                ET.SubElement(properties, "property", name=xml_text(key), value=xml_text(value))
        for case in suite.cases:
            element.append(_case(case))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _case(case: Case) -> ET.Element:
    element = ET.Element(
        "testcase", name=xml_text(case.name), classname=xml_text(case.classname), time=_seconds(case.time_s)
    )
    if case.outcome != "passed":
        attrs = {key: xml_text(value) for key, value in (("message", case.message), ("type", case.type)) if value}
        child = ET.SubElement(element, case.outcome, attrs)
        if case.detail:
            child.text = xml_text(case.detail)
    for rerun in case.reruns:
        tag = ("flaky" if case.outcome == "passed" else "rerun") + rerun.kind.capitalize()
        attrs = {"message": xml_text(rerun.message)} | ({"type": xml_text(rerun.type)} if rerun.type else {})
        ET.SubElement(element, tag, attrs)
    if case.system_out:
        ET.SubElement(element, "system-out").text = xml_text(case.system_out)
    return element


def _counts(cases: Sequence[Case]) -> dict[str, str]:
    return {
        "tests": str(len(cases)),
        "failures": str(sum(1 for c in cases if c.outcome == "failure")),
        "errors": str(sum(1 for c in cases if c.outcome == "error")),
        "skipped": str(sum(1 for c in cases if c.outcome == "skipped")),
    }


def _seconds(seconds: float) -> str:
    return f"{seconds:.3f}"
