"""Every variable the server reads is a row of the settings table in docs/operating.md."""

from __future__ import annotations

import re

from stack import ROOT


def test_every_server_setting_has_a_row_in_the_settings_table():
    read = set(re.findall(r'"((?:DRIFT_MONITOR|MONGODB)_[A-Z_]+)"', (ROOT / "server" / "settings.py").read_text()))
    rows = set(re.findall(r"^\| `([A-Z_]+)` \|", (ROOT / "docs" / "operating.md").read_text(), re.MULTILINE))
    assert {"MONGODB_URI", "DRIFT_MONITOR_PROXY_SECRET"} <= read  # the pattern finds what the server reads
    assert read - rows == set(), f"settings without a row in docs/operating.md: {sorted(read - rows)}"
