import { existsSync, readdirSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import express from "express";
import { consoleAssetsDir, CONSOLE_CSP, explorerCsp, mountConsole } from "../../console/server";
import { startTestKit, type TestKit } from "../support/testkit";

/** The service serves the built console and explorer itself, with headers that keep them on its own origin. */

let kit: TestKit;
beforeAll(async () => {
  if (!consoleAssetsDir()) throw new Error("run `npm run build` first: the console is served from dist/console/app");
  kit = await startTestKit();
});
afterAll(() => kit?.close());

describe("the console's assets", () => {
  it("are served at / with a CSP that allows only this origin, revalidated on every load", async () => {
    const res = await fetch(`${kit.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await res.text();
    // Every script and stylesheet is a relative path on this service.
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThanOrEqual(2);
    for (const ref of refs) expect(ref).toMatch(/^(\.\/assets\/|data:)/);
  });

  it("serves the hashed bundles as immutable for a year", async () => {
    const html = await (await fetch(`${kit.url}/`)).text();
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)![1];
    const res = await fetch(`${kit.url}/${script}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/javascript/);
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(existsSync(path.join(consoleAssetsDir()!, script))).toBe(true);
  });

  it("leaves /graphql, /healthz and unknown paths to the routes after it", async () => {
    expect((await fetch(`${kit.url}/healthz`)).status).toBe(200);
    const anonymous = await fetch(`${kit.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ artifacts { count } }" }) });
    expect(((await anonymous.json()) as any).errors[0].extensions.code).toBe("UNAUTHENTICATED");
    expect((await fetch(`${kit.url}/no-such-file.js`)).status).toBe(404);
  });
});

/** What a browser's address bar sends. */
const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
/** Apollo's landing page and the CDNs explorers are usually loaded from. */
const FOREIGN_HOSTS = /apollographql\.com|cdn\.jsdelivr\.net|unpkg\.com|unpkg|cdnjs|esm\.sh/i;

function assetRefs(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
}

describe("the GraphQL explorer's page", () => {
  it("is what a browser gets at /graphql, in place of Apollo's landing page: every script and stylesheet is a relative path on this service", async () => {
    const res = await fetch(`${kit.url}/graphql`, { headers: { accept: BROWSER_ACCEPT } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const html = await res.text();
    expect(html).toContain('<div id="explorer">');
    expect(html).not.toMatch(FOREIGN_HOSTS);
    const refs = assetRefs(html);
    expect(refs.filter((ref) => ref.endsWith(".js")).length).toBeGreaterThanOrEqual(1);
    expect(refs.filter((ref) => ref.endsWith(".css")).length).toBe(1);
    for (const ref of refs) expect(ref).toMatch(/^(\.\/assets\/[\w.-]+\.(js|css)|data:,)$/);
    // Each one is served, from this origin, resolved as the browser resolves it against /graphql.
    for (const ref of refs.filter((r) => r.startsWith("./"))) {
      const asset = await fetch(new URL(ref, `${kit.url}/graphql`));
      expect({ ref, status: asset.status }).toEqual({ ref, status: 200 });
    }
  });

  it("has a policy of its own: the console's, with GraphiQL's data: fonts and a fresh nonce for its one injected style", async () => {
    const pages = await Promise.all([1, 2].map(async () => {
      const res = await fetch(`${kit.url}/graphql`, { headers: { accept: BROWSER_ACCEPT } });
      return { csp: res.headers.get("content-security-policy")!, html: await res.text() };
    }));
    const nonces = pages.map(({ csp, html }) => {
      const nonce = /<meta name="csp-nonce" content="([^"]+)"/.exec(html)?.[1];
      expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
      expect(csp).toBe(explorerCsp(nonce!));
      return nonce;
    });
    expect(nonces[0]).not.toBe(nonces[1]);
    expect(pages[0].csp).toContain("script-src 'self';");
    expect(pages[0].csp).not.toContain("unsafe");
    expect(pages[0].csp.replace(/ 'nonce-[^']+'/, "").replace("font-src 'self' data:", "font-src 'self'")).toBe(CONSOLE_CSP);
  });

  it("is also at /explorer and /explorer.html, for any client", async () => {
    for (const url of ["/explorer", "/explorer.html"]) {
      const res = await fetch(`${kit.url}${url}`);
      expect({ url, status: res.status, type: res.headers.get("content-type") }).toEqual({ url, status: 200, type: expect.stringMatching(/^text\/html/) });
      expect(await res.text()).toContain('<div id="explorer">');
      expect(res.headers.get("content-security-policy")).toMatch(/'nonce-/);
    }
  });

  it("sends /explorer/ and a browser's /graphql/ to the page without the slash, where its relative URLs resolve", async () => {
    for (const [url, to] of [["/explorer/", "../explorer"], ["/graphql/", "../graphql"]]) {
      const res = await fetch(`${kit.url}${url}`, { headers: { accept: BROWSER_ACCEPT }, redirect: "manual" });
      expect({ url, status: res.status, location: res.headers.get("location") }).toEqual({ url, status: 301, location: to });
    }
  });

  it("leaves /graphql to the API for everything but a browser's GET: GraphQL over GET and POST, whatever they accept", async () => {
    // Apollo's CSRF prevention wants a GET to say it is no simple request.
    const query = `${kit.url}/graphql?query=${encodeURIComponent("{ __typename }")}`;
    for (const accept of ["application/json", "*/*"]) {
      const get = await fetch(query, { headers: { accept, "apollo-require-preflight": "true" } });
      expect({ accept, body: await get.json() }).toEqual({ accept, body: { data: { __typename: "Query" } } });
    }
    const post = await fetch(`${kit.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: BROWSER_ACCEPT, authorization: `Bearer ${kit.token("user")}` },
      body: JSON.stringify({ query: "{ artifacts { count } }" }),
    });
    expect(post.headers.get("content-type")).toMatch(/^application\/(graphql-response\+)?json/);
    expect(await post.json()).toEqual({ data: { artifacts: { count: expect.any(Number) } } });
  });

  it("names no CDN or Apollo host anywhere in the built pages and bundles", () => {
    const dir = consoleAssetsDir()!;
    const files = [...readdirSync(dir).filter((f) => f.endsWith(".html")), ...readdirSync(path.join(dir, "assets")).map((f) => path.join("assets", f))];
    expect(files).toContain("explorer.html");
    expect(files.filter((f) => /^assets\/explorer-.*\.js$/.test(f))).toHaveLength(1);
    const naming = files.filter((file) => FOREIGN_HOSTS.test(readFileSync(path.join(dir, file), "utf8")));
    expect(naming).toEqual([]);
  });
});

describe("a service whose console was not built", () => {
  it("says so at / and to a browser at /graphql, and leaves /graphql's API alone", async () => {
    const app = express();
    mountConsole(app, null);
    app.use("/graphql", (_req, res) => void res.json({ api: true }));
    const server = app.listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const root = await fetch(`${base}/`);
      expect({ status: root.status, text: await root.text() }).toEqual({ status: 503, text: expect.stringMatching(/^The console is not built: run `npm run build`/) });
      const page = await fetch(`${base}/graphql`, { headers: { accept: BROWSER_ACCEPT } });
      expect({ status: page.status, text: await page.text() }).toEqual({ status: 503, text: expect.stringMatching(/^The GraphQL explorer is not built/) });
      expect(await (await fetch(`${base}/graphql`, { headers: { accept: "application/json" } })).json()).toEqual({ api: true });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
