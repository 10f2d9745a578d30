"""Command palette (ctrl+p): open any listed experiment by name, and the current screen's actions."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class ExperimentCommands(Provider):
    def _experiments(self) -> list:
        from tui.screens.experiments import ExperimentsScreen

        listing = next((s for s in self.app.screen_stack if isinstance(s, ExperimentsScreen)), None)
        return [] if listing is None else list(listing.experiments)

    def _open(self, experiment: object) -> None:
        from tui.screens.experiment import ExperimentScreen

        while isinstance(self.app.screen, ExperimentScreen) or len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        self.app.push_screen(ExperimentScreen(experiment))  # type: ignore[arg-type]

    async def discover(self) -> Hits:
        for experiment in self._experiments()[:20]:
            yield DiscoveryHit(f"Open {experiment.name}", partial(self._open, experiment), help="experiment")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for experiment in self._experiments():
            label = f"Open {experiment.name}"
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), partial(self._open, experiment), help="experiment")
