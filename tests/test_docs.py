"""The README stays short and every docs/ page is reachable from it."""

from tests.docs import LINK, doc_pages
from stack import ROOT


def test_the_readme_links_every_docs_page_and_each_link_resolves():
    readme = (ROOT / "README.md").read_text()
    linked = {ROOT / link for link in LINK.findall(readme)}
    pages = set(doc_pages()[1:])
    assert pages - linked == set(), f"docs pages the README does not link: {sorted(p.name for p in pages - linked)}"
    assert linked - pages == set(), f"README links to missing pages: {sorted(str(p) for p in linked - pages)}"


def test_the_two_commands_come_first():
    lines = (ROOT / "README.md").read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("make run"))
    assert first < 15 and lines[first + 1].startswith("make test"), "the README opens with `make run` and `make test`"
    assert len(lines) < 120, f"the README is {len(lines)} lines: move detail into a docs/ page"
