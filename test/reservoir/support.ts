import { decodeGlobalId } from "../../src/common/relay";
import type { ReservoirRegistryRecord } from "../../src/registry/registry.records";
import { ReservoirScanner } from "../../src/scan/reservoir.scanner";
import { reservoirClientFactory, type ReservoirClientOptions } from "../../src/upstream/reservoir/reservoir.client";
import { uniqueName } from "../support/seed";
import type { TestKit } from "../support/testkit";

export const CREATE_KEYPAIR = `mutation($i: CreateApiKeypairInput!) { createApiKeypair(input: $i) { keypair { id accessKey role } secretKey } }`;
export const REVOKE_KEYPAIR = `mutation($id: ID!) { revokeApiKeypair(input: { id: $id }) { keypair { id revoked } } }`;
const CREATE_RESERVOIR = `mutation($i: CreateReservoirRegistryInput!) { createReservoirRegistry(input: $i) { reservoir { id name endpoint } } }`;

export interface IssuedKeypair {
  id: string;
  accessKey: string;
  secretKey: string;
}

/** A key pair issued by `kit`, through its GraphQL API, as a superadmin would. */
export async function issueKeypair(kit: TestKit, role: "SUPERADMIN" | "ADMIN" | "USER" = "SUPERADMIN"): Promise<IssuedKeypair> {
  const { createApiKeypair } = await kit.as("superadmin").ok(CREATE_KEYPAIR, { i: { role, description: "reservoir test" } });
  return { id: createApiKeypair.keypair.id, accessKey: createApiKeypair.keypair.accessKey, secretKey: createApiKeypair.secretKey };
}

export async function revokeKeypair(kit: TestKit, keypair: IssuedKeypair): Promise<void> {
  await kit.as("superadmin").ok(REVOKE_KEYPAIR, { id: keypair.id });
}

/**
 * A Reservoir registry on `local` pointing at `remote`'s GraphQL endpoint with a key pair,
 * created through `local`'s API; returns the record with secrets in clear, as scanners get it.
 */
export async function createReservoir(local: TestKit, remoteUrl: string, keys: { accessKey: string; secretKey: string }, name = uniqueName("reservoir")): Promise<ReservoirRegistryRecord> {
  const { createReservoirRegistry } = await local.as("superadmin").ok(CREATE_RESERVOIR, {
    i: { name, endpoint: `${remoteUrl}/graphql`, accessKey: keys.accessKey, secretKey: keys.secretKey, apiVersion: "v1" },
  });
  const record = await local.booted.services.registries.findReservoir(decodeGlobalId(createReservoirRegistry.reservoir.id)!.id);
  return record!;
}

/** A scanner on `kit`'s database, with quick retries so failure tests stay fast. */
export function scannerOn(kit: TestKit, client: Partial<ReservoirClientOptions> = {}): ReservoirScanner {
  return new ReservoirScanner({
    ds: kit.ds,
    clients: reservoirClientFactory({ timeoutMs: 5000, retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 50 }, ...client }),
    registries: kit.booted.services.registries,
    logger: kit.booted.logger,
  });
}
