import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { base64url, challenge, jwtClaims, randomToken } from "../../src/auth/pkce";

describe("PKCE", () => {
  it("is the base64url SHA-256 of the verifier, unpadded (as node:crypto computes it)", async () => {
    const verifier = randomToken();
    expect(await challenge(verifier)).toBe(createHash("sha256").update(verifier).digest("base64url"));
  });
  it("makes 43-character URL-safe random tokens", () => {
    const token = randomToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(randomToken()).not.toBe(token);
  });
  it("reads JWT claims, including non-ASCII names", () => {
    const payload = base64url(new TextEncoder().encode(JSON.stringify({ sub: "x", name: "Zoë" })));
    expect(jwtClaims(`h.${payload}.s`)).toEqual({ sub: "x", name: "Zoë" });
  });
});
