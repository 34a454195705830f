import type { Browser, Page, WebSocket } from "playwright-core";
import { ArtifactStatus } from "../../src/common/enums";
import { toGlobalId } from "../../src/common/relay";
import { startTestKit, type TestKit } from "../support/testkit";
import { describeInBrowser, expectNoTrouble, launchChromium, openContext, screenshot, type ConsolePage } from "./browser";

/*
 * The GraphQL explorer (GraphiQL, bundled with the console) in a real Chromium against a real
 * server, with the network limited to the service: a query over HTTP and a subscription over
 * graphql-ws, authorised by the headers editor.
 */

jest.setTimeout(120_000);

let kit: TestKit;
let browser: Browser;
const open: ConsolePage[] = [];
const origin = () => new URL(kit.url).origin;

async function seedRevision(name: string): Promise<{ artifactId: string; revisionId: string }> {
  const [registry] = await kit.ds.query(`SELECT id FROM artifact_registries LIMIT 1`);
  const [artifact] = await kit.ds.query(`INSERT INTO artifacts (name, type, registry_id) VALUES ($1, 'MODEL', $2) RETURNING id`, [name, registry.id]);
  const [revision] = await kit.ds.query(`INSERT INTO artifact_revisions (artifact_id, version) VALUES ($1, 'main') RETURNING id`, [artifact.id]);
  return { artifactId: artifact.id, revisionId: revision.id };
}

async function newPage(): Promise<ConsolePage> {
  const cp = await openContext(browser, origin());
  open.push(cp);
  return cp;
}

/**
 * Signs in to the console through its start-up link: the token is then in this tab's
 * sessionStorage. Waits for the console's first two queries, which leaving it sooner would abort.
 */
async function signInToConsole(cp: ConsolePage, token: string): Promise<void> {
  const finished = (operation: string) =>
    cp.page.waitForEvent("requestfinished", (request) => request.method() === "POST" && (request.postData() ?? "").includes(`query ${operation}`));
  const loaded = Promise.all([finished("ArtifactList"), finished("Registries")]);
  await cp.page.goto(`${kit.url}/#token=${token}`);
  await cp.page.getByRole("heading", { level: 1, name: "Artifacts" }).waitFor();
  await loaded;
}

/*
 * GraphiQL's editors are CodeMirror 5 instances: CodeMirror keeps each one on its wrapper element,
 * and setValue is what a paste does, without the editor's auto-closing brackets getting in the way.
 */
const QUERY = ".graphiql-query-editor .CodeMirror";
// The editor tools hold the variables editor, then the headers editor.
const HEADERS = ".graphiql-editor-tool .graphiql-editor:nth-of-type(2) .CodeMirror";
const RESPONSE = ".graphiql-response .CodeMirror";

async function editorText(page: Page, selector: string): Promise<string> {
  return page.locator(selector).evaluate((element) => (element as unknown as { CodeMirror: { getValue(): string } }).CodeMirror.getValue());
}

async function setEditorText(page: Page, selector: string, text: string): Promise<void> {
  await page.locator(selector).evaluate((element, value) => (element as unknown as { CodeMirror: { setValue(v: string): void } }).CodeMirror.setValue(value), text);
}

/** Waits until the response pane shows JSON that `accept` takes, and answers it; on timeout, says what it showed. */
async function responseWhere(page: Page, accept: (response: any) => boolean, what: string, timeoutMs = 15_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let shown = "";
  while (Date.now() < deadline) {
    shown = await editorText(page, RESPONSE);
    try {
      const response = JSON.parse(shown);
      if (accept(response)) return response;
    } catch {
      // Empty, or still being written.
    }
    await page.waitForTimeout(100);
  }
  throw new Error(`the response pane never showed ${what}; it showed:\n${shown}\nQuery:\n${await editorText(page, QUERY)}`);
}

/** Opens the explorer at `path` and waits until GraphiQL has loaded the schema. */
async function openExplorer(cp: ConsolePage, path: "/graphql" | "/explorer"): Promise<void> {
  await cp.page.goto(`${kit.url}${path}`);
  await cp.page.locator(QUERY).waitFor();
}

