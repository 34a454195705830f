import type { DataSource, EntityManager } from "typeorm";
import type { Viewer } from "../auth/viewer";
import { ArtifactAvailability, Role } from "../common/enums";
import { AppError, ERRORS } from "../common/errors";
import { countMany, fetchPage, type CountSpec, type Paging } from "../common/paging";
import { hydratePage, type EntityPage } from "../common/paging.util";
import { parseId } from "../common/relay";
import { hydrate, SqlParams } from "../common/sql";
import { ArtifactRegistryEntity } from "../registry/artifact-registry.entity";
import { ArtifactEntity } from "./artifact.entity";
import type { ArtifactFilter, ArtifactOrderBy, UpdateArtifactInput } from "./artifact.inputs";
import { ARTIFACT_FROM, ARTIFACT_ID, artifactConditions, artifactOrder } from "./artifact.query";

export const MAX_DESCRIPTION_LENGTH = 10_000;
/** IDs per deleteArtifacts/restoreArtifacts call. */
export const MAX_BULK_IDS = 500;

export interface ListArtifactsArgs {
  filter?: ArtifactFilter | null;
  orderBy?: readonly ArtifactOrderBy[] | null;
  paging: Paging;
  viewer: Viewer;
}

/** The `user` role sees ALIVE artifacts (and their revisions) only; admins see everything. */
export function seesDeletedArtifacts(viewer: Viewer | null | undefined): boolean {
  return viewer?.role === Role.SUPERADMIN || viewer?.role === Role.ADMIN;
}

export function canSeeArtifact(viewer: Viewer | null | undefined, artifact: Pick<ArtifactEntity, "availability">): boolean {
  return artifact.availability === ArtifactAvailability.ALIVE || seesDeletedArtifacts(viewer);
}

/** One `artifacts` field of a request, and which of its page and count the client selected. */
export interface ListRequest extends ListArtifactsArgs {
  page: boolean;
  count: boolean;
}

/** What listMany answers for one ListRequest; `registries` are those of the page's artifacts. */
export interface ListAnswer {
  page?: EntityPage<ArtifactEntity>;
  count?: number;
  registries: ArtifactRegistryEntity[];
  /** Set when this request's statement failed (others of the request may have succeeded). */
  failed?: { error: unknown };
}

/** A page of artifacts carries their registries (artifact.registry asks for them next): `ar.<column> AS "__r_<column>"`. */
const REGISTRY_JOIN = "LEFT JOIN artifact_registries ar ON ar.id = a.registry_id";
const REGISTRY_PREFIX = "__r_";

function byId<E extends { id: string }>(ids: readonly string[], rows: E[]): (E | null)[] {
  const map = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => map.get(id) ?? null);
}

/** Artifacts: listing, batched lookups and the superadmin's curation (update, soft delete, restore). */
export class ArtifactService {
  constructor(private readonly ds: DataSource) {}

  /** The WHERE conditions of a listing; throws for a filter that cannot be run (the caller's mistake). */
  conditions(args: ListArtifactsArgs, params = new SqlParams()): string[] {
    artifactOrder(args.orderBy);
    return artifactConditions(args.filter, params, !seesDeletedArtifacts(args.viewer));
  }

  /**
   * Answers the `artifacts` fields of one request together: the first page asked for carries
   * every count asked for in its statement, further pages take a statement each, and counts
   * without a page one statement between them.
   */
  async listMany(requests: readonly ListRequest[]): Promise<ListAnswer[]> {
    const answers: ListAnswer[] = requests.map(() => ({ registries: [] }));
    const indices = requests.map((_, i) => i);
    const paged = indices.filter((i) => requests[i].page);
    const countOnly = indices.filter((i) => requests[i].count && !requests[i].page);
    const groups = paged.length
      ? paged.map((i, n) => ({ page: i, counts: [...(requests[i].count ? [i] : []), ...(n === 0 ? countOnly : [])] }))
      : [{ page: null, counts: countOnly }];
    await Promise.all(groups.map(async (group) => {
      try {
        await this.answerGroup(requests, group.page, group.counts, answers);
      } catch (error) {
        if (group.page === null) {
          for (const i of group.counts) answers[i] = { registries: [], failed: { error } };
          return;
        }
        // A page's error (a bad cursor) is its field's: the counts that rode along are asked again.
        answers[group.page] = { registries: [], failed: { error } };
        const others = group.counts.filter((i) => i !== group.page);
        if (others.length) await this.answerGroup(requests, null, others, answers).catch((again: unknown) => {
          for (const i of others) answers[i] = { registries: [], failed: { error: again } };
        });
      }
    }));
    return answers;
  }

