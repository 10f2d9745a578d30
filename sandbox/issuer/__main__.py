"""`python -m sandbox.issuer serve|token|rotate|retire`: the sandbox OpenID provider and its tools."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sandbox import personas
from sandbox.issuer.app import make_server
from sandbox.issuer.keys import DEFAULT_STATE, KeyStore, persona_claims


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.issuer", description=__doc__)
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE, help="key directory (default .run/issuer)")
    parser.add_argument("--issuer", default=personas.ISSUER, help="issuer URL put in tokens and discovery")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve discovery, JWKS, token and UserInfo")
    serve.add_argument("--listen", default="127.0.0.1:8950")
    token = commands.add_parser("token", help="print an access token for a persona")
    token.add_argument("persona", choices=personas.NAMES)
    token.add_argument("--lifetime", type=int, default=3600, help="seconds; negative gives an expired token")
    token.add_argument("--audience", default="drift-monitoring")
    token.add_argument("--no-entitlements", action="store_true", help="leave the claim out (the server asks UserInfo)")
    token.add_argument("--not-before-offset", type=int, default=0, help="seconds until the token becomes valid")
    commands.add_parser("rotate", help="new signing key; old keys stay in JWKS")
    commands.add_parser("retire", help="drop every key but the current one")
    args = parser.parse_args()

    keys = KeyStore(args.state)
    if args.command == "serve":
        server = make_server(args.listen, args.issuer, keys)
        print(f"sandbox issuer {args.issuer} listening on {args.listen}", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    elif args.command == "token":
        claims = persona_claims(
            args.persona, args.issuer, lifetime=args.lifetime, audience=args.audience,
            entitlements=not args.no_entitlements, not_before_offset=args.not_before_offset,
        )
        print(keys.sign(claims))
    elif args.command == "rotate":
        print(keys.rotate())
    else:
        keys.retire()
    return 0


if __name__ == "__main__":
    sys.exit(main())
