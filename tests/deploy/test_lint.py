"""hadolint on the Dockerfiles and shellcheck on the scripts the containers run (both from their wheels)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from stack import ROOT

BIN = Path(sys.executable).parent


def test_dockerfiles_pass_hadolint() -> None:
    files = sorted(str(p) for p in (ROOT / "docker").glob("*.Dockerfile"))
    done = subprocess.run([str(BIN / "hadolint"), "--config", str(ROOT / ".hadolint.yaml"), *files], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_container_scripts_pass_shellcheck() -> None:
    ours = sorted(str(p) for p in (ROOT / "docker").glob("*.sh"))
    done = subprocess.run([str(BIN / "shellcheck"), *ours], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout
    # certbot's deploy hook, run in the certbot image: no warnings (infos are the edge's to judge).
    hook = subprocess.run([str(BIN / "shellcheck"), "--severity=warning", str(ROOT / "envoy" / "install-certs.sh")], capture_output=True, text=True, timeout=60)
    assert hook.returncode == 0, hook.stdout


def test_the_linters_find_problems() -> None:
    bad = subprocess.run([str(BIN / "shellcheck"), "-"], input="#!/bin/sh\necho $undefined_var `ls`\n", capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0
    dockerfile = subprocess.run([str(BIN / "hadolint"), "-"], input="FROM python:latest\nRUN cd /tmp\n", capture_output=True, text=True, timeout=60)
    assert dockerfile.returncode != 0 and "DL3007" in dockerfile.stdout
