"""The GitHub Actions workflow runs what .ci/run runs, with targets that exist in the Makefile."""

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
