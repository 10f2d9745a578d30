"""What every dashboard screen shares: the status bar and turning failures into notifications."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

from drift_monitoring.errors import DriftMonitorError, InvalidArgumentError
from tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from tui.app import DriftDashboard


class DashboardScreen(Screen[None]):
    @property
    def dashboard(self) -> DriftDashboard:
        return self.app  # type: ignore[return-value]

    def on_mount(self) -> None:
        for bar in self.query(StatusBar):
            self.dashboard.fill_status(bar)

    def report(self, exc: Exception, title: str) -> None:
        """A failure as a notification, from any thread; never a traceback on screen."""
        if isinstance(exc, InvalidArgumentError):
            message = str(exc)
        elif isinstance(exc, DriftMonitorError):
            message = f"{type(exc).__name__.removesuffix('Error')}: {exc}"
        else:
            message = f"{type(exc).__name__}: {exc}"
        try:
            self.app.call_from_thread(self.app.notify, message, title=title, severity="error", timeout=8)
        except RuntimeError:  # already on the UI thread
            self.app.notify(message, title=title, severity="error", timeout=8)
