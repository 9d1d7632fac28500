"""Render a diff report: text, json, junit, sarif, github or markdown."""

from __future__ import annotations

from collections.abc import Callable

from ..diff.engine import DiffReport
from ..diff.findings import Severity
from .github import render_github
from .json import render_json
from .junit import render_junit
from .markdown import render_markdown
from .sarif import render_sarif
from .text import render_text

__all__ = ["FORMATS", "render"]

Renderer = Callable[[DiffReport, Severity | None, bool], str]

FORMATS: dict[str, Renderer] = {
    "text": render_text,
    "json": lambda report, fail_on, color: render_json(report, fail_on),
    "junit": lambda report, fail_on, color: render_junit(report, fail_on),
    "sarif": lambda report, fail_on, color: render_sarif(report),
    "github": lambda report, fail_on, color: render_github(report),
    "markdown": lambda report, fail_on, color: render_markdown(report, fail_on),
}


def render(report: DiffReport, fmt: str, *, fail_on: Severity | None, color: bool = False) -> str:
    return FORMATS[fmt](report, fail_on, color)
