import { randomBytes } from "node:crypto";
import { SealSecrets1795810000000 } from "../../src/db/migrations/1795810000000-SealSecrets";
import { decodeGlobalId } from "../../src/common/relay";
import { authDerivedKey } from "../../src/common/secrets";
import { serverRestarts } from "../support/restarts";
import { uniqueName } from "../support/seed";
import type { TestKit } from "../support/testkit";

/*
 * Registry tokens, Reservoir secret keys and S3 secret keys are sealed in their rows with the
 * keys of SECRETS_ENCRYPTION_KEYS; a start re-seals with the current key (rotation), and a
 * start without the key a row needs stops with the key named.
 */

jest.setTimeout(120_000);

const authSecret = randomBytes(32).toString("hex");
const key = (id: string) => `${id}:${randomBytes(32).toString("base64")}`;
const k2 = key("k2");

const SECRETS = { hfToken: "hf_tokenAAAAAAAAAAAA1111", reservoirSecret: "reservoir-secret-BBBB2222", s3Secret: "s3-secret-CCCC3333" };

let ids: { hf: string; reservoir: string; storage: string };
const withKit = serverRestarts({ AUTH_JWT_SECRET: authSecret });

/** The stored values of the three columns, for the rows this test made. */
async function storedValues(kit: TestKit): Promise<string[]> {
  const [hf] = await kit.ds.query(`SELECT token AS v FROM huggingface_registries WHERE id = $1`, [ids.hf]);
  const [rsv] = await kit.ds.query(`SELECT secret_key AS v FROM reservoir_registries WHERE id = $1`, [ids.reservoir]);
  const [s3] = await kit.ds.query(`SELECT secret_key AS v FROM object_storages WHERE id = $1`, [ids.storage]);
  return [hf.v, rsv.v, s3.v];
}

/** What the server reads back: the secrets in clear, as scans, imports and storage use them. */
async function openedValues(kit: TestKit): Promise<string[]> {
  const hf = await kit.booted.services.registries.findHuggingFace(ids.hf);
  const rsv = await kit.booted.services.registries.findReservoir(ids.reservoir);
  const s3 = await kit.booted.services.storages.findObjectStorage(ids.storage);
  return [hf!.token!, rsv!.secretKey, s3!.secretKey];
}

const PLAINTEXT = [SECRETS.hfToken, SECRETS.reservoirSecret, SECRETS.s3Secret];

