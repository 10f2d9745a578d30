"""The documentation a reader sees: the README and the pages under docs/ it links to."""

from __future__ import annotations

import re
from pathlib import Path

from stack import ROOT

LINK = re.compile(r"\]\((docs/[^)#]+\.md)\)")


def doc_pages() -> list[Path]:
    """README.md first, then every docs/ page, so examples moved between them stay tested."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
