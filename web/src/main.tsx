// Entry: the runtime settings from /config.json (written by web/serve.py), then the app.
import { render } from "preact";
import { makeApi } from "./api";
import { App } from "./app";
import { Auth, type OidcConfig } from "./auth/oidc";
import "./style.css";

async function start(): Promise<void> {
  const root = document.getElementById("app")!;
  try {
    const reply = await fetch("/config.json", { cache: "no-store" });
    if (!reply.ok) throw new Error(`/config.json answered ${reply.status}`);
    const config = (await reply.json()) as OidcConfig;
    const auth = new Auth(config);
    render(<App auth={auth} api={makeApi(auth)} />, root);
  } catch (error) {
    root.textContent = `The page could not start: ${String(error)}`;
  }
}

void start();
