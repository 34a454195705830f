import { startTestKit, type TestKit } from "../support/testkit";
import { seedServedRevision } from "./support";

/*
 * HF_SERVE_ANONYMOUS=true, for a mirror inside a closed cluster: clients without a token read
 * what a `user` may read, and nothing more; a token that is sent must still be valid.
 */

let kit: TestKit;
const NAME = "acme/open-model";
const DELETED = "acme/gone-model";

beforeAll(async () => {
  kit = await startTestKit({ HF_SERVE_ANONYMOUS: "true", IMPORT_WORKER: "false" });
  await seedServedRevision(kit, { name: NAME, files: [{ path: "config.json", content: '{"a": 1}' }] });
  await seedServedRevision(kit, { name: DELETED, files: [{ path: "config.json", content: "{}" }], availability: "DELETED" });
});
afterAll(() => kit?.close());

const get = async (path: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${kit.url}/hf${path}`, { headers });
  return { status: res.status, code: res.headers.get("x-error-code"), text: await res.text(), res };
};

it("lets a client without a token read model info and files", async () => {
  const info = await get(`/api/models/${NAME}`);
  expect(info.status).toBe(200);
  const file = await get(`/${NAME}/resolve/main/config.json`);
  expect({ status: file.status, body: file.text }).toEqual({ status: 200, body: '{"a": 1}' });
});

it("still answers a deleted artifact with 404 RepoNotFound, as to a user", async () => {
  const res = await get(`/${DELETED}/resolve/main/config.json`);
  expect({ status: res.status, code: res.code }).toEqual({ status: 404, code: "RepoNotFound" });
});

it("still refuses a token it cannot verify", async () => {
  const res = await get(`/api/models/${NAME}`, { authorization: "Bearer hf_forged" });
  expect({ status: res.status, message: res.res.headers.get("x-error-message") }).toEqual({ status: 401, message: "Invalid credentials in Authorization header" });
});
