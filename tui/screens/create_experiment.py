"""A small form for a new experiment; dismisses with what was typed, or None."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label


@dataclass(frozen=True)
class NewExperiment:
    name: str
    description: str
    public: bool


class CreateExperimentScreen(ModalScreen["NewExperiment | None"]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="create-form"):
            yield Label("New experiment", classes="title")
            yield Input(placeholder="name (1-128 characters)", id="name")
            yield Input(placeholder="description (optional)", id="description")
            yield Checkbox("public: anyone may read it", id="public")
            with Horizontal(classes="buttons"):
                yield Button("Create", variant="primary", id="create")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#create")
    def submit(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        if not name:
            self.notify("an experiment needs a name", severity="warning")
            self.query_one("#name", Input).focus()
            return
        description = self.query_one("#description", Input).value.strip()
        self.dismiss(NewExperiment(name, description, self.query_one("#public", Checkbox).value))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
