import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import express from "express";

/*
 * Serves the console and the GraphQL explorer (GraphiQL) that `npm run build` put in
 * dist/console/app, from the service itself: clusters are often air-gapped, so nothing may come
 * from another origin, and the policies below tell the browser so (a second fence behind the
 * README sanitiser).
 */

/** Where the built console is: beside this file once compiled, under dist/ when run from source (tests). */
export function consoleAssetsDir(): string | null {
  const candidates = [path.join(__dirname, "app"), path.join(__dirname, "..", "dist", "console", "app")];
  return candidates.find((dir) => existsSync(path.join(dir, "index.html"))) ?? null;
}

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  // data: only for the empty favicon; README images from elsewhere are turned into links.
  "img-src 'self' data:",
  "font-src 'self'",
  // 'self' covers ws: and wss: to this origin (CSP level 3): the graphql-ws subscriptions.
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * The console's policy, widened for the explorer's page only: GraphiQL's stylesheet inlines its
 * fonts as data: URLs, and its dialogs inject one <style> (react-remove-scroll), allowed by this
 * response's nonce rather than by 'unsafe-inline'.
 */
export function explorerCsp(nonce: string): string {
  return CONSOLE_CSP.replace("style-src 'self'", `style-src 'self' 'nonce-${nonce}'`).replace("font-src 'self'", "font-src 'self' data:");
}

const EXPLORER_PAGE = "explorer.html";
/** In explorer.html's <meta name="csp-nonce">, where the page's script reads the nonce from. */
const NONCE_PLACEHOLDER = "__CSP_NONCE__";

/** The explorer's page with a fresh nonce in both the page and its policy. */
async function sendExplorer(dir: string, res: express.Response): Promise<void> {
  const nonce = randomBytes(16).toString("base64");
  const html = (await readFile(path.join(dir, EXPLORER_PAGE), "utf8")).replaceAll(NONCE_PLACEHOLDER, nonce);
  res.set({ ...securityHeaders(explorerCsp(nonce)), "Cache-Control": "no-cache" }).type("html").send(html);
}

function securityHeaders(csp: string): Record<string, string> {
  return {
    "Content-Security-Policy": csp,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
  };
}

/** What Apollo's landing page answered: a browser's GET, which prefers HTML to every GraphQL response type. */
function prefersHtml(req: express.Request): boolean {
  return req.accepts(["application/json", "application/graphql-response+json", "multipart/mixed", "text/html"]) === "text/html";
}

/**
 * The explorer at /explorer, and at /graphql for a browser (where Apollo's CDN landing page was).
 * Its URLs are relative to the page, so /explorer/ goes (relatively, for a proxy's sub-path) to
 * /explorer.
 */
function mountExplorer(app: express.Express, page: express.RequestHandler): void {
  const atPage: express.RequestHandler = (req, res, next) => {
    if (req.path.endsWith("/")) return res.redirect(301, `../${path.posix.basename(req.path)}`);
    return page(req, res, next);
  };
  app.get(["/explorer", `/${EXPLORER_PAGE}`], atPage);
  app.get("/graphql", (req, res, next) => (prefersHtml(req) ? atPage(req, res, next) : next()));
}

/**
 * Mounts the console at `/` and the explorer at /explorer and (for browsers) /graphql; both are
 * mounted before /graphql's API. Hashed bundles under assets/ are cached for a year; the pages are
 * revalidated on every load, so a new build shows at once. Hash routing: every other path is
 * left to the routes after this one (/graphql, /healthz, ...).
 */
export function mountConsole(app: express.Express, dir = consoleAssetsDir()): void {
  if (!dir) {
    const notBuilt = (what: string): express.RequestHandler => (_req, res) => {
      res.status(503).type("text/plain").send(`${what} is not built: run \`npm run build\`. The GraphQL API answers POST /graphql.\n`);
    };
    app.get("/", notBuilt("The console"));
    mountExplorer(app, notBuilt("The GraphQL explorer"));
    return;
  }
  mountExplorer(app, (_req, res, next) => {
    sendExplorer(dir, res).catch(next);
  });
  app.use(
    express.static(dir, {
      index: "index.html",
      redirect: false,
      setHeaders: (res, file) => {
        for (const [name, value] of Object.entries(securityHeaders(CONSOLE_CSP))) res.setHeader(name, value);
        const immutable = path.relative(dir, file).startsWith(`assets${path.sep}`);
        res.setHeader("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
      },
    }),
  );
}
