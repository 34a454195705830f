import { ArtifactAvailability } from "../common/enums";
import { OrderDirection } from "../common/enums.graphql";
import {
  allOf, compileBooleanFilter, compileOrder, enumInCondition, filterMentions, stringConditions, type OrderColumns,
} from "../common/filters.sql";
import type { OrderTerm } from "../common/paging";
import type { SqlParams } from "../common/sql";
import { ArtifactOrderField, type ArtifactFilter, type ArtifactOrderBy } from "./artifact.inputs";

/** SQL pieces for listing artifacts; the table's alias is `a`. */
export const ARTIFACT_FROM = "artifacts a";
export const ARTIFACT_ID = "a.id";

const ORDER_COLUMNS: OrderColumns<ArtifactOrderField> = {
  [ArtifactOrderField.NAME]: { expr: "a.name", cast: "text" },
  [ArtifactOrderField.TYPE]: { expr: "a.type", cast: "text" },
  // An artifact's size is that of its largest revision (-1 with no sized revision): one number
  // per artifact that does not depend on which revision is "latest". Keyset paging needs non-NULL.
  [ArtifactOrderField.SIZE]: {
    expr: "COALESCE((SELECT max(s.size) FROM artifact_revisions s WHERE s.artifact_id = a.id), -1)",
    cast: "bigint",
  },
  [ArtifactOrderField.SCANNED_AT]: { expr: "a.scanned_at", cast: "timestamptz" },
  [ArtifactOrderField.UPDATED_AT]: { expr: "a.updated_at", cast: "timestamptz" },
};

/** Without orderBy artifacts are listed by name, A to Z (then by id). */
const DEFAULT_ORDER = [{ field: ArtifactOrderField.NAME, direction: OrderDirection.ASC }];

export function artifactOrder(orderBy: readonly ArtifactOrderBy[] | null | undefined): OrderTerm[] {
  return compileOrder(orderBy, ORDER_COLUMNS, DEFAULT_ORDER);
}

function leaves(f: ArtifactFilter, params: SqlParams): string[] {
  const out: string[] = [];
  if (f.type) out.push(enumInCondition({ expr: "a.type", nullable: false }, f.type, params));
  out.push(...stringConditions({ expr: "a.name", nullable: false }, f.name, params));
  const registry = stringConditions({ expr: "reg.name", nullable: false }, f.registry, params);
  if (registry.length) out.push(`a.registry_id IN (SELECT reg.id FROM artifact_registries reg WHERE ${allOf(registry)})`);
  out.push(...stringConditions({ expr: "a.source_name", nullable: true }, f.source, params));
  if (f.availability) out.push(enumInCondition({ expr: "a.availability", nullable: false }, f.availability, params));
  return out;
}

const ALIVE_ONLY = `a.availability = '${ArtifactAvailability.ALIVE}'`;

/**
 * WHERE conditions for an ArtifactFilter. The contract's "null availability means [ALIVE]" is
 * read for the filter as a whole: the default applies unless some object of the tree (AND/OR/NOT
 * included) sets availability, so `OR: [{ availability: [DELETED] }, ...]` means what it says.
 * `aliveOnly` (the `user` role) restricts to ALIVE whatever the filter says.
 */
export function artifactConditions(filter: ArtifactFilter | null | undefined, params: SqlParams, aliveOnly: boolean): string[] {
  const where: string[] = [];
  const compiled = compileBooleanFilter(filter, (f) => leaves(f, params));
  if (compiled !== "TRUE") where.push(compiled);
  if (aliveOnly || !filterMentions(filter, (f) => f.availability)) where.push(ALIVE_ONLY);
  return where;
}
