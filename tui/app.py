"""The dashboard application: one App, a screen per place (experiments, one experiment, one run)."""

from __future__ import annotations

from textual import work
from textual.app import App
from textual.binding import Binding

from drift_monitoring.errors import DriftMonitorError
from drift_monitoring.settings import Settings

from tui.backend import CONNECTING, Backend
from tui.commands import ExperimentCommands
from tui.messages import ConnectionChanged, UserKnown
from tui.widgets.status_bar import StatusBar


class DriftDashboard(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "Drift Monitoring"
    BINDINGS = [Binding("q", "quit", "Quit"), Binding("question_mark", "show_help_panel", "Keys")]
    COMMANDS = App.COMMANDS | {ExperimentCommands}

    def __init__(self, settings: Settings, *, experiment: str = "", server_label: str = "", backend: Backend | None = None) -> None:
        super().__init__()
        self.backend = backend or Backend(settings)
        self.server_label = server_label or settings.target  # how the status bar names the server
        self.start_experiment = experiment
        self.user_name, self.connection = "…", CONNECTING
        self.backend.on_state(lambda state: self.post_message(ConnectionChanged(state)))

    def on_mount(self) -> None:
        from tui.screens.experiments import ExperimentsScreen

        self.push_screen(ExperimentsScreen(open_first=self.start_experiment))
        self.identify()

    @work(thread=True, group="identity", exit_on_error=False)
    def identify(self) -> None:
        try:
            name = self.backend.whoami()
        except DriftMonitorError as exc:
            self.call_from_thread(self.notify, str(exc), title="Cannot reach the server", severity="error")
            return
        self.post_message(UserKnown(name))

    def on_user_known(self, message: UserKnown) -> None:
        self.user_name = message.name
        self.refresh_status()

    def on_connection_changed(self, message: ConnectionChanged) -> None:
        if message.state != self.connection:
            self.connection = message.state
            self.refresh_status()

    def refresh_status(self) -> None:
        for screen in self.screen_stack:
            for bar in screen.query(StatusBar):
                self.fill_status(bar)

    def fill_status(self, bar: StatusBar) -> None:
        bar.user, bar.state, bar.server = self.user_name, self.connection, self.server_label

    def on_unmount(self) -> None:
        self.backend.close()
