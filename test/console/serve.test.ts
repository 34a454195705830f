import { existsSync } from "node:fs";
import path from "node:path";
import { consoleAssetsDir, CONSOLE_CSP } from "../../console/server";
import { startTestKit, type TestKit } from "../support/testkit";

/** The service serves the built console itself, with headers that keep it on its own origin. */

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
