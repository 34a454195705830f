import type { Browser, Page } from "playwright-core";
import { FAST_IMPORTS, scanModel } from "../import/support";
import { startFakeHub, type FakeHub, type FakeModel } from "../support/fake-hub";
import { startTestKit, type TestKit } from "../support/testkit";
import { artifactTitle, describeInBrowser, expectNoTrouble, launchChromium, openContext, screenshot, type ConsolePage } from "./browser";

/*
 * With IMPORT_REQUIRE_APPROVAL=true an import stops at NEEDS_APPROVAL: an admin approves or
 * rejects it in the console. A failed import shows its lastError on the revision. The artifact
 * list, open in another tab meanwhile, follows the badges as they change.
 */

jest.setTimeout(120_000);

const model = (id: string, seed: number): FakeModel => ({
  id, files: [{ path: "README.md", content: `# ${id}` }, { path: "model.safetensors", content: { size: 200_000, seed }, lfs: true }],
});

let hub: FakeHub;
let kit: TestKit;
let browser: Browser;
const open: ConsolePage[] = [];


async function asAdmin(): Promise<ConsolePage> {
  const cp = await openContext(browser, new URL(kit.url).origin);
  open.push(cp);
  await cp.page.goto(`${kit.url}/#token=${kit.token("admin")}`);
  await cp.page.getByRole("heading", { level: 1, name: "Artifacts" }).waitFor();
  return cp;
}

async function openArtifact(page: Page, name: string) {
  await page.getByRole("link", { name, exact: true }).click();
  await artifactTitle(page, name).waitFor();
}

const badge = (page: Page, status: string) => page.locator(`li[data-revision="main"] .revision-head .badge[data-status="${status}"]`);
const listBadge = (page: Page, name: string, status: string) => page.locator(`tr[data-artifact="${name}"] .badge[data-status="${status}"]`);

describeInBrowser("the console with approval required", () => {
  beforeAll(async () => {
    hub = await startFakeHub([model("gate/approved", 11), model("gate/rejected", 12), model("gate/broken", 13)]);
    kit = await startTestKit({ HF_ENDPOINT: hub.url, IMPORT_REQUIRE_APPROVAL: "true", ...FAST_IMPORTS });
    for (const id of ["gate/approved", "gate/rejected", "gate/broken"]) await scanModel(kit, id);
    await kit.booted.services.scans.idle();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await kit?.close();
    await hub?.stop();
  });
  afterEach(async () => {
    for (const page of open.splice(0)) await page.close();
  });

  it("lets an admin approve an import that waits for approval, while the list in another tab follows the badge", async () => {
    const list = await asAdmin();
    await listBadge(list.page, "gate/approved", "SCANNED").waitFor();
    const cp = await asAdmin();
    await openArtifact(cp.page, "gate/approved");
    await cp.page.getByRole("button", { name: "Import" }).click();
    await badge(cp.page, "NEEDS_APPROVAL").waitFor({ timeout: 30_000 });
    // The other tab was never reloaded: its badge changed by itself.
    await listBadge(list.page, "gate/approved", "NEEDS_APPROVAL").waitFor();
    await screenshot(cp.page, "artifact-needs-approval-1280");
    await cp.page.getByRole("button", { name: "Approve" }).click();
    await badge(cp.page, "AVAILABLE").waitFor();
    await listBadge(list.page, "gate/approved", "AVAILABLE").waitFor();
    await cp.page.getByRole("link", { name: "Download model.safetensors" }).waitFor();
    expectNoTrouble(cp);
    expectNoTrouble(list);
  });

  it("lets an admin reject one, after which only cleaning it up is offered", async () => {
    const cp = await asAdmin();
    await openArtifact(cp.page, "gate/rejected");
    await cp.page.getByRole("button", { name: "Import" }).click();
    await badge(cp.page, "NEEDS_APPROVAL").waitFor({ timeout: 30_000 });
    await cp.page.getByRole("button", { name: "Reject" }).click();
    await cp.page.getByRole("button", { name: "Yes, reject" }).click();
    await badge(cp.page, "REJECTED").waitFor();
    const buttons = await cp.page.locator("li.revision button").allTextContents();
    expect(buttons).toEqual(["Clean up"]);
    expectNoTrouble(cp);
  });

  it("shows why an import failed on its revision, and offers to retry it", async () => {
    const sha = (await hub.fileInfo("gate/broken", "main", "model.safetensors")).sha256;
    hub.inject({ origin: "cdn", match: (r) => r.url.includes(sha), corrupt: 1000 });
    const cp = await asAdmin();
    await openArtifact(cp.page, "gate/broken");
    await cp.page.getByRole("button", { name: "Import" }).click();
    await badge(cp.page, "FAILED").waitFor({ timeout: 30_000 });
    const error = cp.page.locator("li[data-revision=main] .revision-error");
    await error.getByText("Checksum mismatch for model.safetensors").waitFor();
    expect(await error.textContent()).toContain(`expected SHA-256 ${sha}`);
    expect(await cp.page.locator("li.revision button").allTextContents()).toEqual(["Retry import", "Clean up"]);
    await screenshot(cp.page, "artifact-failed-1280");
    expectNoTrouble(cp);
  });
});
