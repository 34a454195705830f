import { createHash } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { FAST_IMPORTS } from "../import/support";
import { startFakeHub, type FakeHub, type FakeModel } from "../support/fake-hub";
import { startTestKit, type RoleName, type TestKit } from "../support/testkit";
import { artifactTitle, describeInBrowser, expectNoTrouble, launchChromium, LAPTOP, openContext, PHONE, screenshot, type ConsolePage } from "./browser";

/*
 * The console in a real Chromium against a real server (fresh database, filesystem storage) and
 * the fake hub: what an operator does, with the network limited to the service throughout.
 */

jest.setTimeout(120_000);

const MiB = 1024 * 1024;
const EVIL_README = [
  "---",
  "license: mit",
  "---",
  "# Evil card",
  "",
  "<script>window.__pwned = 'script'; alert('script')</script>",
  "<img src=\"x\" onerror=\"window.__pwned = 'onerror'; alert('onerror')\">",
  "<a href=\"javascript:window.__pwned = 'link'; alert('link')\">click me</a>",
  "",
  "[markdown link](javascript:alert('md'))",
  "",
  "<svg onload=\"window.__pwned = 'svg'\"><circle r=\"5\"/></svg>",
  "<iframe src=\"javascript:parent.__pwned = 'iframe'\"></iframe>",
  "<div onclick=\"window.__pwned = 'click'\" id=\"clicky\">click the div</div>",
  "<form action=\"javascript:window.__pwned = 'form'\"><button>go</button></form>",
  "",
  "[an external link](https://example.com/external) and ![a remote image](https://example.com/pixel.png)",
].join("\n");

const MODELS: FakeModel[] = [
  {
    id: "acme/tiny-llm", downloads: 900,
    files: [
      { path: "README.md", content: "---\nlicense: apache-2.0\n---\n# Tiny LLM\n\nA **small** model.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```sh\npip install tiny\n```\n" },
      { path: "config.json", content: '{"hidden": 8}' },
      { path: "model.safetensors", content: { size: 3 * MiB, seed: 1 }, lfs: true },
    ],
  },
  { id: "acme/slow-model", downloads: 800, files: [{ path: "README.md", content: "# Slow" }, { path: "model.safetensors", content: { size: 2 * MiB, seed: 2 }, lfs: true }] },
  { id: "evil/xss-card", downloads: 10, files: [{ path: "README.md", content: EVIL_README }, { path: "weights.bin", content: { size: 1000, seed: 3 }, lfs: true }] },
];

let hub: FakeHub;
let kit: TestKit;
let browser: Browser;
const open: ConsolePage[] = [];


const origin = () => new URL(kit.url).origin;

/** A new browser context, signed in as `role` through the start-up link, on `view` (a hash route). */
async function signedIn(role: RoleName, view = "#/artifacts", viewport = LAPTOP): Promise<ConsolePage> {
  const cp = await openContext(browser, origin(), viewport);
  open.push(cp);
  await cp.page.goto(`${kit.url}/#token=${kit.token(role)}`);
  await cp.page.getByRole("heading", { level: 1, name: "Artifacts" }).waitFor();
  if (view !== "#/artifacts") await cp.page.goto(`${kit.url}/${view}`);
  return cp;
}

async function artifactId(name: string): Promise<string> {
  const data = await kit.as("superadmin").ok(`query($name: String!) { artifacts(first: 1, filter: { name: { equals: $name } }) { edges { node { id } } } }`, { name });
  const id = data.artifacts.edges[0]?.node.id;
  if (!id) throw new Error(`${name} has not been scanned`);
  return id;
}

async function openArtifact(cp: ConsolePage, name: string): Promise<void> {
  await cp.page.goto(`${kit.url}/#/artifacts/${await artifactId(name)}`);
  await artifactTitle(cp.page, name).waitFor();
}

/** The card of one revision on an artifact's page. */
const card = (page: Page, version: string) => page.locator(`li[data-revision="${version}"]`);
const badgeOf = (page: Page, version: string) => card(page, version).locator(".revision-head .badge");

