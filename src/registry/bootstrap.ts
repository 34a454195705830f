import { sealSecret } from "../common/secrets";
import { HF_TOKEN_PURPOSE } from "./registry.records";
import type { DataSource } from "typeorm";
import { ArtifactRegistryType } from "../common/enums";
import type { Config } from "../config/config";
import { DEFAULT_HUGGINGFACE_REGISTRY_NAME } from "./registry.service";

/**
 * Runs at every start. Creates the "huggingface" registry from HF_ENDPOINT/HF_TOKEN only when
 * there is no Hugging Face registry at all: once one exists it belongs to the administrators,
 * and a restart must not undo their edits or bring back a registry they deleted on purpose
 * while keeping another.
 *
 * Returns the id of the registry created, or null when nothing was done.
 */
export async function ensureDefaultHuggingFaceRegistry(ds: DataSource, config: Pick<Config, "huggingface">): Promise<string | null> {
  return ds.transaction(async (em) => {
    // Two replicas starting together must not both create it.
    await em.query(`SELECT pg_advisory_xact_lock(hashtext('artifact-registry:bootstrap:huggingface'))`);
    const [existing] = await em.query(`SELECT id FROM huggingface_registries LIMIT 1`);
    if (existing) return null;
    // The name may be held by a Reservoir registry; an operator has to sort that out by hand.
    const [taken] = await em.query(`SELECT id FROM artifact_registries WHERE name = $1`, [DEFAULT_HUGGINGFACE_REGISTRY_NAME]);
    if (taken) return null;
    const { endpoint, token } = config.huggingface;
    const [{ id }] = await em.query(
      `INSERT INTO artifact_registries (name, type, url) VALUES ($1, $2, $3) RETURNING id`,
      [DEFAULT_HUGGINGFACE_REGISTRY_NAME, ArtifactRegistryType.HUGGINGFACE, endpoint],
    );
    await em.query(`INSERT INTO huggingface_registries (id, url, token) VALUES ($1, $2, $3)`, [id, endpoint, sealSecret(token ?? null, HF_TOKEN_PURPOSE)]);
    return id as string;
  });
}
