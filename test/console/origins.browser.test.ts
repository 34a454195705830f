import type { Browser, Page } from "playwright-core";
import { FAST_IMPORTS, scanModel, startImport, waitForStatus } from "../import/support";
import { startFakeHub, type FakeHub } from "../support/fake-hub";
import { startTestKit, type TestKit } from "../support/testkit";
import { artifactTitle, describeInBrowser, expectNoTrouble, launchChromium, openContext, type ConsolePage } from "./browser";

/*
 * Air-gapped clusters reach nothing but the service: every page of the console, and the
 * explorer, loads with the browser's network limited to the service's origin, asks nothing of
 * any other origin, and sees no request fail.
 */

jest.setTimeout(120_000);

const REPO = "acme/offline-card";
const README = [
  "# Offline card",
  "",
  "A model card that points elsewhere: ![a remote badge](https://img.shields.io/badge/x-y-green) and [its paper](https://arxiv.org/abs/1).",
  "",
  "<img src=\"https://example.com/pixel.png\"> <link rel=\"stylesheet\" href=\"https://cdn.example.com/card.css\">",
].join("\n");

let hub: FakeHub;
let kit: TestKit;
let browser: Browser;
let artifactId: string;
const open: ConsolePage[] = [];

const origin = () => new URL(kit.url).origin;

/** A page whose every request is recorded, on a context that reaches only the service. */
async function limitedPage(): Promise<{ cp: ConsolePage; requested: string[] }> {
  const cp = await openContext(browser, origin());
  open.push(cp);
  const requested: string[] = [];
  cp.page.on("request", (request) => requested.push(request.url()));
  return { cp, requested };
}

/** Waits until the page has nothing in flight (graphql-ws aside), so a failure would have shown. */
const settled = (page: Page) => page.waitForLoadState("networkidle");

function expectOnlyTheService(cp: ConsolePage, requested: string[]): void {
  expect(requested.length).toBeGreaterThan(0);
  expect(requested.filter((url) => !url.startsWith("data:") && new URL(url).origin !== origin())).toEqual([]);
  expectNoTrouble(cp);
}

describeInBrowser("the console on a network limited to the service", () => {
  beforeAll(async () => {
    hub = await startFakeHub([{ id: REPO, files: [{ path: "README.md", content: README }, { path: "model.safetensors", content: { size: 4096, seed: 7 }, lfs: true }] }]);
    kit = await startTestKit({ HF_ENDPOINT: hub.url, ...FAST_IMPORTS });
    browser = await launchChromium();
    const revision = await scanModel(kit, REPO);
    await startImport(kit, revision);
    await waitForStatus(kit, revision.id, ["AVAILABLE"]);
    const data = await kit.as("admin").ok(`query($name: String!) { artifacts(first: 1, filter: { name: { equals: $name } }) { edges { node { id } } } }`, { name: REPO });
    artifactId = data.artifacts.edges[0].node.id;
  });
  afterAll(async () => {
    for (const cp of open.splice(0)) await cp.close();
    await browser?.close();
    await kit?.close();
    await hub?.stop();
  });

  it("loads the sign-in page from the service alone", async () => {
    const { cp, requested } = await limitedPage();
    await cp.page.goto(`${kit.url}/`);
    await cp.page.getByRole("heading", { level: 1, name: "Artifact registry" }).waitFor();
    await settled(cp.page);
    expectOnlyTheService(cp, requested);
  });

  it("loads every view of a signed-in console from the service alone: artifacts, an artifact with its README and files, registries, a missing page", async () => {
    const { cp, requested } = await limitedPage();
    const { page } = cp;
    await page.goto(`${kit.url}/#token=${kit.token("superadmin")}`);
    await page.getByRole("heading", { level: 1, name: "Artifacts" }).waitFor();
    await page.locator(`tr[data-artifact="${REPO}"]`).waitFor();
    await settled(page);

    await page.goto(`${kit.url}/#/artifacts/${artifactId}`);
    await artifactTitle(page, REPO).waitFor();
    await page.getByText("A model card that points elsewhere").waitFor();
    await page.getByText("model.safetensors").first().waitFor();
    await settled(page);

    await page.goto(`${kit.url}/#/registries`);
    await page.getByRole("heading", { level: 1, name: "Registries" }).waitFor();
    await settled(page);

    await page.goto(`${kit.url}/#/no-such-view`);
    await page.getByRole("heading", { level: 1, name: "Not found" }).waitFor();
    await settled(page);

    expect(requested.some((url) => new URL(url).pathname === "/graphql")).toBe(true);
    expectOnlyTheService(cp, requested);
  });

  it("loads the GraphQL explorer, its schema included, from the service alone", async () => {
    const { cp, requested } = await limitedPage();
    // Signed in first: the explorer reads the console's token from this tab.
    await cp.page.goto(`${kit.url}/#token=${kit.token("user")}`);
    await cp.page.getByRole("heading", { level: 1, name: "Artifacts" }).waitFor();
    const introspected = cp.page.waitForEvent("requestfinished", (r) => r.method() === "POST" && (r.postData() ?? "").includes("__schema"));
    await cp.page.goto(`${kit.url}/explorer`);
    await cp.page.locator(".graphiql-query-editor .CodeMirror").waitFor();
    await introspected;
    await settled(cp.page);
    expectOnlyTheService(cp, requested);
  });
});
