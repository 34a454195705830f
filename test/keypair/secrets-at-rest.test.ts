import { randomBytes } from "node:crypto";
import jwt from "jsonwebtoken";
import { SealKeypairSecrets1795820000000 } from "../../src/db/migrations/1795820000000-SealKeypairSecrets";
import { decodeGlobalId } from "../../src/common/relay";
import { KEYPAIR_BOX_LABEL, SecretBox } from "../../src/keypair/secret-box";
import { serverRestarts } from "../support/restarts";
import type { TestKit } from "../support/testkit";

/*
 * API key pair secrets are sealed with the keys of SECRETS_ENCRYPTION_KEYS like the other secrets
 * at rest: bound to their access key, re-sealed with the current key at start-up (rotation), and
 * moved out of their former box (derived from the auth secret) by a migration.
 */

jest.setTimeout(120_000);

const authSecret = randomBytes(32).toString("hex");
const k2 = `k2:${randomBytes(32).toString("base64")}`;
const CREATE = `mutation($i: CreateApiKeypairInput!) { createApiKeypair(input: $i) { keypair { id accessKey } secretKey } }`;

let keypair: { accessKey: string; secretKey: string };
const withKit = serverRestarts({ AUTH_JWT_SECRET: authSecret });

const stored = async (kit: TestKit, accessKey: string): Promise<string> =>
  (await kit.ds.query(`SELECT secret_key_encrypted AS v FROM api_keypairs WHERE access_key = $1`, [accessKey]))[0].v;

/** Whether the server accepts a token the client signs with its secret key. */
async function verifies(kit: TestKit, accessKey: string, secretKey: string): Promise<boolean> {
  const token = jwt.sign({ iss: accessKey }, secretKey, { algorithm: "HS256", expiresIn: "5m" });
  return kit.booted.services.keypairs.verifyClientToken(token).then(() => true, () => false);
}

describe("API key pair secrets at rest", () => {
  it("are sealed with the current key of the keyring, bound to their access key", async () => {
    await withKit({}, async (kit) => {
      const created = (await kit.as("superadmin").ok(CREATE, { i: { role: "ADMIN" } })).createApiKeypair;
      keypair = { accessKey: created.keypair.accessKey, secretKey: created.secretKey };
      const other = (await kit.as("superadmin").ok(CREATE, { i: { role: "USER" } })).createApiKeypair;
      expect(await stored(kit, keypair.accessKey)).toMatch(/^v2:auth:[A-Za-z0-9_-]+$/);
      expect(await verifies(kit, keypair.accessKey, keypair.secretKey)).toBe(true);
      // The database refuses a secret in clear.
      await expect(kit.ds.query(`UPDATE api_keypairs SET secret_key_encrypted = 'in clear' WHERE access_key = $1`, [keypair.accessKey])).rejects.toThrow(/api_keypairs_secret_key_encrypted_sealed_check/);
      // A sealed value copied to another key pair does not open there.
      await kit.ds.query(`UPDATE api_keypairs SET secret_key_encrypted = $1 WHERE access_key = $2`, [await stored(kit, keypair.accessKey), other.keypair.accessKey]);
      expect(await verifies(kit, other.keypair.accessKey, keypair.secretKey)).toBe(false);
      expect(await verifies(kit, other.keypair.accessKey, other.secretKey)).toBe(false);
      await kit.ds.query(`DELETE FROM api_keypairs WHERE id = $1`, [decodeGlobalId(other.keypair.id)!.id]);
    });
  });

  it("are moved out of their former box by the migration, and put back by its down", async () => {
    await withKit({}, async (kit) => {
      const runner = kit.ds.createQueryRunner();
      try {
        await new SealKeypairSecrets1795820000000().down(runner);
        const boxed = await stored(kit, keypair.accessKey);
        expect(boxed).toMatch(/^v1\./);
        expect(new SecretBox(authSecret, KEYPAIR_BOX_LABEL).open(boxed, keypair.accessKey)).toBe(keypair.secretKey);
        await new SealKeypairSecrets1795820000000().up(runner);
      } finally {
        await runner.release();
      }
      expect(await stored(kit, keypair.accessKey)).toMatch(/^v2:auth:/);
      expect(await verifies(kit, keypair.accessKey, keypair.secretKey)).toBe(true);
    });
  });

  it("revokes in the migration a key pair whose box no longer opens (the auth secret changed), storing nothing in clear", async () => {
    await withKit({}, async (kit) => {
      const created = (await kit.as("superadmin").ok(CREATE, { i: { role: "USER" } })).createApiKeypair;
      const runner = kit.ds.createQueryRunner();
      try {
        await new SealKeypairSecrets1795820000000().down(runner);
        const foreign = new SecretBox(randomBytes(32).toString("hex"), KEYPAIR_BOX_LABEL).seal(created.secretKey, created.keypair.accessKey);
        await kit.ds.query(`UPDATE api_keypairs SET secret_key_encrypted = $1 WHERE access_key = $2`, [foreign, created.keypair.accessKey]);
        await new SealKeypairSecrets1795820000000().up(runner);
      } finally {
        await runner.release();
      }
      const [row] = await kit.ds.query(`SELECT secret_key_encrypted AS v, revoked_at FROM api_keypairs WHERE access_key = $1`, [created.keypair.accessKey]);
      expect(row.v).toMatch(/^v2:auth:/);
      expect(row.revoked_at).not.toBeNull();
      expect(await verifies(kit, created.keypair.accessKey, created.secretKey)).toBe(false);
      // The other key pair went through unharmed.
      expect(await verifies(kit, keypair.accessKey, keypair.secretKey)).toBe(true);
    });
  });

  it("are re-sealed with the current key at start-up (rotation), and keep working once the previous key is gone", async () => {
    await withKit({ SECRETS_ENCRYPTION_KEYS: `${k2},auth` }, async (kit) => {
      expect(await stored(kit, keypair.accessKey)).toMatch(/^v2:k2:/);
      expect(await verifies(kit, keypair.accessKey, keypair.secretKey)).toBe(true);
    });
    await withKit({ SECRETS_ENCRYPTION_KEYS: k2, AUTH_JWT_SECRET: randomBytes(32).toString("hex") }, async (kit) => {
      expect(await verifies(kit, keypair.accessKey, keypair.secretKey)).toBe(true);
    });
  });
});
