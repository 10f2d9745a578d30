// OpenID Connect authorization code flow with PKCE for a public client (no secret), token refresh, logout.
// Tokens live in sessionStorage: gone with the tab, never sent anywhere but the issuer and our own origin.
import { challenge, jwtClaims, randomToken } from "./pkce";

export interface OidcConfig { issuer: string; clientId: string; scope: string }

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  name: string;
  email: string;
  subject: string;
}

interface Discovery { authorization_endpoint: string; token_endpoint: string; end_session_endpoint?: string }
interface Pending { state: string; verifier: string; nonce: string; returnTo: string }

const SESSION = "dm.session";
const PENDING = "dm.pending-login";
/** Refresh this long before expiry, so no call goes out with a token about to lapse. */
const REFRESH_MARGIN_MS = 60_000;

export class Auth {
  private discovery?: Promise<Discovery>;
  private refreshing?: Promise<Session | null>;
  private timer?: ReturnType<typeof setTimeout>;
  private listeners = new Set<(session: Session | null) => void>();
  session: Session | null;

  constructor(readonly config: OidcConfig, private storage: Storage = sessionStorage) {
    this.session = this.load();
    this.schedule();
  }

  get redirectUri(): string {
    return `${location.origin}/callback`;
  }

  subscribe(listener: (session: Session | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private endpoints(): Promise<Discovery> {
    this.discovery ??= fetch(`${this.config.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`).then(async (reply) => {
      if (!reply.ok) throw new Error(`the issuer's discovery answered ${reply.status}`);
      return (await reply.json()) as Discovery;
    });
    this.discovery.catch(() => (this.discovery = undefined));  // retried on the next sign-in
    return this.discovery;
  }

  /** Off to the issuer; back at /callback, then at returnTo. */
  async login(returnTo: string): Promise<void> {
    const { authorization_endpoint } = await this.endpoints();
    const pending: Pending = { state: randomToken(), verifier: randomToken(), nonce: randomToken(), returnTo };
    this.storage.setItem(PENDING, JSON.stringify(pending));
    const url = new URL(authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: "code", client_id: this.config.clientId, redirect_uri: this.redirectUri, scope: this.config.scope,
      state: pending.state, nonce: pending.nonce, code_challenge: await challenge(pending.verifier), code_challenge_method: "S256",
    }).toString();
    location.assign(url.toString());
  }

  /** Finishes a login from the callback URL; returns where to go next. */
  async completeLogin(callback: URL): Promise<string> {
    const pending = JSON.parse(this.storage.getItem(PENDING) ?? "null") as Pending | null;
    this.storage.removeItem(PENDING);
    const error = callback.searchParams.get("error");
    if (error) throw new Error(`sign-in failed: ${callback.searchParams.get("error_description") ?? error}`);
    if (!pending || callback.searchParams.get("state") !== pending.state) throw new Error("sign-in failed: this callback does not belong to a sign-in started here");
    const session = await this.tokenRequest({
      grant_type: "authorization_code", code: callback.searchParams.get("code") ?? "", redirect_uri: this.redirectUri,
      client_id: this.config.clientId, code_verifier: pending.verifier,
    }, pending.nonce);
    this.set(session);
    return pending.returnTo || "/";
  }

  /** A fresh access token from the refresh token; null (signed out) when the issuer refuses. */
  refresh(): Promise<Session | null> {
    const current = this.session;
    if (!current?.refreshToken) return Promise.resolve(null);
    this.refreshing ??= this.tokenRequest({ grant_type: "refresh_token", refresh_token: current.refreshToken, client_id: this.config.clientId })
      .then((session) => { this.set(session); return session; })
      .catch(() => { this.set(null); return null; })
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** The access token to send, refreshed first when it is about to expire. */
  async token(): Promise<string | null> {
    if (this.session && this.session.expiresAt - REFRESH_MARGIN_MS < Date.now()) await this.refresh();
    return this.session?.accessToken ?? null;
  }

  async logout(): Promise<void> {
    this.set(null);
    const discovery = await this.endpoints().catch(() => null);
    if (discovery?.end_session_endpoint) {
      const url = new URL(discovery.end_session_endpoint);
      url.searchParams.set("post_logout_redirect_uri", location.origin + "/");
      location.assign(url.toString());
    }
  }

  private async tokenRequest(form: Record<string, string>, nonce?: string): Promise<Session> {
    const { token_endpoint } = await this.endpoints();
    const reply = await fetch(token_endpoint, { method: "POST", body: new URLSearchParams(form) });
    const body = (await reply.json().catch(() => ({}))) as Record<string, string | number>;
    if (!reply.ok) throw new Error(`the issuer refused: ${body.error_description ?? body.error ?? reply.status}`);
    if (!body.access_token) throw new Error("the issuer sent no access token");
    // Who signed in comes from the ID token; a refresh may send none (then the names stay as they were).
    const id = body.id_token ? jwtClaims(String(body.id_token)) : null;
    if (nonce && id?.nonce !== nonce) throw new Error("sign-in failed: the ID token's nonce does not match");
    const known = this.session;
    return {
      accessToken: String(body.access_token),
      refreshToken: String(body.refresh_token ?? known?.refreshToken ?? ""),
      expiresAt: Date.now() + Number(body.expires_in ?? 300) * 1000,
      name: String(id?.name ?? id?.sub ?? known?.name ?? ""),
      email: String(id?.email ?? known?.email ?? ""),
      subject: String(id?.sub ?? known?.subject ?? ""),
    };
  }

  private set(session: Session | null): void {
    this.session = session;
    if (session) this.storage.setItem(SESSION, JSON.stringify(session));
    else this.storage.removeItem(SESSION);
    this.schedule();
    for (const listener of this.listeners) listener(session);
  }

  private load(): Session | null {
    try {
      return JSON.parse(this.storage.getItem(SESSION) ?? "null") as Session | null;
    } catch {
      return null;
    }
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (!this.session) return;
    const wait = Math.max(0, this.session.expiresAt - REFRESH_MARGIN_MS - Date.now());
    this.timer = setTimeout(() => void this.refresh(), Math.min(wait, 2 ** 31 - 1));
  }
}
