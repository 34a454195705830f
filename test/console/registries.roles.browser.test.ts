import type { Browser } from "playwright-core";
import { uniqueName } from "../support/seed";
import { startTestKit, type RoleName, type TestKit } from "../support/testkit";
import { describeInBrowser, expectNoTrouble, launchChromium, openContext, type ConsolePage } from "./browser";

/*
 * A Reservoir registry's access key is for admins (the server refuses the user role the field):
 * the console must not ask for it as a user, or the Registries page and the artifact list's
 * registry filter fail as a whole.
 */

jest.setTimeout(120_000);

let kit: TestKit;
let browser: Browser;
const open: ConsolePage[] = [];
const names = { huggingface: uniqueName("hf"), reservoir: uniqueName("rsv") };

async function signedIn(role: RoleName): Promise<ConsolePage> {
  const cp = await openContext(browser, new URL(kit.url).origin);
  open.push(cp);
  await cp.page.goto(`${kit.url}/#token=${kit.token(role)}`);
  await cp.page.getByRole("heading", { level: 1, name: "Artifacts" }).waitFor();
  return cp;
}

describeInBrowser("the registries a console shows each role", () => {
  beforeAll(async () => {
    kit = await startTestKit({ IMPORT_WORKER: "false" });
    browser = await launchChromium();
    const admin = kit.as("superadmin");
    await admin.ok(`mutation($i: CreateHuggingFaceRegistryInput!) { createHuggingfaceRegistry(input: $i) { huggingfaceRegistry { id } } }`,
      { i: { name: names.huggingface, url: "http://127.0.0.1:9" } });
    await admin.ok(`mutation($i: CreateReservoirRegistryInput!) { createReservoirRegistry(input: $i) { reservoir { id } } }`,
      { i: { name: names.reservoir, endpoint: "http://127.0.0.1:9/graphql", accessKey: "AKIA-RESERVOIR", secretKey: "reservoir-secret", apiVersion: "v1" } });
  });
  afterAll(async () => {
    await browser?.close();
    await kit?.close();
  });
  afterEach(async () => {
    for (const page of open.splice(0)) await page.close();
  });

  it("lets a user see every registry's name in the artifact list's filter and on the Registries page, without an error or the access key", async () => {
    const cp = await signedIn("user");
    const { page } = cp;
    const filter = page.locator("#filter-registry");
    await filter.locator("option", { hasText: names.reservoir }).waitFor({ state: "attached" });
    expect(await filter.locator("option").allTextContents()).toEqual(expect.arrayContaining([names.huggingface, names.reservoir]));

    await page.goto(`${kit.url}/#/registries`);
    await page.getByRole("cell", { name: names.reservoir }).waitFor();
    await page.getByRole("cell", { name: names.huggingface }).waitFor();
    expect(await page.getByRole("alert").count()).toBe(0);
    expect(await page.getByRole("columnheader", { name: "Access key" }).count()).toBe(0);
    expect(await page.getByText("AKIA-RESERVOIR").count()).toBe(0);
    expectNoTrouble(cp);
  });

  it("shows an admin the Reservoir access key", async () => {
    const cp = await signedIn("admin");
    const { page } = cp;
    await page.goto(`${kit.url}/#/registries`);
    await page.getByRole("cell", { name: names.reservoir }).waitFor();
    await page.getByText("AKIA-RESERVOIR").waitFor();
    expect(await page.getByRole("alert").count()).toBe(0);
    expectNoTrouble(cp);
  });
});
