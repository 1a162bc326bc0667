"""Writing the gate's measured numbers into the "Load tests" section of ``BENCHMARKS.md``.

Only that section is created or replaced; every other section of the file is left byte for byte.
"""

from __future__ import annotations

import re
from pathlib import Path

SECTION_TITLE = "Load tests"
"""Heading (level 2) of the section this module owns."""

_HEADING = re.compile(r"^## +(.+?)\s*$", re.MULTILINE)


def replace_section(document: str, title: str, body: str) -> str:
    """``document`` with the level-2 section ``title`` replaced by ``body`` (appended when absent)."""
    section = f"## {title}\n\n{body.strip()}\n"
    headings = list(_HEADING.finditer(document))
    for index, match in enumerate(headings):
        if match.group(1) != title:
            continue
        end = headings[index + 1].start() if index + 1 < len(headings) else len(document)
        following = document[end:]
        return document[: match.start()] + section + ("\n" + following if following else "")
    if not document.strip():
        return "# Benchmarks\n\n" + section
    return document.rstrip("\n") + "\n\n" + section


def record_section(path: str | Path, body: str) -> None:
    """Create or update the "Load tests" section of the benchmarks file at ``path``."""
    target = Path(path)
    document = target.read_text() if target.is_file() else ""
    target.write_text(replace_section(document, SECTION_TITLE, body))