  private async answerGroup(requests: readonly ListRequest[], pageIndex: number | null, counted: number[], answers: ListAnswer[]): Promise<void> {
    const params = new SqlParams();
    const pageWhere = pageIndex === null ? [] : this.conditions(requests[pageIndex], params);
    const specs: CountSpec[] = counted.map((i) => ({ from: ARTIFACT_FROM, where: i === pageIndex ? pageWhere : this.conditions(requests[i], params) }));
    let counts: number[] | undefined;
    if (pageIndex !== null) {
      const r = requests[pageIndex];
      const page = await fetchPage({
        ds: this.ds, select: `a.*, ${this.registrySelect()}`, from: `${ARTIFACT_FROM} ${REGISTRY_JOIN}`, idExpr: ARTIFACT_ID,
        where: pageWhere, params, order: artifactOrder(r.orderBy), paging: r.paging,
      }, specs);
      counts = page.counts;
      answers[pageIndex] = { page: hydratePage(this.ds, ArtifactEntity, page), registries: this.takeRegistries(page.rows) };
    }
    if (!counted.length) return;
    if (!counts) {
      // No page, or an empty one (no row to carry the counts).
      const own = new SqlParams();
      counts = await countMany(this.ds, own, counted.map((i) => ({ from: ARTIFACT_FROM, where: this.conditions(requests[i], own) })));
    }
    counted.forEach((i, n) => {
      const answer = answers[i];
      if (!answer.failed) answer.count = counts[n];
    });
  }

  private registryColumns?: string[];

  private registrySelect(): string {
    this.registryColumns ??= this.ds.getMetadata(ArtifactRegistryEntity).columns.map((c) => c.databaseName);
    return this.registryColumns.map((c) => `ar.${c} AS "${REGISTRY_PREFIX}${c}"`).join(", ");
  }

  /** The registries of the page's rows (their prefixed columns), one entity per registry. */
  private takeRegistries(rows: Record<string, unknown>[]): ArtifactRegistryEntity[] {
    const found = new Map<string, ArtifactRegistryEntity>();
    for (const row of rows) {
      const registry: Record<string, unknown> = {};
      for (const c of this.registryColumns!) {
        registry[c] = row[REGISTRY_PREFIX + c];
      }
      const id = registry.id as string | null;
      if (id && !found.has(id)) found.set(id, hydrate(this.ds, ArtifactRegistryEntity, registry));
    }
    return [...found.values()];
  }

  /** For DataLoaders: one statement, results in the order of `ids` (null where unknown). No role check. */
  async findArtifactsByIds(ids: readonly string[]): Promise<(ArtifactEntity | null)[]> {
    const rows: Record<string, unknown>[] = await this.ds.query(`SELECT * FROM artifacts WHERE id = ANY($1::uuid[])`, [ids]);
    return byId(ids, rows.map((row) => hydrate(this.ds, ArtifactEntity, row)));
  }

  /** For DataLoaders: the registries artifacts point at (their SourceInfo). */
  async findRegistriesByIds(ids: readonly string[]): Promise<(ArtifactRegistryEntity | null)[]> {
    const rows: Record<string, unknown>[] = await this.ds.query(`SELECT * FROM artifact_registries WHERE id = ANY($1::uuid[])`, [ids]);
    return byId(ids, rows.map((row) => hydrate(this.ds, ArtifactRegistryEntity, row)));
  }

