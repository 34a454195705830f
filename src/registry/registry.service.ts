import type { DataSource, EntityManager } from "typeorm";
import type { ConnectionShape } from "../common/connection.type";
import { listTable } from "../common/paging.util";
import { isForeignKeyViolation, isUniqueViolation } from "../common/db-errors";
import { ArtifactRegistryType, ArtifactType } from "../common/enums";
import { ERRORS } from "../common/errors";
import type { PagingArgs, PagingLimits } from "../common/paging";
import { parseId, type NodeTypeName } from "../common/relay";
import { checkName, checkText, given } from "../common/validation";
import { checkUpstreamUrl, DEFAULT_EGRESS, type EgressPolicy } from "../upstream/egress";
import type {
  CreateHuggingFaceRegistryInput, CreateReservoirRegistryInput, UpdateHuggingFaceRegistryInput, UpdateReservoirRegistryInput,
} from "./registry.inputs";
import {
  findArtifactRegistries, findHuggingFaceRegistries, findReservoirRegistries, HF_FROM, HF_SELECT, HF_TOKEN_PURPOSE, hfRecord, registryRecord,
  RSV_FROM, RSV_SECRET_PURPOSE, RSV_SELECT, rsvRecord,
  type ArtifactRegistryRecord, type HuggingFaceRegistryRecord, type ReservoirRegistryRecord,
} from "./registry.records";
import { toHuggingFaceRegistry, toReservoirRegistry, type HuggingFaceRegistry, type ReservoirRegistry } from "./registry.type";
import { sealSecret } from "../common/secrets";

/** The registry `defaultArtifactRegistry(MODEL)` prefers, and the one bootstrap creates. */
export const DEFAULT_HUGGINGFACE_REGISTRY_NAME = "huggingface";

// The ArtifactRegistry ID names the same row as the concrete registry's, so both are accepted.
export const HF_ID_TYPES: NodeTypeName[] = ["HuggingFaceRegistry", "ArtifactRegistry"];
export const RSV_ID_TYPES: NodeTypeName[] = ["ReservoirRegistry", "ArtifactRegistry"];

const TOKEN_MAX = 4096;
const KEY_MAX = 256;
const API_VERSION_MAX = 32;

/**
 * Hugging Face and Reservoir registries. Each is two rows sharing one id (artifact_registries
 * plus its own table), always written together in one transaction.
 */
export class RegistryService {
  constructor(
    private readonly ds: DataSource,
    private readonly limits: PagingLimits,
    /** Registry URLs naming an address it refuses are refused when they are saved. */
    private readonly egress: EgressPolicy = DEFAULT_EGRESS,
  ) {}

  findHuggingFace(id: string): Promise<HuggingFaceRegistryRecord | null> {
    return findHuggingFaceRegistries(this.ds, [id]).then((m) => m.get(id) ?? null);
  }

  findReservoir(id: string): Promise<ReservoirRegistryRecord | null> {
    return findReservoirRegistries(this.ds, [id]).then((m) => m.get(id) ?? null);
  }

  findRegistry(id: string): Promise<ArtifactRegistryRecord | null> {
    return findArtifactRegistries(this.ds, [id]).then((m) => m.get(id) ?? null);
  }

  listHuggingFace(args: PagingArgs): Promise<ConnectionShape<HuggingFaceRegistry>> {
    return this.list(args, HF_SELECT, HF_FROM, (row) => toHuggingFaceRegistry(hfRecord(row)));
  }

  listReservoir(args: PagingArgs): Promise<ConnectionShape<ReservoirRegistry>> {
    return this.list(args, RSV_SELECT, RSV_FROM, (row) => toReservoirRegistry(rsvRecord(row)));
  }

  /**
   * For MODEL: the Hugging Face registry named "huggingface", else the oldest one. No registry
   * kind serves packages or images yet.
   */
  async defaultRegistry(type: ArtifactType): Promise<ArtifactRegistryRecord | null> {
    if (type !== ArtifactType.MODEL) return null;
    const [row] = await this.ds.query(
      `SELECT r.id, r.name, r.type, r.url, r.created_at FROM ${HF_FROM}
       ORDER BY (r.name = $1) DESC, r.created_at, r.id LIMIT 1`,
      [DEFAULT_HUGGINGFACE_REGISTRY_NAME],
    );
    return row ? registryRecord(row) : null;
  }