/** The names of every button on the page: what this role is offered. */
async function buttonNames(page: Page): Promise<string[]> {
  return page.locator("button").evaluateAll((buttons) => buttons.map((b) => (b.textContent ?? "").replace(/[▲▼]/g, "").replace(/\s+/g, " ").trim()));
}

describeInBrowser("the web console", () => {
  beforeAll(async () => {
    hub = await startFakeHub(MODELS, { pageSize: 10 });
    kit = await startTestKit({ HF_ENDPOINT: hub.url, ...FAST_IMPORTS });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await kit?.close();
    await hub?.stop();
  });
  afterEach(async () => {
    for (const page of open.splice(0)) await page.close();
    hub.clearFaults();
  });

  it("signs in from the start-up link, and leaves no token in the address bar or the history", async () => {
    const cp = await openContext(browser, origin());
    open.push(cp);
    const token = kit.token("superadmin");
    await cp.page.goto(`${kit.url}/#token=${token}`);
    await cp.page.getByRole("heading", { level: 1, name: "Artifacts" }).waitFor();
    expect(cp.page.url()).toBe(`${kit.url}/#/artifacts`);
    expect(await cp.page.evaluate(() => sessionStorage.getItem("artifact-registry.token"))).toBe(token);
    // A reload keeps the session of this tab.
    await cp.page.reload();
    await cp.page.getByRole("heading", { level: 1, name: "Artifacts" }).waitFor();
    await cp.page.getByText("test-superadmin").waitFor();
    expectNoTrouble(cp);
    // The link's entry was replaced, not pushed: going back leaves the console.
    await cp.page.goBack();
    expect(cp.page.url()).not.toContain("token");
  });

  it("signs in with a pasted token, and says why a bad one is refused", async () => {
    const cp = await openContext(browser, origin());
    open.push(cp);
    await cp.page.goto(kit.url);
    const field = cp.page.getByLabel("Access token");
    await field.fill("not a token");
    await cp.page.getByRole("button", { name: "Sign in" }).click();
    await cp.page.getByRole("alert").filter({ hasText: "That is not a token" }).waitFor();

    // Well formed, but signed with another secret: the service says no.
    const forged = kit.token("admin").replace(/\.[^.]+$/, ".c2lnbmF0dXJlLWZyb20tZWxzZXdoZXJl");
    await field.fill(forged);
    await cp.page.getByRole("button", { name: "Sign in" }).click();
    await cp.page.getByRole("alert").filter({ hasText: "The service refused the token" }).waitFor();
    expect(await cp.page.evaluate(() => sessionStorage.getItem("artifact-registry.token"))).toBeNull();

    await field.fill(kit.token("user"));
    await cp.page.getByRole("button", { name: "Sign in" }).click();
    await cp.page.getByRole("heading", { level: 1, name: "Artifacts" }).waitFor();
    await cp.page.getByRole("button", { name: "Sign out" }).click();
    await cp.page.getByLabel("Access token").waitFor();
    expect(await cp.page.evaluate(() => sessionStorage.getItem("artifact-registry.token"))).toBeNull();
    expect(cp.trouble.offOrigin).toEqual([]);
    expect(cp.trouble.pageErrors).toEqual([]);
  });

  it("lets a superadmin scan the hub, then lists, filters, sorts and pages what it found", async () => {
    const { page, trouble } = await signedIn("superadmin", "#/registries");
    const scan = page.getByRole("region", { name: "Scan a registry" });
    await scan.getByLabel("Search text").fill("acme");
    await scan.getByLabel("Limit").fill("10");
    await scan.getByRole("button", { name: "Scan" }).click();
    await scan.getByRole("status").filter({ hasText: "Found 2 artifacts" }).waitFor();
    await kit.booted.services.scans.idle();

    await page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: "Artifacts" }).click();
    const rows = page.locator("table.artifacts tbody tr");
    await page.locator('tr[data-artifact="acme/tiny-llm"]').waitFor();
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-artifact")))).toEqual(["acme/slow-model", "acme/tiny-llm"]);
    const tiny = page.locator('tr[data-artifact="acme/tiny-llm"]');
    expect(await tiny.locator('td[data-label="Registry"]').textContent()).toBe("huggingface");
    expect(await tiny.locator('td[data-label="Latest version"]').textContent()).toBe("main");
    expect(await tiny.locator(".badge").getAttribute("data-status")).toBe("SCANNED");
    expect(await tiny.locator('td[data-label="Size"]').textContent()).toBe("3.00 MiB");

    // Sorting by the Name column header reverses the order.
    await page.getByRole("button", { name: "Name" }).click();
    await page.waitForFunction(() => document.querySelector("table.artifacts tbody tr")?.getAttribute("data-artifact") === "acme/tiny-llm");
    expect(await page.locator("th[aria-sort]").getAttribute("aria-sort")).toBe("descending");

    // Filtering by name, kept in the URL.
    await page.getByLabel("Name contains").fill("slow");
    await page.getByLabel("Name contains").press("Enter");
    await page.waitForFunction(() => document.querySelectorAll("table.artifacts tbody tr").length === 1);
    expect(page.url()).toContain("name=slow");

    // Paging: one per page.
    await page.getByLabel("Name contains").fill("");
    await page.getByLabel("Name contains").press("Enter");
    await page.goto(`${kit.url}/#/artifacts?size=10`);
    await page.locator('tr[data-artifact="acme/slow-model"]').waitFor();
    await page.getByRole("navigation", { name: "Pages" }).getByText("1–2 of 2").waitFor();
    expect(trouble).toEqual({ offOrigin: [], failed: [], pageErrors: [], consoleErrors: [], dialogs: [] });
  });

  it("shows an admin's import live: the bar moves to 100% and the badge turns AVAILABLE, without a reload or polling", async () => {
    // Hold the weights half-way for a while, so the bar is seen between 0 and 100.
    const weights = await hub.fileInfo("acme/tiny-llm", "main", "model.safetensors");
    hub.inject({ origin: "cdn", match: (r) => r.url.includes(weights.sha256), stallAfterBytes: MiB, stallMs: 2500 });
    const cp = await signedIn("admin");
    const { page } = cp;
    await openArtifact(cp, "acme/tiny-llm");
    expect(await badgeOf(page, "main").getAttribute("data-status")).toBe("SCANNED");

    // Everything the card shows, as it changes: the page records it itself.
    await page.evaluate(() => {
      const seen = { percents: [] as string[], statuses: [] as string[], texts: [] as string[], loadedAt: performance.timeOrigin };
      (window as any).__seen = seen;
      const record = () => {
        const card = document.querySelector('li[data-revision="main"]');
        const percent = card?.querySelector('[role="progressbar"]')?.getAttribute("aria-valuenow");
        const status = card?.querySelector(".revision-head .badge")?.getAttribute("data-status");
        if (percent != null && seen.percents[seen.percents.length - 1] !== percent) {
          seen.percents.push(percent);
          seen.texts.push(card!.querySelector(".progress-text")!.textContent ?? "");
        }
        if (status && seen.statuses[seen.statuses.length - 1] !== status) seen.statuses.push(status);
      };
      record();
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    });
    const postsBefore = cp.posts.length;
    await card(page, "main").getByRole("button", { name: "Import" }).click();
    await page.locator('li[data-revision="main"] .revision-head .badge[data-status="AVAILABLE"]').waitFor({ timeout: 60_000 });
    const bar = card(page, "main").getByRole("progressbar", { name: "Import of main" });
    expect(await bar.getAttribute("aria-valuenow")).toBe("100");

    const seen = await page.evaluate(() => (window as any).__seen);
    const context = JSON.stringify(seen, null, 2);
    expect(seen.loadedAt).toBe(await page.evaluate(() => performance.timeOrigin));
    expect(seen.statuses[0]).toBe("SCANNED");
    expect(seen.statuses).toContain("PULLING");
    expect(seen.statuses[seen.statuses.length - 1]).toBe("AVAILABLE");
    const order = ["SCANNED", "PULLING", "PULLED", "VERIFYING", "AVAILABLE"];
    expect({ statuses: seen.statuses.filter((s: string) => order.includes(s)), context }).toEqual({ statuses: order.filter((s) => seen.statuses.includes(s)), context });
    const middle = seen.percents.map(Number).filter((p: number) => p > 0 && p < 100);
    expect({ middle: middle.length > 0, context }).toEqual({ middle: true, context });
    expect(seen.percents[seen.percents.length - 1]).toBe("100");
    // Mid-way the bar tells bytes, files and rate.
    const midText = seen.texts[seen.percents.findIndex((p: string) => Number(p) > 0 && Number(p) < 100)];
    expect(midText).toMatch(/MiB of 3\.00 MiB/);
    expect(midText).toMatch(/of 3 files/);
    expect(midText).toMatch(/\/s/);
    // The only requests were the import and, once AVAILABLE, the files with their links: no polling.
    const operations = cp.posts.slice(postsBefore).map((q) => /^(?:query|mutation)\s+(\w+)/.exec(q)?.[1]);
    expect(operations.filter((o) => o !== "RevisionContent")).toEqual(["ImportRevision"]);
    expect(operations.filter((o) => o === "RevisionContent").length).toBeLessThanOrEqual(1);

    // The files, with their SHA-256 and a working download link.
    const row = page.locator("table.files tr", { hasText: "model.safetensors" });
    expect(await row.locator('td[data-label="SHA-256"]').textContent()).toBe(weights.sha256);
    const link = await row.getByRole("link", { name: "Download model.safetensors" }).getAttribute("href");
    const download = await page.request.get(link!);
    expect(download.status()).toBe(200);
    expect(createHash("sha256").update(await download.body()).digest("hex")).toBe(weights.sha256);
    await screenshot(page, "artifact-imported-1280");
    expectNoTrouble(cp);
  });

  it("lets an admin cancel an import that is under way", async () => {
    const weights = await hub.fileInfo("acme/slow-model", "main", "model.safetensors");
    hub.inject({ origin: "cdn", match: (r) => r.url.includes(weights.sha256), stallAfterBytes: 200_000, stallMs: 60_000, times: Infinity });
    const cp = await signedIn("admin");
    const { page } = cp;
    await openArtifact(cp, "acme/slow-model");
    await card(page, "main").getByRole("button", { name: "Import" }).click();
    await page.locator('li[data-revision="main"] .revision-head .badge[data-status="PULLING"]').waitFor();
    await card(page, "main").getByRole("progressbar").waitFor();
    await screenshot(page, "artifact-pulling-1280");
    await card(page, "main").getByRole("button", { name: "Cancel import" }).click();
    await card(page, "main").getByRole("button", { name: "Yes, cancel import" }).click();
    await page.locator('li[data-revision="main"] .revision-head .badge[data-status="SCANNED"]').waitFor();
    expect(await card(page, "main").getByRole("progressbar").count()).toBe(0);
    expect(await card(page, "main").getByRole("button", { name: "Import" }).isVisible()).toBe(true);
    const [row] = await kit.ds.query(`SELECT status FROM artifact_revisions r JOIN artifacts a ON a.id = r.artifact_id WHERE a.name = 'acme/slow-model'`);
    expect(row.status).toBe("SCANNED");
    expectNoTrouble(cp);
  });

  it("lets an admin clean up an imported revision: its files and links go, its metadata stays", async () => {
    const cp = await signedIn("admin");
    const { page } = cp;
    await openArtifact(cp, "acme/tiny-llm");
    expect(await badgeOf(page, "main").getAttribute("data-status")).toBe("AVAILABLE");
    await card(page, "main").getByRole("button", { name: "Clean up" }).click();
    await card(page, "main").getByRole("button", { name: "Yes, clean up" }).click();
    await page.locator('li[data-revision="main"] .revision-head .badge[data-status="SCANNED"]').waitFor();
    await page.locator("table.files").waitFor();
    expect(await page.locator("table.files").getByRole("link").count()).toBe(0);
    expect(await page.locator("table.files tbody tr").count()).toBe(3);
    expectNoTrouble(cp);
  });

  it("scans a named model at a named revision, and renders its hostile README without running any of it", async () => {
    const cp = await signedIn("superadmin", "#/registries");
    const { page } = cp;
    const panel = page.getByRole("region", { name: "Scan named models" });
    await panel.getByLabel("Model 1").fill("evil/xss-card");
    await panel.getByLabel("Revision").fill("main");
    await panel.getByRole("button", { name: "Scan models" }).click();
    await panel.getByRole("status").filter({ hasText: "Scanned 1 revision" }).waitFor();
    await kit.booted.services.scans.idle();
    await panel.getByRole("link", { name: "evil/xss-card" }).click();
    await page.getByRole("heading", { level: 1, name: "evil/xss-card" }).waitFor();
    const readme = page.locator("article.readme");
    await readme.getByRole("heading", { name: "Evil card" }).waitFor();

    const inspect = () => readme.evaluate((article) => ({
      pwned: (window as any).__pwned ?? null,
      scripts: article.querySelectorAll("script, iframe, svg, form, object, embed").length,
      handlers: [...article.querySelectorAll("*")].flatMap((el) => [...el.attributes].filter((a) => a.name.toLowerCase().startsWith("on")).map((a) => `${el.tagName}.${a.name}`)),
      scriptUrls: [...article.querySelectorAll("*")].flatMap((el) => [...el.attributes].filter((a) => /^\s*javascript:/i.test(a.value)).map((a) => `${el.tagName}.${a.name}`)),
      images: article.querySelectorAll("img").length,
    }));
    const clean = { pwned: null, scripts: 0, handlers: [], scriptUrls: [], images: 0 };
    expect(await inspect()).toEqual(clean);
    await readme.getByText("click me").click();
    await readme.getByText("click the div").click();
    await readme.getByText("markdown link").click();
    expect(await inspect()).toEqual(clean);
    // The front matter is not shown; the remote image is a link, not a load; the external link opens elsewhere.
    expect(await readme.textContent()).not.toContain("license: mit");
    expect(await readme.getByRole("link", { name: "[image: a remote image]" }).getAttribute("href")).toBe("https://example.com/pixel.png");
    expect(await readme.getByRole("link", { name: "an external link" }).getAttribute("rel")).toBe("noopener noreferrer nofollow");
    expect(cp.trouble.dialogs).toEqual([]);
    expectNoTrouble(cp, { hostileReadmes: 1 });
  });

  it("shows a user no action they may not take", async () => {
    const cp = await signedIn("user");
    const { page } = cp;
    await page.locator('tr[data-artifact="acme/tiny-llm"]').waitFor();
    const reading = ["Sign out", "Name", "Type", "Size", "Filter", "Previous", "Next", "Show more files"];
    expect((await buttonNames(page)).filter((name) => !reading.includes(name))).toEqual([]);
    expect(await page.getByRole("link", { name: "Scan a registry" }).count()).toBe(0);
    expect(await page.getByRole("checkbox").count()).toBe(0);

    for (const name of ["acme/tiny-llm", "acme/slow-model", "evil/xss-card"]) {
      await openArtifact(cp, name);
      await page.locator("li.revision").first().waitFor();
      expect({ name, extra: (await buttonNames(page)).filter((b) => !reading.includes(b)) }).toEqual({ name, extra: [] });
    }
    await page.goto(`${kit.url}/#/registries`);
    await page.getByRole("heading", { level: 2, name: "Hugging Face" }).waitFor();
    expect((await buttonNames(page)).filter((name) => !reading.includes(name))).toEqual([]);
    expect(await page.getByText("Add a Hugging Face registry").count()).toBe(0);
    expect(await page.getByRole("region", { name: "Scan a registry" }).count()).toBe(0);
    expectNoTrouble(cp, { hostileReadmes: 1 });
  });

  it("lets a superadmin add and edit a registry whose token is write-only", async () => {
    const cp = await signedIn("superadmin", "#/registries");
    const { page } = cp;
    await page.getByText("Add a Hugging Face registry").click();
    const form = page.getByRole("form", { name: "Add a Hugging Face registry" });
    await form.getByLabel("Name").fill("mirror");
    await form.getByLabel("URL").fill(hub.url);
    await form.getByLabel("Token").fill("hf_console_secret_9876");
    await form.getByRole("button", { name: "Add registry" }).click();
    const row = page.locator("table.registries tr", { hasText: "mirror" });
    await row.waitFor();
    expect(await row.locator('td[data-label="Token"]').textContent()).toBe("set");
    expect(await page.content()).not.toContain("9876");

    await row.getByRole("button", { name: "Edit mirror" }).click();
    const edit = page.getByRole("form", { name: "Edit mirror" });
    expect(await edit.getByLabel("Token", { exact: true }).inputValue()).toBe("");
    await edit.getByLabel("Name").fill("mirror-2");
    await edit.getByRole("button", { name: "Save" }).click();
    await page.locator("table.registries tr", { hasText: "mirror-2" }).waitFor();
    const data = await kit.as("superadmin").ok(`{ huggingfaceRegistries { edges { node { name token } } } }`);
    const saved = data.huggingfaceRegistries.edges.map((e: any) => e.node).find((r: any) => r.name === "mirror-2");
    // An empty field left the token as it was.
    expect(saved.token).toMatch(/9876$/);
    expect(await page.getByRole("combobox", { name: "Registry", exact: true }).first().locator("option", { hasText: "mirror-2" }).count()).toBe(1);
    expectNoTrouble(cp);
  });

  it("is usable by keyboard alone: links and buttons take focus visibly and act on Enter", async () => {
    const cp = await signedIn("admin");
    const { page } = cp;
    await page.locator('tr[data-artifact="acme/tiny-llm"]').waitFor();
    let focused = "";
    for (let i = 0; i < 40 && focused !== "acme/tiny-llm"; i++) {
      await page.keyboard.press("Tab");
      focused = await page.evaluate(() => document.activeElement?.textContent?.trim() ?? "");
    }
    expect(focused).toBe("acme/tiny-llm");
    expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).not.toBe("none");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { level: 1, name: "acme/tiny-llm" }).waitFor();
    expectNoTrouble(cp);
  });

  it.each([
    ["laptop", LAPTOP],
    ["phone", PHONE],
  ])("lays every view out on a %s without loading anything from elsewhere", async (device, viewport) => {
    const cp = await signedIn("superadmin", "#/artifacts", viewport);
    const { page } = cp;
    const views: Array<[string, string, () => Promise<unknown>]> = [
      ["artifacts", "#/artifacts?availability=all", () => page.locator('tr[data-artifact="acme/tiny-llm"]').waitFor()],
      ["artifact", `#/artifacts/${await artifactId("acme/tiny-llm")}`, () => page.locator("article.readme").waitFor()],
      ["registries", "#/registries", () => page.getByRole("region", { name: "Scan named models" }).waitFor()],
    ];
    for (const [name, view, ready] of views) {
      await page.goto(`${kit.url}/${view}`);
      await ready();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect({ view: name, overflow }).toEqual({ view: name, overflow: 0 });
      await screenshot(page, `${name}-${device}-${viewport.width}`);
    }
    await page.goto(kit.url);
    await screenshot(page, `signed-in-start-${device}`);
    expectNoTrouble(cp);
  });
});