  /** Sets readonly and/or description; `description: null` clears it, absent fields stay as they are. */
  async update(input: UpdateArtifactInput): Promise<ArtifactEntity> {
    const id = parseId("Artifact", input.artifactId, "artifactId");
    if (input.description != null && input.description.length > MAX_DESCRIPTION_LENGTH) {
      throw ERRORS.badInput(`description may be at most ${MAX_DESCRIPTION_LENGTH} characters`, { argumentName: "description" });
    }
    const params = new SqlParams();
    const sets: string[] = [];
    if (input.readonly != null) sets.push(`readonly = ${params.add(input.readonly)}`);
    if (input.description !== undefined) sets.push(`description = ${params.add(input.description)}`);
    const idParam = params.add(id);
    const sql = sets.length
      ? `UPDATE artifacts SET ${sets.join(", ")}, updated_at = now() WHERE id = ${idParam}::uuid RETURNING *`
      : `SELECT * FROM artifacts WHERE id = ${idParam}::uuid`;
    const result = await this.ds.query(sql, params.values);
    // TypeORM answers an UPDATE ... RETURNING with [rows, affected].
    const rows: Record<string, unknown>[] = sets.length ? result[0] : result;
    if (!rows.length) throw ERRORS.notFound("Artifact", input.artifactId);
    return hydrate(this.ds, ArtifactEntity, rows[0]);
  }

  /** Soft delete: availability DELETED and deleted_at. All or nothing; already deleted ones are returned unchanged. */
  delete(artifactIds: readonly string[]): Promise<ArtifactEntity[]> {
    return this.setAvailability(artifactIds, ArtifactAvailability.DELETED);
  }

  /** Back to ALIVE. All or nothing; alive ones are returned unchanged. */
  restore(artifactIds: readonly string[]): Promise<ArtifactEntity[]> {
    return this.setAvailability(artifactIds, ArtifactAvailability.ALIVE);
  }

  private async setAvailability(rawIds: readonly string[], availability: ArtifactAvailability): Promise<ArtifactEntity[]> {
    if (rawIds.length > MAX_BULK_IDS) {
      throw ERRORS.badInput(`artifactIds may hold at most ${MAX_BULK_IDS} IDs per call`, { argumentName: "artifactIds" });
    }
    const parsed = rawIds.map((raw, i) => ({ raw, id: parseId("Artifact", raw, `artifactIds[${i}]`) }));
    const ids = [...new Set(parsed.map((p) => p.id))];
    if (ids.length === 0) return [];
    return this.ds.transaction(async (m: EntityManager) => {
      // FOR UPDATE: a concurrent delete/restore of the same rows waits instead of interleaving.
      const locked: { id: string }[] = await m.query(`SELECT id FROM artifacts WHERE id = ANY($1::uuid[]) FOR UPDATE`, [ids]);
      const found = new Set(locked.map((row) => row.id));
      const unknown = [...new Set(parsed.filter((p) => !found.has(p.id)).map((p) => p.raw))];
      if (unknown.length) {
        throw new AppError("NOT_FOUND", `No artifact with ID ${unknown.join(", ")}; nothing was changed`, { ids: unknown });
      }
      await m.query(
        `UPDATE artifacts
            SET availability = $2,
                deleted_at = ${availability === ArtifactAvailability.DELETED ? "now()" : "NULL"},
                updated_at = now()
          WHERE id = ANY($1::uuid[]) AND availability <> $2`,
        [ids, availability],
      );
      const rows: Record<string, unknown>[] = await m.query(`SELECT * FROM artifacts WHERE id = ANY($1::uuid[])`, [ids]);
      return byId(ids, rows.map((row) => hydrate(this.ds, ArtifactEntity, row))) as ArtifactEntity[];
    });
  }
}
