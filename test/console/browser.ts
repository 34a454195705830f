import { existsSync } from "node:fs";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";

/*
 * The console's tests drive a real Chromium (Debian's, not a Playwright download: nothing is
 * fetched here). Without one they are skipped, saying so plainly, unless CI_REQUIRE_BROWSER=1
 * makes a missing browser a failure.
 */

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
export const HAVE_CHROMIUM = existsSync(CHROMIUM_PATH);
const REQUIRED = process.env.CI_REQUIRE_BROWSER === "1";

/** `describe`, or a loud skip without a browser, or a failing test when one is required. */
export function describeInBrowser(name: string, body: () => void): void {
  if (HAVE_CHROMIUM) return describe(name, body);
  if (REQUIRED) {
    describe(name, () => {
      it("has a Chromium to run in", () => {
        throw new Error(`CI_REQUIRE_BROWSER=1 but there is no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
      });
    });
    return;
  }
  // Straight to stderr: jest prints nothing of a file whose tests were all skipped.
  process.stderr.write(`\nSKIPPED: the console's browser tests "${name}": no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium, or set CHROMIUM_PATH).\n`);
  describe.skip(name, body);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/**
 * An artifact page's own title, waited for by name: the page's README may hold a level-1
 * heading with the same text, so the plain role would match two elements once it renders.
 */
export function artifactTitle(page: Page, name: string): Locator {
  return page.getByRole("heading", { level: 1, name, exact: true }).and(page.locator("#artifact-title"));
}

export const LAPTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** What a page did that the console must never do. Every list stays empty in a passing test. */
export interface Trouble {
  /** Requests to any origin but the service's: refused before they leave. */
  offOrigin: string[];
  /** Requests that failed on the network (refused ones included). */
  failed: string[];
  /** Uncaught exceptions in the page. */
  pageErrors: string[];
  /** console.error messages: failed loads, CSP violations, React errors. */
  consoleErrors: string[];
  /** alert/confirm/prompt dialogs opened (and dismissed). */
  dialogs: string[];
}

export interface ConsolePage {
  page: Page;
  context: BrowserContext;
  trouble: Trouble;
  /** POSTs to /graphql so far (the console must not poll). */
  posts: string[];
  close(): Promise<void>;
}

/** A fresh browser context whose network reaches only `origin`. */
export async function openContext(browser: Browser, origin: string, viewport = LAPTOP): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport, serviceWorkers: "block" });
  const trouble: Trouble = { offOrigin: [], failed: [], pageErrors: [], consoleErrors: [], dialogs: [] };
  const posts: string[] = [];
  await context.route("**/*", async (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) return route.continue();
    trouble.offOrigin.push(url);
    return route.abort("blockedbyclient");
  });
  const page = await context.newPage();
  page.on("request", (request) => {
    if (request.method() === "POST" && new URL(request.url()).pathname === "/graphql") {
      posts.push(String(JSON.parse(request.postData() ?? "{}").query ?? "").trim().slice(0, 60));
    }
  });
  page.on("websocket", (socket) => {
    if (new URL(socket.url()).host !== new URL(origin).host) trouble.offOrigin.push(socket.url());
  });
  page.on("requestfailed", (request) => {
    const reason = request.failure()?.errorText;
    // A request the page itself gave up on (a reload or navigation while it was in flight) did not fail on the network.
    if (reason === "net::ERR_ABORTED") return;
    trouble.failed.push(`${request.method()} ${request.url()}: ${reason}`);
  });
  page.on("pageerror", (error) => trouble.pageErrors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") trouble.consoleErrors.push(`${message.text()} (${message.location().url}:${message.location().lineNumber})`);
  });
  page.on("dialog", (dialog) => {
    trouble.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return { page, context, trouble, posts, close: () => context.close() };
}

/** Screenshots go to CONSOLE_SCREENSHOTS (a folder) when it is set: for people, not assertions. */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.CONSOLE_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

const BLOCKED_HANDLER = "Executing inline event handler violates the following Content Security Policy directive 'script-src 'self''";

/**
 * Nothing went to another origin, failed, threw or opened a dialog. Sanitising the hostile
 * README parses its handler attributes (onerror, onload, onclick) in an inert document, and the
 * page's CSP refuses even to compile them, saying so: `hostileReadmes` is how often it was shown.
 */
export function expectNoTrouble(cp: ConsolePage, { hostileReadmes = 0 } = {}) {
  const blocked = cp.trouble.consoleErrors.filter((e) => e.startsWith(BLOCKED_HANDLER));
  expect(blocked.length).toBeLessThanOrEqual(3 * hostileReadmes);
  const consoleErrors = cp.trouble.consoleErrors.filter((e) => !blocked.includes(e));
  expect({ ...cp.trouble, consoleErrors }).toEqual({ offOrigin: [], failed: [], pageErrors: [], consoleErrors: [], dialogs: [] });
}
