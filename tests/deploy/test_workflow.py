"""The GitHub Actions workflow runs and installs what .ci/run does, with targets that exist in the Makefile."""

from __future__ import annotations

import re
import subprocess

import yaml

from stack import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def make_targets() -> set[str]:
    return set(re.findall(r"(?m)^([a-z][a-z0-9-]*):", (ROOT / "Makefile").read_text()))


def workflow_commands() -> list[str]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert set(workflow[True]) >= {"push", "pull_request"}  # YAML 1.1 reads the key `on` as true
    return [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]


def test_workflow_runs_make_test_and_lint_with_existing_targets() -> None:
    commands = workflow_commands()
    assert "make test" in commands
    invoked = {word for command in commands for word in re.findall(r"\bmake\s+([a-z][a-z0-9-]*)", command)}
    assert invoked and invoked <= make_targets(), f"targets missing from the Makefile: {invoked - make_targets()}"
    for target in invoked:  # make itself agrees the target is defined (a dry run builds nothing)
        assert subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True).returncode == 0, target


def test_workflow_runs_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    in_ci = re.findall(r"(?m)^make\s+([a-z][a-z0-9-]*)", ci)
    in_workflow = [re.match(r"make\s+([a-z][a-z0-9-]*)", c)[1] for c in workflow_commands() if c.startswith("make ")]
    assert in_workflow == in_ci


def test_workflow_toolchains_match_the_project() -> None:
    steps = [step for job in yaml.safe_load(WORKFLOW.read_text())["jobs"].values() for step in job["steps"]]
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.11"
    go = next(s for s in steps if s.get("uses", "").startswith("actions/setup-go"))
    version = re.search(r"VERSION=(v[\d.]+)", (ROOT / "scripts" / "ferretdb.sh").read_text())[1]
    assert version == "v1.24.2" and go["with"]["go-version"] == "1.24"  # FerretDB v1.24.2's go.mod says go 1.24
    assert all("@" in s["uses"] for s in steps if "uses" in s)  # every action at a fixed major version


def run_steps() -> list[dict]:
    return [step for job in yaml.safe_load(WORKFLOW.read_text())["jobs"].values() for step in job["steps"] if "run" in step]


def test_workflow_installs_what_ci_installs_with_the_same_script() -> None:
    """Both install through .ci/tools, before make test, and neither installs anything on its own, so the
    workflow cannot lack a tool .ci/run provides (tmux was one: its test skipped)."""
    ci = (ROOT / ".ci" / "run").read_text()
    tools = ROOT / ".ci" / "tools"
    assert tools.stat().st_mode & 0o111, ".ci/tools must be executable"
    assert subprocess.run(["bash", "-n", str(tools)], capture_output=True).returncode == 0
    ci_lines = [line.strip() for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert ".ci/tools" in ci_lines and ci_lines.index(".ci/tools") < next(i for i, line in enumerate(ci_lines) if line.startswith("make test"))
    commands = [step["run"] for step in run_steps()]
    installs = [i for i, command in enumerate(commands) if re.search(r"(^|\s)\.ci/tools$", command)]
    assert installs and installs[0] < commands.index("make test"), commands
    for source, text in [(".ci/run", ci), ("ci.yml", "\n".join(commands))]:
        assert not re.search(r"\b(apt-get|apt|brew|pip|npm) +install\b", text), f"{source} installs something itself: put it in .ci/tools"
    assert "tmux" in tools.read_text() and "postgresql" in tools.read_text()


def test_workflow_sets_ci_for_make_test_as_ci_run_does() -> None:
    """CI set is what makes a skipping test fail (tests/no_skip_in_ci.py)."""
    ci = (ROOT / ".ci" / "run").read_text()
    exported, tested = re.search(r"(?m)^export CI=1\b", ci), re.search(r"(?m)^make test\b", ci)
    assert exported and tested and exported.start() < tested.start()
    [step] = [step for step in run_steps() if step["run"] == "make test"]
    assert str(step.get("env", {}).get("CI", "")) not in ("", "0", "false")
