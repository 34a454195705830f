import type { DataSource, EntityManager } from "typeorm";
import type { ArtifactRegistryType } from "../common/enums";
import { openSecret } from "../common/secrets";

/** What the sealed secrets of registries are bound to (see SEALED_COLUMNS). */
export const HF_TOKEN_PURPOSE = "huggingface_registries.token";
export const RSV_SECRET_PURPOSE = "reservoir_registries.secret_key";

/*
 * Registries as the rest of the server sees them, secrets in clear (sealed in their rows): the scan and import code
 * needs the token and keys to call upstream. Only the GraphQL mappers (registry.type.ts) mask.
 */

export interface ArtifactRegistryRecord {
  id: string;
  name: string;
  type: ArtifactRegistryType;
  url: string;
  createdAt: Date;
}

export interface HuggingFaceRegistryRecord {
  id: string;
  name: string;
  url: string;
  token: string | null;
  createdAt: Date;
}

export interface ReservoirRegistryRecord {
  id: string;
  name: string;
  endpoint: string;
  accessKey: string;
  secretKey: string;
  apiVersion: string;
  createdAt: Date;
}

export type Queryable = Pick<DataSource | EntityManager, "query">;

export const HF_SELECT = `r.id, r.name, r.created_at, h.url, h.token`;
export const HF_FROM = `artifact_registries r JOIN huggingface_registries h ON h.id = r.id`;
export const RSV_SELECT = `r.id, r.name, r.created_at, v.endpoint, v.access_key, v.secret_key, v.api_version`;
export const RSV_FROM = `artifact_registries r JOIN reservoir_registries v ON v.id = r.id`;

export function hfRecord(row: Record<string, any>): HuggingFaceRegistryRecord {
  return { id: row.id, name: row.name, url: row.url, token: openSecret(row.token ?? null, HF_TOKEN_PURPOSE), createdAt: row.created_at };
}

export function rsvRecord(row: Record<string, any>): ReservoirRegistryRecord {
  return {
    id: row.id,
    name: row.name,
    endpoint: row.endpoint,
    accessKey: row.access_key,
    secretKey: openSecret(row.secret_key, RSV_SECRET_PURPOSE),
    apiVersion: row.api_version,
    createdAt: row.created_at,
  };
}

export function registryRecord(row: Record<string, any>): ArtifactRegistryRecord {
  return { id: row.id, name: row.name, type: row.type, url: row.url, createdAt: row.created_at };
}

/** Hugging Face registries by id, in one statement. */
export async function findHuggingFaceRegistries(q: Queryable, ids: readonly string[]): Promise<Map<string, HuggingFaceRegistryRecord>> {
  const rows = await q.query(`SELECT ${HF_SELECT} FROM ${HF_FROM} WHERE r.id = ANY($1::uuid[])`, [ids]);
  return new Map(rows.map((row: Record<string, any>) => [row.id, hfRecord(row)]));
}

export async function findReservoirRegistries(q: Queryable, ids: readonly string[]): Promise<Map<string, ReservoirRegistryRecord>> {
  const rows = await q.query(`SELECT ${RSV_SELECT} FROM ${RSV_FROM} WHERE r.id = ANY($1::uuid[])`, [ids]);
  return new Map(rows.map((row: Record<string, any>) => [row.id, rsvRecord(row)]));
}

export async function findArtifactRegistries(q: Queryable, ids: readonly string[]): Promise<Map<string, ArtifactRegistryRecord>> {
  const rows = await q.query(`SELECT id, name, type, url, created_at FROM artifact_registries WHERE id = ANY($1::uuid[])`, [ids]);
  return new Map(rows.map((row: Record<string, any>) => [row.id, registryRecord(row)]));
}
