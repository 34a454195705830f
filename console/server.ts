import { existsSync } from "node:fs";
import path from "node:path";
import express from "express";

/*
 * Serves the console that `npm run build` put in dist/console/app, from the service itself:
 * clusters are often air-gapped, so nothing may come from another origin, and the policy below
 * tells the browser so (a second fence behind the README sanitiser).
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

const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy": CONSOLE_CSP,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
};

/**
 * Mounts the console at `/`. Hashed bundles under assets/ are cached for a year; index.html is
 * revalidated on every load, so a new build shows at once. Hash routing: every other path is
 * left to the routes after this one (/graphql, /healthz, ...).
 */
export function mountConsole(app: express.Express, dir = consoleAssetsDir()): void {
  if (!dir) {
    app.get("/", (_req, res) => {
      res.status(503).type("text/plain").send("The console is not built: run `npm run build`. The GraphQL API is at /graphql.\n");
    });
    return;
  }
  app.use(
    express.static(dir, {
      index: "index.html",
      redirect: false,
      setHeaders: (res, file) => {
        for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
        const immutable = path.relative(dir, file).startsWith(`assets${path.sep}`);
        res.setHeader("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
      },
    }),
  );
}
