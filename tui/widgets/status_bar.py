"""One line at the top of every screen: who is signed in, where to, and whether the connection is live."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.backend import CONNECTED, CONNECTING

STATE_STYLE = {CONNECTED: "bold green", CONNECTING: "yellow"}


class StatusBar(Widget):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """

    user: reactive[str] = reactive("…")
    state: reactive[str] = reactive(CONNECTING)
    server: reactive[str] = reactive("")
    where: reactive[str] = reactive("")

    def render(self) -> Text:
        text = Text.assemble(("Drift Monitoring", "bold"), "  ", (f"● {self.state}", STATE_STYLE.get(self.state, "bold red")))
        text.append(f"  {self.user}")
        if self.server:
            text.append(f" @ {self.server}", "dim")
        if self.where:
            text.append(f"  › {self.where}", "bold")
        return text
