"""Container entrypoint: secrets from files into the environment, then exec the command.

    python docker/entrypoint.py COMMAND [ARG...]

For every VARIABLE_FILE=/run/secrets/x in the environment, VARIABLE is set to that file's content (one
trailing newline dropped), so compose secrets never sit in `docker inspect` output or in the compose
files (an empty X_FILE is ignored). MONGODB_PASSWORD (from MONGODB_PASSWORD_FILE) is put into MONGODB_URI's user part, URL-quoted,
because the server and scripts/backup.py take one URI.
"""

from __future__ import annotations

import os
import sys
import urllib.parse
from collections.abc import MutableMapping

SUFFIX = "_FILE"


class EntrypointError(ValueError):
    pass


def load_secrets(env: MutableMapping[str, str]) -> None:
    for name in [n for n in env if n.endswith(SUFFIX) and len(n) > len(SUFFIX)]:
        target, path = name[: -len(SUFFIX)], env[name]
        if not path:  # set empty by a compose file that turns the secret off
            continue
        try:
            with open(path, encoding="utf-8") as secret:
                value = secret.read()
        except OSError as exc:
            raise EntrypointError(f"{name}: cannot read {path}: {exc.strerror}") from None
        value = value[:-1] if value.endswith("\n") else value
        if not value:
            raise EntrypointError(f"{name}: {path} is empty")
        env[target] = value
    password = env.get("MONGODB_PASSWORD")
    if password and "MONGODB_URI" in env:
        env["MONGODB_URI"] = with_password(env["MONGODB_URI"], password)


def with_password(uri: str, password: str) -> str:
    parts = urllib.parse.urlsplit(uri)
    user, at, host = parts.netloc.rpartition("@")
    if not at:
        raise EntrypointError("MONGODB_URI needs a user (mongodb://USER@host/db) for MONGODB_PASSWORD")
    user = user.split(":", 1)[0]
    netloc = f"{user}:{urllib.parse.quote(password, safe='')}@{host}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: entrypoint.py COMMAND [ARG...]", file=sys.stderr)
        return 2
    try:
        load_secrets(os.environ)
    except EntrypointError as exc:
        print(f"entrypoint: {exc}", file=sys.stderr)
        return 2
    os.execvp(argv[0], argv)
    return 127  # pragma: no cover - execvp does not return


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