/**
 * Pastes `query` and runs it, with the response pane emptied first: what it shows next is this
 * run's. GraphiQL reads the operation's name from the editor 100 ms after a change (as the tab's
 * title): running sooner would send the previous operation's name.
 */
async function run(page: Page, query: string): Promise<void> {
  await setEditorText(page, RESPONSE, "");
  await setEditorText(page, QUERY, query);
  const title = /^\s*(?:query|mutation|subscription)\s+(\w+)/.exec(query)?.[1] ?? "<untitled>";
  await page.locator(`#graphiql-session-tab-0[title="${title}"]`).waitFor();
  await page.getByRole("button", { name: "Execute query (Ctrl-Enter)" }).click();
}

describeInBrowser("the GraphQL explorer", () => {
  beforeAll(async () => {
    kit = await startTestKit();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await kit?.close();
  });
  afterEach(async () => {
    for (const page of open.splice(0)) await page.close();
  });

  it("opens from the console's navigation with the console's token, and runs a query over HTTP", async () => {
    await seedRevision("acme/explored-model");
    const cp = await newPage();
    const token = kit.token("user");
    await signInToConsole(cp, token);
    await cp.page.locator('tr[data-artifact="acme/explored-model"]').waitFor();
    await cp.page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: "GraphQL explorer" }).click();
    await cp.page.locator(QUERY).waitFor();
    expect(cp.page.url()).toBe(`${kit.url}/explorer`);
    expect(JSON.parse(await editorText(cp.page, HEADERS))).toEqual({ authorization: `Bearer ${token}` });

    // The example it opens with runs as it is.
    await cp.page.getByRole("button", { name: "Execute query (Ctrl-Enter)" }).click();
    const example = await responseWhere(cp.page, (r) => r.data !== undefined || r.errors !== undefined, "the example's result");
    expect(example.errors).toBeUndefined();
    expect(example.data.artifacts.edges).toContainEqual({ node: expect.objectContaining({ name: "acme/explored-model", type: "MODEL" }) });

    await run(cp.page, `query Named { artifacts(first: 5, filter: { name: { equals: "acme/explored-model" } }) { count edges { node { name type } } } }`);
    const response = await responseWhere(cp.page, (r) => r.data !== undefined || r.errors !== undefined, "a result");
    expect(response).toEqual({ data: { artifacts: { count: 1, edges: [{ node: { name: "acme/explored-model", type: "MODEL" } }] } } });
    // GraphiQL loaded the schema with the same token: its documentation lists the query type.
    await cp.page.getByRole("button", { name: "Show Documentation Explorer" }).click();
    await cp.page.getByText("artifactRevisions").first().waitFor();
    await screenshot(cp.page, "explorer-query");
    expectNoTrouble(cp);

    // The logo goes back to the console, still signed in.
    await cp.page.getByRole("link", { name: "Artifact registry" }).click();
    await cp.page.getByRole("heading", { level: 1, name: "Artifacts" }).waitFor();
  });

  it("runs a subscription over graphql-ws on the page's own origin, authorised by the headers, and shows each pushed event", async () => {
    const { artifactId, revisionId } = await seedRevision("acme/watched-model");
    const cp = await newPage();
    const token = kit.token("admin");
    await signInToConsole(cp, token);
    const sockets: WebSocket[] = [];
    const sent: string[] = [];
    cp.page.on("websocket", (socket) => {
      sockets.push(socket);
      socket.on("framesent", (frame) => sent.push(String(frame.payload)));
    });
    // A browser's GET /graphql, where Apollo's landing page was.
    await openExplorer(cp, "/graphql");
    expect(cp.page.url()).toBe(`${kit.url}/graphql`);

    const id = toGlobalId("ArtifactRevision", revisionId);
    await run(cp.page, `subscription Watch { artifactStatusChanged(input: { artifactRevisionIds: ["${id}"] }) { artifactRevision { id status version } } }`);
    await cp.page.getByRole("button", { name: "Stop query (Ctrl-Enter)" }).waitFor();

    // The page cannot say when the server has registered the subscription: publish until it shows.
    const publish = (from: ArtifactStatus, to: ArtifactStatus) => kit.booted.events.publish("revision.status", { revisionId, artifactId, from, to, at: new Date().toISOString() });
    const pulling = setInterval(() => publish(ArtifactStatus.SCANNED, ArtifactStatus.PULLING), 200);
    try {
      await responseWhere(cp.page, (r) => r.data?.artifactStatusChanged?.artifactRevision?.status === "PULLING", "the PULLING event");
    } finally {
      clearInterval(pulling);
    }
    publish(ArtifactStatus.PULLING, ArtifactStatus.PULLED);
    const last = await responseWhere(cp.page, (r) => r.data?.artifactStatusChanged?.artifactRevision?.status === "PULLED", "the PULLED event");
    expect(last).toEqual({ data: { artifactStatusChanged: { artifactRevision: { id, status: "PULLED", version: "main" } } } });
    await screenshot(cp.page, "explorer-subscription");

    expect(sockets.map((s) => s.url())).toEqual([`${kit.url.replace(/^http/, "ws")}/graphql`]);
    const init = sent.map((frame) => JSON.parse(frame)).find((message) => message.type === "connection_init");
    expect(init).toEqual({ type: "connection_init", payload: { authorization: `Bearer ${token}` } });
    await cp.page.getByRole("button", { name: "Stop query (Ctrl-Enter)" }).click();
    await cp.page.getByRole("button", { name: "Execute query (Ctrl-Enter)" }).waitFor();
    expectNoTrouble(cp);
  });

  it("opens its dialogs, tooltips and completions within the page's policy: no inline style or script is refused", async () => {
    const cp = await newPage();
    await signInToConsole(cp, kit.token("user"));
    await openExplorer(cp, "/explorer");
    const { page } = cp;

    await page.getByRole("button", { name: "Open settings dialog" }).click();
    const settings = page.getByRole("dialog");
    await settings.getByText("Theme").waitFor();
    await settings.getByRole("button", { name: "Dark" }).click();
    await page.keyboard.press("Escape");
    await settings.waitFor({ state: "detached" });
    await page.getByRole("button", { name: "Open short keys dialog" }).click();
    await page.getByRole("dialog").getByText("Execute query").waitFor();
    await page.keyboard.press("Escape");

    await page.getByRole("button", { name: "Re-fetch GraphQL schema" }).hover();
    await page.getByRole("tooltip").filter({ hasText: "Re-fetch GraphQL schema" }).waitFor();

    // Completion from the schema the page fetched with the token.
    await setEditorText(page, QUERY, "");
    await page.locator(QUERY).click();
    await page.keyboard.type("{ artifactRev");
    await page.locator(".CodeMirror-hint").filter({ hasText: /^artifactRevisions$/ }).waitFor();
    await screenshot(page, "explorer-dark-completion");
    expectNoTrouble(cp);
  });

  it("without a console session, shows a placeholder token, the service's refusal, and runs once a token is pasted", async () => {
    const cp = await newPage();
    await openExplorer(cp, "/explorer");
    const placeholder = JSON.parse(await editorText(cp.page, HEADERS));
    expect(placeholder.authorization).toMatch(/^Bearer <paste a token/);

    await run(cp.page, `{ artifacts(first: 1) { count } }`);
    const refused = await responseWhere(cp.page, (r) => Array.isArray(r.errors), "an error");
    expect(refused.errors[0].extensions.code).toBe("UNAUTHENTICATED");
    expect(refused.data ?? null).toBeNull();

    await setEditorText(cp.page, HEADERS, JSON.stringify({ authorization: `Bearer ${kit.token("user")}` }));
    await run(cp.page, `{ artifacts(first: 1) { count } }`);
    const answered = await responseWhere(cp.page, (r) => r.data !== undefined, "data");
    expect(answered.errors).toBeUndefined();
    expect(typeof answered.data.artifacts.count).toBe("number");
    await screenshot(cp.page, "explorer-signed-out");
    // GraphiQL's schema fetch was refused too: it reports that in the page, not as a failure.
    expect(cp.trouble.offOrigin).toEqual([]);
    expect(cp.trouble.failed).toEqual([]);
    expect(cp.trouble.pageErrors).toEqual([]);
    expect(cp.trouble.dialogs).toEqual([]);
  });
});
