import { ArtifactAvailability } from "../common/enums";
import { OrderDirection } from "../common/enums.graphql";
import {
  compileBooleanFilter, compileOrder, enumInCondition, intConditions, stringConditions, uuidConditions, type OrderColumns,
} from "../common/filters.sql";
import type { OrderTerm } from "../common/paging";
import type { SqlParams } from "../common/sql";
import { ArtifactRevisionOrderField, type ArtifactRevisionFilter, type ArtifactRevisionOrderBy } from "./revision.inputs";

/** SQL pieces for listing revisions; the table's alias is `r`. */
export const REVISION_FROM = "artifact_revisions r";
export const REVISION_ID = "r.id";
export const REVISION_PARENT = "r.artifact_id";

/** SQL pieces for listing a revision's files, always by path; the alias is `f`. */
export const FILE_FROM = "artifact_revision_files f";
export const FILE_ID = "f.id";
export const FILE_PARENT = "f.revision_id";
export const FILE_ORDER: OrderTerm[] = [{ expr: "f.path", cast: "text", direction: "ASC" }];

const ORDER_COLUMNS: OrderColumns<ArtifactRevisionOrderField> = {
  [ArtifactRevisionOrderField.VERSION]: { expr: "r.version", cast: "text" },
  // Unknown sizes sort as -1 (first ascending): keyset paging needs a non-NULL expression.
  [ArtifactRevisionOrderField.SIZE]: { expr: "COALESCE(r.size, -1)", cast: "bigint" },
  [ArtifactRevisionOrderField.CREATED_AT]: { expr: "r.created_at", cast: "timestamptz" },
  [ArtifactRevisionOrderField.UPDATED_AT]: { expr: "r.updated_at", cast: "timestamptz" },
  [ArtifactRevisionOrderField.STATUS]: { expr: "r.status", cast: "text" },
};

/** Without orderBy revisions are listed newest first (then by id). */
const DEFAULT_ORDER = [{ field: ArtifactRevisionOrderField.CREATED_AT, direction: OrderDirection.DESC }];

export function revisionOrder(orderBy: readonly ArtifactRevisionOrderBy[] | null | undefined): OrderTerm[] {
  return compileOrder(orderBy, ORDER_COLUMNS, DEFAULT_ORDER);
}

function leaves(f: ArtifactRevisionFilter, params: SqlParams): string[] {
  const out: string[] = [];
  const status = { expr: "r.status", nullable: false };
  const remote = { expr: "r.remote_status", nullable: true };
  if (f.status?.in) out.push(enumInCondition(status, f.status.in, params));
  if (f.status?.equals) out.push(enumInCondition(status, [f.status.equals], params));
  if (f.remoteStatus?.in) out.push(enumInCondition(remote, f.remoteStatus.in, params));
  if (f.remoteStatus?.equals) out.push(enumInCondition(remote, [f.remoteStatus.equals], params));
  out.push(...stringConditions({ expr: "r.version", nullable: false }, f.version, params));
  out.push(...uuidConditions({ expr: "r.artifact_id", nullable: false }, f.artifactId, params));
  out.push(...intConditions({ expr: "r.size", nullable: true }, f.size, params));
  return out;
}

/** WHERE conditions for an ArtifactRevisionFilter; `aliveOnly` (the `user` role) hides revisions of DELETED artifacts. */
export function revisionConditions(filter: ArtifactRevisionFilter | null | undefined, params: SqlParams, aliveOnly: boolean): string[] {
  const where: string[] = [];
  const compiled = compileBooleanFilter(filter, (f) => leaves(f, params));
  if (compiled !== "TRUE") where.push(compiled);
  if (aliveOnly) where.push(`r.artifact_id IN (SELECT alive.id FROM artifacts alive WHERE alive.availability = '${ArtifactAvailability.ALIVE}')`);
  return where;
}