describe("secrets at rest", () => {
  it("stores registry tokens, Reservoir and S3 secret keys sealed, never in clear, and reads them back", async () => {
    await withKit({}, async (kit) => {
      const admin = kit.as("superadmin");
      const hf = await admin.ok(`mutation($i: CreateHuggingFaceRegistryInput!) { createHuggingfaceRegistry(input: $i) { huggingfaceRegistry { id token } } }`,
        { i: { name: uniqueName("hf"), url: "http://127.0.0.1:9", token: SECRETS.hfToken } });
      const rsv = await admin.ok(`mutation($i: CreateReservoirRegistryInput!) { createReservoirRegistry(input: $i) { reservoir { id secretKey } } }`,
        { i: { name: uniqueName("rsv"), endpoint: "http://127.0.0.1:9/graphql", accessKey: "AK", secretKey: SECRETS.reservoirSecret, apiVersion: "v1" } });
      const s3 = await admin.ok(`mutation($i: CreateObjectStorageInput!) { createObjectStorage(input: $i) { objectStorage { id secretKey } } }`,
        { i: { name: uniqueName("s3"), host: "127.0.0.1:9", accessKey: "ak", secretKey: SECRETS.s3Secret, endpoint: "http://127.0.0.1:9", region: "us-east-1" } });
      ids = {
        hf: decodeGlobalId(hf.createHuggingfaceRegistry.huggingfaceRegistry.id)!.id,
        reservoir: decodeGlobalId(rsv.createReservoirRegistry.reservoir.id)!.id,
        storage: decodeGlobalId(s3.createObjectStorage.objectStorage.id)!.id,
      };
      // Reads stay masked, with the last 4 characters of the secret in clear.
      expect([hf.createHuggingfaceRegistry.huggingfaceRegistry.token, rsv.createReservoirRegistry.reservoir.secretKey, s3.createObjectStorage.objectStorage.secretKey])
        .toEqual(["****1111", "****2222", "****3333"]);

      const stored = await storedValues(kit);
      for (const [i, value] of stored.entries()) {
        expect(value).toMatch(/^v2:auth:[A-Za-z0-9_-]+$/);
        expect(value).not.toContain(PLAINTEXT[i]);
      }
      const dump = JSON.stringify(await kit.ds.query(`SELECT * FROM huggingface_registries h, reservoir_registries r, object_storages o`));
      for (const secret of PLAINTEXT) expect(dump).not.toContain(secret);
      expect(await openedValues(kit)).toEqual(PLAINTEXT);
      // The database itself refuses a secret in clear.
      await expect(kit.ds.query(`UPDATE object_storages SET secret_key = 'in clear' WHERE id = $1`, [ids.storage])).rejects.toThrow(/object_storages_secret_key_sealed_check/);
    });
  });

  it("seals existing plaintext rows in the migration, and opens them again in its down", async () => {
    await withKit({}, async (kit) => {
      const runner = kit.ds.createQueryRunner();
      try {
        await new SealSecrets1795810000000().down(runner);
        expect(await storedValues(kit)).toEqual(PLAINTEXT);
        await new SealSecrets1795810000000().up(runner);
      } finally {
        await runner.release();
      }
      const stored = await storedValues(kit);
      for (const value of stored) expect(value).toMatch(/^v2:auth:/);
      expect(await openedValues(kit)).toEqual(PLAINTEXT);
    });
  });

  it("keeps opening them after AUTH_JWT_SECRET changes, with the previous key auth written out (npm run token -- --secrets-key)", async () => {
    const previous = `auth:${authDerivedKey(authSecret).key.toString("base64")}`;
    await withKit({ AUTH_JWT_SECRET: randomBytes(32).toString("hex"), SECRETS_ENCRYPTION_KEYS: previous }, async (kit) => {
      for (const value of await storedValues(kit)) expect(value).toMatch(/^v2:auth:/);
      expect(await openedValues(kit)).toEqual(PLAINTEXT);
    });
    // Without it, the key auth follows the new secret and does not open them.
    await expect(withKit({ AUTH_JWT_SECRET: randomBytes(32).toString("hex") }, async () => undefined)).rejects.toThrow(/does not open with key "auth"/);
  });

  it("re-seals with the current key at start-up while the previous key is still listed (rotation)", async () => {
    await withKit({ SECRETS_ENCRYPTION_KEYS: `${k2},auth` }, async (kit) => {
      for (const value of await storedValues(kit)) expect(value).toMatch(/^v2:k2:/);
      expect(await openedValues(kit)).toEqual(PLAINTEXT);
    });
    // Every row is on k2 now: the previous key may go.
    await withKit({ SECRETS_ENCRYPTION_KEYS: k2 }, async (kit) => {
      expect(await openedValues(kit)).toEqual(PLAINTEXT);
    });
  });

  it.each([
    ["without the key the rows are sealed with", () => key("k3"), /sealed with key "k2", which SECRETS_ENCRYPTION_KEYS does not list/],
    ["with another key under the same id", () => key("k2"), /does not open with key "k2": the key is not the one it was sealed with/],
  ])("refuses to start %s, naming the key", async (_what, keys, message) => {
    await expect(withKit({ SECRETS_ENCRYPTION_KEYS: keys() }, async () => undefined)).rejects.toThrow(message);
  });

  it("seals an S3 secret key that itself starts with v2:, masks it, and starts again over it", async () => {
    const env = { SECRETS_ENCRYPTION_KEYS: k2 };
    const secret = "v2:x:y";
    const id = await withKit(env, async (kit) => {
      const created = await kit.as("superadmin").ok(`mutation($i: CreateObjectStorageInput!) { createObjectStorage(input: $i) { objectStorage { id secretKey } } }`,
        { i: { name: uniqueName("s3"), host: "127.0.0.1:9", accessKey: "ak", secretKey: secret, endpoint: "http://127.0.0.1:9", region: "us-east-1" } });
      expect(created.createObjectStorage.objectStorage.secretKey).toBe("****");
      return decodeGlobalId(created.createObjectStorage.objectStorage.id)!.id;
    });
    await withKit(env, async (kit) => {
      const [row] = await kit.ds.query(`SELECT secret_key AS v FROM object_storages WHERE id = $1`, [id]);
      expect(row.v).toMatch(/^v2:k2:[A-Za-z0-9_-]+$/);
      expect((await kit.booted.services.storages.findObjectStorage(id))!.secretKey).toBe(secret);
      const read = await kit.as("superadmin").ok(`{ objectStorages { edges { node { id secretKey } } } }`);
      const node = read.objectStorages.edges.map((e: { node: { id: string; secretKey: string } }) => e.node).find((n: { id: string }) => decodeGlobalId(n.id)!.id === id);
      expect(node.secretKey).toBe("****");
    });
  });
});
