import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Auth } from "../../src/auth/oidc";
import { base64url } from "../../src/auth/pkce";

class MemoryStorage implements Storage {
  private items = new Map<string, string>();
  get length() { return this.items.size; }
  clear() { this.items.clear(); }
  getItem(key: string) { return this.items.get(key) ?? null; }
  key(index: number) { return [...this.items.keys()][index] ?? null; }
  removeItem(key: string) { this.items.delete(key); }
  setItem(key: string, value: string) { this.items.set(key, value); }
}

const ISSUER = "http://127.0.0.1:8950";
const jwt = (claims: object) => `h.${base64url(new TextEncoder().encode(JSON.stringify(claims)))}.s`;

/** The issuer's discovery and token endpoints; token requests are recorded and answered from `replies`. */
function issuer(replies: Array<{ status?: number; body: object }>) {
  const forms: URLSearchParams[] = [];
  vi.stubGlobal("fetch", async (url: string, init?: RequestInit) => {
    if (url.endsWith("/.well-known/openid-configuration")) {
      return new Response(JSON.stringify({ authorization_endpoint: `${ISSUER}/authorize`, token_endpoint: `${ISSUER}/token` }));
    }
    forms.push(new URLSearchParams(String(init?.body)));
    const reply = replies.shift()!;
    return new Response(JSON.stringify(reply.body), { status: reply.status ?? 200 });
  });
  return forms;
}

let assigned = "";
beforeEach(() => {
  assigned = "";
  vi.stubGlobal("location", { origin: "https://localhost:8443", assign: (url: string) => (assigned = url) });
});
afterEach(() => vi.unstubAllGlobals());

const config = { issuer: ISSUER, clientId: "drift-monitoring-web", scope: "openid offline_access" };

async function signIn(storage: Storage, nonce?: string) {
  // The issuer is stubbed before login: discovery must never reach a real network.
  const replies: Array<{ status?: number; body: object }> = [];
  const forms = issuer(replies);
  const auth = new Auth(config, storage);
  await auth.login("/experiments/x?status=FAILED");
  const request = new URL(assigned);
  replies.push({ body: {
    access_token: jwt({ sub: "manager" }), refresh_token: "r1", expires_in: 3600,
    id_token: jwt({ sub: "manager", name: "Max Manager", email: "m@example.org", nonce: nonce ?? request.searchParams.get("nonce") }),
  } });
  const callback = new URL(`https://localhost:8443/callback?code=c1&state=${request.searchParams.get("state")}`);
  return { auth, request, forms, next: () => auth.completeLogin(callback) };
}

describe("Auth", () => {
  it("sends a PKCE S256 authorization request and redeems the code with the verifier", async () => {
    const storage = new MemoryStorage();
    const { auth, request, forms, next } = await signIn(storage);
    expect(request.origin + request.pathname).toBe(`${ISSUER}/authorize`);
    expect(Object.fromEntries(request.searchParams)).toMatchObject({
      response_type: "code", client_id: "drift-monitoring-web", redirect_uri: "https://localhost:8443/callback", code_challenge_method: "S256",
    });
    expect(await next()).toBe("/experiments/x?status=FAILED");
    expect(Object.fromEntries(forms[0])).toMatchObject({ grant_type: "authorization_code", code: "c1", redirect_uri: "https://localhost:8443/callback" });
    expect(forms[0].get("code_verifier")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(auth.session).toMatchObject({ name: "Max Manager", email: "m@example.org", subject: "manager", refreshToken: "r1" });
    expect(new Auth(config, storage).session?.name).toBe("Max Manager");  // kept for the tab's next page load
  });

  it("refuses a callback whose state it did not send, or an ID token with another nonce", async () => {
    const auth = new Auth(config, new MemoryStorage());
    await expect(auth.completeLogin(new URL("https://localhost:8443/callback?code=c&state=forged"))).rejects.toThrow(/does not belong/);
    const { next } = await signIn(new MemoryStorage(), "someone-else's");
    await expect(next()).rejects.toThrow(/nonce/);
  });

  it("refreshes a token about to expire once, with the rotated refresh token, and signs out when refused", async () => {
    const storage = new MemoryStorage();
    const { auth, next } = await signIn(storage);
    await next();
    auth.session!.expiresAt = Date.now() + 1000;  // inside the refresh margin
    const forms = issuer([{ body: { access_token: "a2", refresh_token: "r2", expires_in: 3600 } }, { status: 400, body: { error: "invalid_grant" } }]);
    const [one, two] = await Promise.all([auth.token(), auth.token()]);
    expect([one, two]).toEqual(["a2", "a2"]);
    expect(forms.map((f) => f.get("refresh_token"))).toEqual(["r1"]);
    expect(auth.session).toMatchObject({ name: "Max Manager", subject: "manager", refreshToken: "r2" });  // no ID token: names kept
    auth.session!.expiresAt = Date.now();
    expect(await auth.token()).toBeNull();
    expect(forms.map((f) => f.get("refresh_token"))).toEqual(["r1", "r2"]);
    expect(storage.getItem("dm.session")).toBeNull();
  });
});
