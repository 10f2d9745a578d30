"""The sandbox OpenID provider and its tools.

  python -m sandbox.issuer serve [--listen HOST:PORT] [--state DIR] [--issuer URL]
  python -m sandbox.issuer token PERSONA [--lifetime S] [--audience A] [--no-entitlements]
                                         [--not-before-offset S] [--expired]
  python -m sandbox.issuer rotate     new signing key; the old ones stay in JWKS
  python -m sandbox.issuer retire     unpublish every key but the current one

`token`, `rotate` and `retire` work on the state directory directly (no HTTP), so they work whether or
not the issuer runs; a running issuer picks up key changes at its next request. The issuer URL defaults
to $DRIFT_MONITOR_SANDBOX_ISSUER, else sandbox/personas.json's "issuer" (http://127.0.0.1:8950).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import urllib.parse
from pathlib import Path

from sandbox import personas
from sandbox.issuer.app import Issuer, make_server
from sandbox.issuer.keys import AUDIENCE, DEFAULT_STATE, KeyStore, persona_claims


def _parser() -> argparse.ArgumentParser:
    # --state and --issuer are accepted before or after the command.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state", type=Path, default=argparse.SUPPRESS, help=f"key directory (default {DEFAULT_STATE})")
    common.add_argument("--issuer", default=argparse.SUPPRESS, help="issuer URL put in tokens and discovery")
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.issuer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, parents=[common]
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", parents=[common], help="serve discovery, JWKS, authorize, token and UserInfo")
    serve.add_argument("--listen", default="", help="HOST:PORT (default: the issuer URL's host and port)")
    serve.add_argument("--token-lifetime", type=int, default=3600, help="access token lifetime in seconds")
    serve.add_argument("--no-entitlements", action="store_true",
                       help="leave eduperson_entitlement out of access tokens (only UserInfo has it, as with EGI Check-in)")
    serve.add_argument("--allow-redirect", action="append", default=[], metavar="PREFIX",
                       help="allow redirect URIs starting with PREFIX besides loopback ones (repeatable)")

    token = commands.add_parser("token", parents=[common], help="print an access token for a persona")
    token.add_argument("persona", choices=personas.NAMES)
    token.add_argument("--lifetime", type=int, default=3600, help="seconds from now until it expires")
    token.add_argument("--audience", default=AUDIENCE)
    token.add_argument("--no-entitlements", action="store_true", help="leave the claim out (the server asks UserInfo)")
    token.add_argument("--not-before-offset", type=int, default=0, help="seconds until the token becomes valid")
    token.add_argument("--expired", action="store_true", help="a token that expired an hour ago")

    commands.add_parser("rotate", parents=[common], help="new signing key; old keys stay in JWKS until retire")
    commands.add_parser("retire", parents=[common], help="drop every key but the current one from JWKS")
    return parser


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    state: Path = getattr(args, "state", DEFAULT_STATE)
    issuer: str = getattr(args, "issuer", "") or os.environ.get("DRIFT_MONITOR_SANDBOX_ISSUER", "") or personas.ISSUER
    issuer = issuer.rstrip("/")
    keys = KeyStore(state)

    if args.command == "serve":
        parts = urllib.parse.urlsplit(issuer)
        listen = args.listen or f"{parts.hostname}:{parts.port or 80}"
        app = Issuer(issuer, keys, token_lifetime=args.token_lifetime, entitlements_in_token=not args.no_entitlements,
                     redirect_prefixes=tuple(args.allow_redirect))
        server = make_server(listen, app)
        signal.signal(signal.SIGTERM, _interrupt)
        print(f"sandbox issuer {issuer} listening on {listen} (keys in {state})", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    elif args.command == "token":
        if args.expired:
            claims = persona_claims(args.persona, issuer, lifetime=3600, issued_offset=-7200, audience=args.audience,
                                    entitlements=not args.no_entitlements)
        else:
            claims = persona_claims(args.persona, issuer, lifetime=args.lifetime, audience=args.audience,
                                    entitlements=not args.no_entitlements, not_before_offset=args.not_before_offset)
        print(keys.sign(claims, typ="at+jwt"))
    elif args.command == "rotate":
        print(keys.rotate())
    else:
        retired = keys.retire()
        print(f"current key {keys.current}; retired {', '.join(retired) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