  async createHuggingFace(input: CreateHuggingFaceRegistryInput): Promise<HuggingFaceRegistryRecord> {
    const name = checkName(input.name);
    const url = checkUpstreamUrl(input.url, "url", this.egress);
    const token = given(input.token) && input.token !== "" ? checkText(input.token, "token", TOKEN_MAX) : null;
    return this.write(name, async (em) => {
      const id = await this.insertBase(em, name, ArtifactRegistryType.HUGGINGFACE, url);
      await em.query(`INSERT INTO huggingface_registries (id, url, token) VALUES ($1, $2, $3)`, [id, url, sealSecret(token, HF_TOKEN_PURPOSE)]);
      return (await findHuggingFaceRegistries(em, [id])).get(id)!;
    });
  }

  async updateHuggingFace(input: UpdateHuggingFaceRegistryInput): Promise<HuggingFaceRegistryRecord> {
    const id = parseId(HF_ID_TYPES, input.id, "id");
    const name = given(input.name) ? checkName(input.name) : undefined;
    const url = given(input.url) ? checkUpstreamUrl(input.url, "url", this.egress) : undefined;
    // null keeps the token (the web UI sends the form without it); "" is the explicit "remove".
    const token = input.token === "" ? null : given(input.token) ? checkText(input.token, "token", TOKEN_MAX) : undefined;
    return this.write(name, async (em) => {
      const [row] = await em.query(`SELECT ${HF_SELECT} FROM ${HF_FROM} WHERE r.id = $1 FOR UPDATE OF r, h`, [id]);
      if (!row) throw ERRORS.notFound("HuggingFaceRegistry", input.id);
      const current = hfRecord(row);
      const next = { name: name ?? current.name, url: url ?? current.url, token: token === undefined ? current.token : token };
      if (next.name !== current.name) await this.assertNameFree(em, next.name);
      await em.query(`UPDATE artifact_registries SET name = $2, url = $3, updated_at = now() WHERE id = $1`, [id, next.name, next.url]);
      await em.query(`UPDATE huggingface_registries SET url = $2, token = $3 WHERE id = $1`, [id, next.url, sealSecret(next.token, HF_TOKEN_PURPOSE)]);
      return { ...current, ...next };
    });
  }

  async deleteHuggingFace(rawId: string): Promise<string> {
    const id = parseId(HF_ID_TYPES, rawId, "id");
    await this.deleteRegistry(id, ArtifactRegistryType.HUGGINGFACE, "HuggingFaceRegistry", rawId);
    return id;
  }

  async createReservoir(input: CreateReservoirRegistryInput): Promise<ReservoirRegistryRecord> {
    const name = checkName(input.name);
    const endpoint = checkUpstreamUrl(input.endpoint, "endpoint", this.egress);
    const accessKey = checkText(input.accessKey, "accessKey", KEY_MAX);
    const secretKey = checkText(input.secretKey, "secretKey", TOKEN_MAX);
    const apiVersion = checkText(input.apiVersion, "apiVersion", API_VERSION_MAX);
    return this.write(name, async (em) => {
      const id = await this.insertBase(em, name, ArtifactRegistryType.RESERVOIR, endpoint);
      await em.query(
        `INSERT INTO reservoir_registries (id, endpoint, access_key, secret_key, api_version) VALUES ($1, $2, $3, $4, $5)`,
        [id, endpoint, accessKey, sealSecret(secretKey, RSV_SECRET_PURPOSE), apiVersion],
      );
      return (await findReservoirRegistries(em, [id])).get(id)!;
    });
  }

