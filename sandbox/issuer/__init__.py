"""A small OpenID provider for local runs and tests: signs RS256 access tokens for the sandbox personas.

It speaks the protocol Envoy and the server rely on (discovery, JWKS, UserInfo, a token endpoint) and can
rotate its signing key. Not for production: anyone can get a token for any persona.
"""
