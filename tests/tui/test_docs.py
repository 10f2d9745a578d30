"""The README's screenshot is the 160x48 charts snapshot: when the snapshot changes, copy it over."""

from stack import ROOT


def test_readme_screenshot_is_the_current_snapshot():
    snapshot = ROOT / "tests" / "tui" / "__snapshots__" / "test_snapshots" / "test_experiment_charts[160x48].svg"
    assert (ROOT / "docs" / "tui.svg").read_text() == snapshot.read_text(), f"stale: cp '{snapshot}' docs/tui.svg"