  async updateReservoir(input: UpdateReservoirRegistryInput): Promise<ReservoirRegistryRecord> {
    const id = parseId(RSV_ID_TYPES, input.id, "id");
    const name = given(input.name) ? checkName(input.name) : undefined;
    const endpoint = given(input.endpoint) ? checkUpstreamUrl(input.endpoint, "endpoint", this.egress) : undefined;
    const accessKey = given(input.accessKey) ? checkText(input.accessKey, "accessKey", KEY_MAX) : undefined;
    const secretKey = given(input.secretKey) ? checkText(input.secretKey, "secretKey", TOKEN_MAX) : undefined;
    const apiVersion = given(input.apiVersion) ? checkText(input.apiVersion, "apiVersion", API_VERSION_MAX) : undefined;
    return this.write(name, async (em) => {
      const [row] = await em.query(`SELECT ${RSV_SELECT} FROM ${RSV_FROM} WHERE r.id = $1 FOR UPDATE OF r, v`, [id]);
      if (!row) throw ERRORS.notFound("ReservoirRegistry", input.id);
      const current = rsvRecord(row);
      const next = {
        name: name ?? current.name,
        endpoint: endpoint ?? current.endpoint,
        accessKey: accessKey ?? current.accessKey,
        secretKey: secretKey ?? current.secretKey,
        apiVersion: apiVersion ?? current.apiVersion,
      };
      if (next.name !== current.name) await this.assertNameFree(em, next.name);
      await em.query(`UPDATE artifact_registries SET name = $2, url = $3, updated_at = now() WHERE id = $1`, [id, next.name, next.endpoint]);
      await em.query(
        `UPDATE reservoir_registries SET endpoint = $2, access_key = $3, secret_key = $4, api_version = $5 WHERE id = $1`,
        [id, next.endpoint, next.accessKey, sealSecret(next.secretKey, RSV_SECRET_PURPOSE), next.apiVersion],
      );
      return { ...current, ...next };
    });
  }

  async deleteReservoir(rawId: string): Promise<string> {
    const id = parseId(RSV_ID_TYPES, rawId, "id");
    await this.deleteRegistry(id, ArtifactRegistryType.RESERVOIR, "ReservoirRegistry", rawId);
    return id;
  }

  private list<T>(args: PagingArgs, select: string, from: string, map: (row: Record<string, any>) => T): Promise<ConnectionShape<T>> {
    return listTable({ ds: this.ds, limits: this.limits, select, from, idExpr: "r.id", order: { expr: "r.name", cast: "text", direction: "ASC" } }, args, map);
  }

  private async insertBase(em: EntityManager, name: string, type: ArtifactRegistryType, url: string): Promise<string> {
    await this.assertNameFree(em, name);
    const [{ id }] = await em.query(`INSERT INTO artifact_registries (name, type, url) VALUES ($1, $2, $3) RETURNING id`, [name, type, url]);
    return id;
  }

  private async assertNameFree(em: EntityManager, name: string): Promise<void> {
    const rows = await em.query(`SELECT 1 FROM artifact_registries WHERE name = $1`, [name]);
    if (rows.length) throw nameTaken(name);
  }

  /** One transaction; a unique violation from a concurrent writer is the same CONFLICT as the pre-check. */
  private async write<T>(name: string | undefined, fn: (em: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.ds.transaction(fn);
    } catch (error) {
      if (isUniqueViolation(error)) throw nameTaken(name ?? "");
      throw error;
    }
  }

  private async deleteRegistry(id: string, type: ArtifactRegistryType, what: string, rawId: string): Promise<void> {
    try {
      await this.ds.transaction(async (em) => {
        // FOR UPDATE waits for (and then blocks) inserts of artifacts that reference the registry.
        const [row] = await em.query(`SELECT id FROM artifact_registries WHERE id = $1 AND type = $2 FOR UPDATE`, [id, type]);
        if (!row) throw ERRORS.notFound(what, rawId);
        const [{ n }] = await em.query(`SELECT count(*)::int AS n FROM artifacts WHERE registry_id = $1`, [id]);
        if (n > 0) throw referenced(what, n);
        await em.query(`DELETE FROM artifact_registries WHERE id = $1`, [id]);
      });
    } catch (error) {
      if (isForeignKeyViolation(error)) throw referenced(what, null);
      throw error;
    }
  }
}

const nameTaken = (name: string) => ERRORS.conflict(`A registry named ${JSON.stringify(name)} already exists`, { field: "name" });

const referenced = (what: string, n: number | null) =>
  ERRORS.conflict(`The ${what} still has ${n ?? "some"} artifact(s); it cannot be deleted while artifacts reference it`);
