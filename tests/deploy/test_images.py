"""Dockerfiles and container entrypoints. Images cannot be built without a Docker engine; what can be
checked for real is: bases pinned, non-root users, every COPY source present, Python packages locked,
and the entrypoint scripts themselves, run here as the containers run them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.conftest import COMBINATIONS, rendered
from stack import ROOT

DOCKERFILES = sorted((ROOT / "docker").glob("*.Dockerfile"))
VENV_BIN = str(Path(sys.executable).parent)


def stages(text: str) -> list[tuple[str, str, list[str]]]:
    """(base image, stage name, instructions) per FROM."""
    found: list[tuple[str, str, list[str]]] = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        if match := re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.I):
            found.append((match[1], match[2] or "", []))
        elif line.strip() and not line.startswith("#"):
            found[-1][2].append(line.strip())
    return found


def test_every_image_compose_builds_has_its_dockerfile_and_target() -> None:
    builds = set()
    for combination in COMBINATIONS:
        for name, service in rendered(combination).get("services", {}).items():
            if "build" in service:
                builds.add((service["build"]["dockerfile"], service["build"].get("target", "")))
    assert {d for d, _ in builds} == {p.relative_to(ROOT).as_posix() for p in DOCKERFILES}
    for dockerfile, target in builds:
        names = [name for _, name, _ in stages((ROOT / dockerfile).read_text())]
        assert not target or target in names, f"{dockerfile} has no stage {target}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_bases_are_pinned_and_the_user_is_not_root(dockerfile: Path) -> None:
    parsed = stages(dockerfile.read_text())
    names = {name for _, name, _ in parsed}
    for base, _, _ in parsed:
        if base not in names:  # an earlier stage is pinned where it is defined
            assert re.search(r":\d+\.\d+\.\d+", base), f"{base}: pin an exact version"
    copied_from = {m for _, _, instructions in parsed for i in instructions for m in re.findall(r"--from=(\S+)", i)}
    for base, name, instructions in parsed:
        runs_as = [i.split()[1] for i in instructions if i.upper().startswith("USER ")]
        builder = any(other_base == name for other_base, _, _ in parsed) or name in copied_from
        if not builder or runs_as:  # images that run (not only feed other stages) end as a numeric non-root user
            user = runs_as[-1] if runs_as else parent_user(parsed, base)
            assert user and user.split(":")[0].isdigit() and user.split(":")[0] != "0", f"{dockerfile.name} stage {name or base} runs as {user}"


def parent_user(parsed, base: str) -> str | None:
    for other_base, name, instructions in parsed:
        if name == base:
            users = [i.split()[1] for i in instructions if i.upper().startswith("USER ")]
            return users[-1] if users else parent_user(parsed, other_base)
    return None


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_copied_sources_exist_and_packages_come_from_locks(dockerfile: Path) -> None:
    for _, _, instructions in stages(dockerfile.read_text()):
        for instruction in instructions:
            words = instruction.split()
            if words[0].upper() == "COPY" and not any(w.startswith("--from") for w in words):
                for source in words[1:-1]:
                    if source.startswith("web/") and not (ROOT / "web").is_dir():
                        continue  # web/ comes from the web view's branch
                    assert (ROOT / source).exists(), f"{dockerfile.name}: COPY {source} does not exist"
            if words[0].upper() == "RUN" and "pip install" in instruction:
                assert re.search(r"--no-deps -r /tmp/\w+\.lock", instruction), f"{dockerfile.name}: pip installs must come from a lock: {instruction}"


def test_dockerignore_keeps_state_and_environments_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".run", ".env", "**/node_modules"} <= set(ignored)


# -- docker/entrypoint.py -------------------------------------------------------------------------------


def entrypoint(env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "docker" / "entrypoint.py"), *command], env={"PATH": os.environ["PATH"], **env},
                          capture_output=True, text=True, timeout=30)


def test_entrypoint_reads_secret_files_and_puts_the_password_in_the_uri(tmp_path: Path) -> None:
    password, proxy = tmp_path / "password", tmp_path / "proxy"
    password.write_text("p@ss:w/rd?#\n")
    proxy.write_text("a-proxy-secret-of-enough-length")
    show = "import os, pymongo.uri_parser as u; p = u.parse_uri(os.environ['MONGODB_URI']); print(p['username'], p['password'], p['database'], os.environ['DRIFT_MONITOR_PROXY_SECRET'])"
    done = entrypoint({"MONGODB_URI": "mongodb://drift@mongo:27017/dm?authSource=admin", "MONGODB_PASSWORD_FILE": str(password),
                       "DRIFT_MONITOR_PROXY_SECRET_FILE": str(proxy)}, sys.executable, "-c", show)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["drift", "p@ss:w/rd?#", "dm", "a-proxy-secret-of-enough-length"]


def test_entrypoint_ignores_a_secret_turned_off(tmp_path: Path) -> None:
    done = entrypoint({"MONGODB_URI": "mongodb://mongo:27017/dm", "MONGODB_PASSWORD_FILE": ""}, sys.executable, "-c", "import os; print(os.environ['MONGODB_URI'])")
    assert done.returncode == 0 and done.stdout.strip() == "mongodb://mongo:27017/dm"


@pytest.mark.parametrize("content, message", [(None, "cannot read"), ("", "is empty")])
def test_entrypoint_refuses_missing_or_empty_secrets(tmp_path: Path, content: str | None, message: str) -> None:
    secret = tmp_path / "secret"
    if content is not None:
        secret.write_text(content)
    done = entrypoint({"DRIFT_MONITOR_PROXY_SECRET_FILE": str(secret)}, "true")
    assert done.returncode == 2 and message in done.stderr


# -- docker/envoy-entrypoint.sh: prod refuses localhost --------------------------------------------------


@pytest.mark.parametrize("domain", ["localhost", "127.0.0.1", ""])
def test_prod_edge_refuses_localhost_with_a_clear_message(tmp_path: Path, domain: str) -> None:
    env = {"PATH": f"{VENV_BIN}:{os.environ['PATH']}", "DRIFT_MONITOR_EDGE_PROFILE": "prod", "APP_DOMAIN_NAME": domain,
           "DRIFT_MONITOR_PROXY_SECRET": "a-proxy-secret-of-enough-length", "DRIFT_MONITOR_ISSUERS": '[{"name": "x", "url": "https://x.example.org", "jwks_uri": "https://x.example.org/jwks"}]',
           "DRIFT_MONITOR_TLS_DIR": str(tmp_path / "tls"), "DRIFT_MONITOR_EDGE_CONFIG_DIR": str(tmp_path / "out")}
    done = subprocess.run(["sh", str(ROOT / "docker" / "envoy-entrypoint.sh")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "prod needs APP_DOMAIN_NAME set to the server's public DNS name (localhost is refused)" in done.stderr
    assert not (tmp_path / "tls").exists()  # refused before anything was made
    direct = subprocess.run([sys.executable, str(ROOT / "envoy" / "render.py"), "--profile", "prod", "--domain", domain or "localhost", "--out", str(tmp_path / "r")],
                            env=env, capture_output=True, text=True, timeout=60)
    assert direct.returncode == 2 and "localhost is refused" in direct.stderr
