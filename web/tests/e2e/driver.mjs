// A Chromium driven by playwright-core, taking one JSON command per stdin line and answering one JSON
// line on stdout, so pytest (tests/web) scripts the browser between its own calls to the real stack.
//
//   {"id": 1, "op": "page", "name": "manager"}                       new context + page (own cookies and storage)
//   {"id": 2, "op": "goto", "page": "manager", "url": "https://..."}
//   {"id": 3, "op": "call", "page": "manager", "selector": "text=Sign in", "method": "click", "args": []}
//   {"id": 4, "op": "download", "page": "manager", "selector": "...", "path": "/tmp/x.csv"}
//   {"id": 5, "op": "screenshot", "page": "manager", "path": "..."}
//   {"id": 6, "op": "eval", "page": "manager", "script": "location.href"}
//   {"id": 7, "op": "offline", "page": "manager", "offline": true}
//   {"id": 8, "op": "axe", "page": "manager"}                          WCAG 2 A/AA violations found by axe-core
// "call" runs a Playwright Locator method (click, fill, check, selectOption, textContent, waitFor, count, ...);
// a locator with "role" instead of "selector" is page.getByRole(role, {name}). Errors answer {"id", "error"}.
// Dialogs (confirm, alert) are accepted and logged: {"op": "console"} returns the page's log lines.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const axeScript = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const pages = new Map();
const console_ = new Map();

function locate(command) {
  const page = pages.get(command.page);
  if (!page) throw new Error(`no page ${command.page}`);
  let locator = command.role ? page.getByRole(command.role, { name: command.name, exact: command.exact ?? false })
    : command.label ? page.getByLabel(command.label, { exact: command.exact ?? false })
    : page.locator(command.selector);
  if (command.nth !== undefined) locator = locator.nth(command.nth);
  return { page, locator };
}

async function run(command) {
  switch (command.op) {
    case "page": {
      // bypassCSP: the page's CSP forbids injected scripts, and the accessibility check (axe) is one.
      const context = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true, bypassCSP: true, viewport: command.viewport ?? { width: 1280, height: 800 } });
      context.setDefaultTimeout(command.timeout ?? 15_000);
      const page = await context.newPage();
      const lines = [];
      page.on("console", (m) => lines.push(`${m.type()}: ${m.text()}`));
      page.on("pageerror", (e) => lines.push(`pageerror: ${e.message}`));
      // confirm() and alert() are answered yes, and kept in the log for the test to check.
      page.on("dialog", (d) => { lines.push(`dialog: ${d.message()}`); void d.accept(); });
      pages.set(command.name, page);
      console_.set(command.name, lines);
      return null;
    }
    case "goto": {
      const page = pages.get(command.page);
      const started = Date.now();
      await page.goto(command.url, { waitUntil: command.waitUntil ?? "load" });
      return Date.now() - started;
    }
    case "call": {
      const { locator } = locate(command);
      return (await locator[command.method](...(command.args ?? []))) ?? null;
    }
    case "download": {
      const { page, locator } = locate(command);
      const [download] = await Promise.all([page.waitForEvent("download"), locator.click()]);
      await download.saveAs(command.path);
      return download.suggestedFilename();
    }
    case "screenshot":
      await pages.get(command.page).screenshot({ path: command.path, fullPage: true });
      return command.path;
    case "eval":
      return await pages.get(command.page).evaluate(command.script);
    case "axe": {
      // WCAG 2 A/AA rules of axe-core over the page as it is; answers the violations.
      const page = pages.get(command.page);
      await page.addScriptTag({ path: axeScript });
      return await page.evaluate(async () => {
        const result = await globalThis.axe.run(document, { runOnly: ["wcag2a", "wcag2aa"] });
        return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
      });
    }
    case "offline":
      await pages.get(command.page).context().setOffline(command.offline);
      return null;
    case "console":
      return console_.get(command.page) ?? [];
    case "close":
      await pages.get(command.page)?.context().close();
      pages.delete(command.page);
      return null;
    default:
      throw new Error(`unknown op ${command.op}`);
  }
}

const reply = (message) => process.stdout.write(JSON.stringify(message) + "\n");
reply({ ready: true, version: browser.version() });
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const command = JSON.parse(line);
  try {
    reply({ id: command.id, result: (await run(command)) ?? null });
  } catch (error) {
    reply({ id: command.id, error: String(error?.message ?? error) });
  }
}
await browser.close();
