import { Readable } from "node:stream";
import { withListeningPort } from "../../src/server/boot";
import { startTestKit, type TestKit } from "../support/testkit";

/* Servers in tests bind port 0: the system picks a free port as it binds, so no other process can take it in between. */

let kit: TestKit;
beforeAll(async () => {
  kit = await startTestKit({ IMPORT_WORKER: "false" });
});
afterAll(() => kit?.close());

describe("a server started with PORT=0", () => {
  it("reports the port it got, and its public URL names it", async () => {
    expect(kit.config.port).toBe(0);
    expect(kit.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    expect(kit.booted.config.publicUrl).toBe(kit.url);
    expect((await fetch(`${kit.url}/healthz`)).status).toBe(200);
  });

  it("signs filesystem links that reach it", async () => {
    const adapter = await kit.booted.storage.adapterFor(kit.booted.storage.defaultNamespaceId);
    await adapter.put("ports/hello.txt", Readable.from([Buffer.from("hello")]));
    const link = await adapter.presignGet("ports/hello.txt", { expiresInSeconds: 60 });
    expect(new URL(link).origin).toBe(kit.url);
    expect(await (await fetch(link)).text()).toBe("hello");
  });
});

describe("withListeningPort", () => {
  it.each([
    ["the default URL on port 0 gets the port", "http://127.0.0.1:0", "http://127.0.0.1:43210"],
    ["a host other than the listening one keeps its host", "http://0.0.0.0:0", "http://0.0.0.0:43210"],
    ["an IPv6 host keeps its brackets", "http://[::1]:0", "http://[::1]:43210"],
    ["a URL given with a port stays as given", "https://registry.example.com:8443", "https://registry.example.com:8443"],
    ["a URL given without a port stays as given", "https://registry.example.com/ar", "https://registry.example.com/ar"],
  ])("%s", (_what, publicUrl, expected) => {
    expect(withListeningPort(publicUrl, "http://127.0.0.1:43210")).toBe(expected);
  });
});
