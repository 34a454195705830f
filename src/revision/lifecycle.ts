import type { DataSource, EntityManager } from "typeorm";
import { ArtifactStatus, type ArtifactRemoteStatus } from "../common/enums";
import { ERRORS } from "../common/errors";
import { isUuid, toGlobalId } from "../common/relay";
import { hydrate } from "../common/sql";
import type { RevisionStatusChangedEvent, TransactionalPublisher } from "../events/event-bus";
import { ArtifactRevisionEntity, type ImportProgressData, type VerificationResultData } from "./revision.entity";

/*
 * The lifecycle of a revision's status: the one transition table, the sets of statuses other
 * code asks about, and the only code that writes artifact_revisions.status (a discovery's
 * SCANNED insert included). Every change locks the row, checks the table, writes the history
 * row and publishes its event in the same transaction: subscribers see it at commit, in commit
 * order, and never see a change that rolled back.
 */

const { SCANNED, PULLING, PULLED, VERIFYING, NEEDS_APPROVAL, AVAILABLE, FAILED, REJECTED } = ArtifactStatus;

export interface TransitionRule {
  readonly from: readonly ArtifactStatus[];
  /** Further from-states, allowed only when the caller passes `force`. */
  readonly forceFrom?: readonly ArtifactStatus[];
  readonly to: ArtifactStatus;
  /** Further targets the caller may pick with `to`, instead of the default one. */
  readonly altTo?: readonly ArtifactStatus[];
  readonly description: string;
}

export const TRANSITIONS = {
  startImport: {
    from: [SCANNED, FAILED], forceFrom: [AVAILABLE], to: PULLING,
    description: "An import starts; re-importing an AVAILABLE revision needs force.",
  },
  pulled: { from: [PULLING], to: PULLED, description: "Every file is in staging and verified." },
  verify: { from: [PULLED], to: VERIFYING, description: "Files are in place; verifier plugins run." },
  awaitApproval: { from: [VERIFYING], to: NEEDS_APPROVAL, description: "Verified, and approval is enabled." },
  makeAvailable: { from: [VERIFYING], to: AVAILABLE, description: "Verified, and approval is disabled." },
  approve: { from: [NEEDS_APPROVAL], to: AVAILABLE, description: "An administrator approved it." },
  reject: { from: [NEEDS_APPROVAL], to: REJECTED, description: "An administrator rejected it." },
  fail: { from: [PULLING, PULLED, VERIFYING], to: FAILED, description: "A permanent error, or retries ran out." },
  cancel: {
    from: [PULLING, PULLED, VERIFYING], to: SCANNED, altTo: [AVAILABLE],
    description: "The import was cancelled; a forced re-import of an AVAILABLE revision goes back to AVAILABLE (to: AVAILABLE).",
  },
  cleanup: {
    from: [AVAILABLE, FAILED, REJECTED, NEEDS_APPROVAL], to: SCANNED,
    description: "The stored files were deleted; the metadata stays.",
  },
} as const satisfies Record<string, TransitionRule>;

export type LifecycleAction = keyof typeof TRANSITIONS;
export const LIFECYCLE_ACTIONS = Object.keys(TRANSITIONS) as LifecycleAction[];

export interface TransitionChoice {
  /** Allows the rule's forceFrom states (startImport of an AVAILABLE revision). */
  force?: boolean;
  /** One of the rule's altTo states instead of its default target (cancel of a forced re-import). */
  to?: ArtifactStatus;
}

/** Every allowed (action, from, to) triple, flattened for docs and tests. */
export function listTransitions(): Array<{ action: LifecycleAction; from: ArtifactStatus; to: ArtifactStatus; requires?: "force" }> {
  return LIFECYCLE_ACTIONS.flatMap((action) => {
    const rule: TransitionRule = TRANSITIONS[action];
    const targets = [rule.to, ...(rule.altTo ?? [])];
    return [
      ...rule.from.flatMap((from) => targets.map((to) => ({ action, from, to }))),
      ...(rule.forceFrom ?? []).flatMap((from) => targets.map((to) => ({ action, from, to, requires: "force" as const }))),
    ];
  });
}

/** The status `action` leads to from `from`, or null when the table does not allow it. */
export function targetOf(action: LifecycleAction, from: ArtifactStatus, choice: TransitionChoice = {}): ArtifactStatus | null {
  const rule: TransitionRule | undefined = TRANSITIONS[action];
  if (!rule) return null;
  const allowedFrom = rule.from.includes(from) || (choice.force === true && (rule.forceFrom ?? []).includes(from));
  if (!allowedFrom) return null;
  if (choice.to === undefined || choice.to === rule.to) return rule.to;
  return (rule.altTo ?? []).includes(choice.to) ? choice.to : null;
}

export function canApply(action: LifecycleAction, from: ArtifactStatus, choice: TransitionChoice = {}): boolean {
  return targetOf(action, from, choice) !== null;
}

/** Columns a transition may set together with the status; undefined leaves one alone, null clears it. */
export interface RevisionPatch {
  digest?: string | null;
  lastError?: string | null;
  importProgress?: ImportProgressData | null;
  verificationResult?: VerificationResultData | null;
  importTaskId?: string | null;
  importCommit?: string | null;
  importNamespaceId?: string | null;
  importDelegate?: boolean;
  importUploads?: boolean;
  importCrashes?: number;
  importCrashMark?: string | null;
}

const PATCH_COLUMNS: Record<keyof RevisionPatch, { column: string; json: boolean }> = {
  digest: { column: "digest", json: false },
  lastError: { column: "last_error", json: false },
  importProgress: { column: "import_progress", json: true },
  verificationResult: { column: "verification_result", json: true },
  importTaskId: { column: "import_task_id", json: false },
  importCommit: { column: "import_commit", json: false },
  importNamespaceId: { column: "import_namespace_id", json: false },
  importDelegate: { column: "import_delegate", json: false },
  importUploads: { column: "import_uploads", json: false },
  importCrashes: { column: "import_crashes", json: false },
  importCrashMark: { column: "import_crash_mark", json: false },
};

export interface TransitionOptions extends TransitionChoice {
  /** Who asked: a user's subject, or the system part that decided (e.g. "import-worker"). */
  actor: string;
  reason?: string;
  patch?: RevisionPatch;
}

/**
 * Changes a revision's status in its own transaction; its event is delivered at commit.
 * An illegal change is a CONFLICT and changes nothing; an unknown revision is NOT_FOUND.
 */
export async function applyTransition(
  ds: DataSource,
  revisionId: string,
  action: LifecycleAction,
  options: TransitionOptions,
  events: TransactionalPublisher,
): Promise<RevisionStatusChangedEvent> {
  return ds.transaction((manager) => applyTransitionIn(manager, revisionId, action, options, events));
}

/**
 * The same inside the caller's transaction, for changes that must commit together with other
 * rows: the event is delivered if and when that transaction commits.
 */
export async function applyTransitionIn(
  manager: EntityManager,
  revisionId: string,
  action: LifecycleAction,
  options: TransitionOptions,
  events: TransactionalPublisher,
): Promise<RevisionStatusChangedEvent> {
  if (!manager.queryRunner?.isTransactionActive) throw new Error("applyTransitionIn needs a transaction: its row lock would be released at once");
  const rule: TransitionRule | undefined = TRANSITIONS[action];
  if (!rule) throw new Error(`Unknown lifecycle action ${JSON.stringify(action)}`);
  if (options.to !== undefined && options.to !== rule.to && !(rule.altTo ?? []).includes(options.to)) {
    // A caller asking for a target the action never has is a bug, not a race with another request.
    throw new Error(`Lifecycle action ${action} cannot lead to ${options.to}`);
  }

  if (!isUuid(revisionId)) throw ERRORS.notFound("ArtifactRevision", revisionId);
  const globalId = toGlobalId("ArtifactRevision", revisionId);
  // now() is the transaction's timestamp: the same instant updated_at and the history row get.
  const [row]: Array<{ artifact_id: string; status: ArtifactStatus; now: Date }> = await manager.query(
    `SELECT artifact_id, status, now() FROM artifact_revisions WHERE id = $1 FOR UPDATE`,
    [revisionId],
  );
  if (!row) throw ERRORS.notFound("ArtifactRevision", globalId);

  const from = row.status;
  const to = targetOf(action, from, options);
  if (!to) {
    const hint = action === "startImport" && from === AVAILABLE ? " without force" : "";
    throw ERRORS.conflict(`ArtifactRevision ${globalId} is ${from}: ${action}${hint} is not allowed from ${from}`, { currentStatus: from, action });
  }

  const sets = ["status = $2", "updated_at = now()"];
  const values: unknown[] = [revisionId, to];
  for (const [key, spec] of Object.entries(PATCH_COLUMNS) as Array<[keyof RevisionPatch, (typeof PATCH_COLUMNS)[keyof RevisionPatch]]>) {
    const value = options.patch?.[key];
    if (value === undefined) continue;
    values.push(spec.json && value !== null ? JSON.stringify(value) : value);
    sets.push(`${spec.column} = $${values.length}${spec.json ? "::jsonb" : ""}`);
  }
  await manager.query(`UPDATE artifact_revisions SET ${sets.join(", ")} WHERE id = $1`, values);
  await manager.query(
    `INSERT INTO artifact_revision_status_history (revision_id, from_status, to_status, actor, reason) VALUES ($1, $2, $3, $4, $5)`,
    [revisionId, from, to, options.actor, options.reason ?? null],
  );
  const event: RevisionStatusChangedEvent = { revisionId, artifactId: row.artifact_id, from, to, at: new Date(row.now).toISOString(), actor: options.actor };
  await events.publishIn(manager, "revision.status", event);
  return event;
}

// --- Status sets ------------------------------------------------------------------------------

/** An import runs: some job must be driving the revision (after a crash, recovery gives it one). */
export const IMPORTING_STATUSES: readonly ArtifactStatus[] = [PULLING, PULLED, VERIFYING];
/** An import runs, or waits for an administrator's approval: the revision may yet become AVAILABLE. */
export const UNDER_WAY_STATUSES: readonly ArtifactStatus[] = [...IMPORTING_STATUSES, NEEDS_APPROVAL];
/** Statuses importArtifacts (without force) starts an import from, or answers with the running one's task. */
export const IMPORTABLE_STATUSES: readonly ArtifactStatus[] = [...TRANSITIONS.startImport.from, ...IMPORTING_STATUSES];
/** Statuses whose stored files cleanup deletes. */
export const CLEANABLE_STATUSES: readonly ArtifactStatus[] = TRANSITIONS.cleanup.from;
/** Statuses whose revision holds no imported files: only these take a new manifest from a scan. */
export const MANIFEST_WRITABLE_STATUSES: readonly ArtifactStatus[] = [SCANNED, FAILED];
/**
 * Statuses a revision takes uploads in: it holds no verified files, and no import runs. An
 * import then verifies the uploads again and publishes them; AVAILABLE files are never written.
 */
export const UPLOADABLE_STATUSES: readonly ArtifactStatus[] = MANIFEST_WRITABLE_STATUSES;

/** Whether `status` (ours, or a Reservoir remote's as it answered) is one of `statuses`. */
export function statusIn(statuses: readonly ArtifactStatus[], status: string | null | undefined): boolean {
  return (statuses as readonly (string | null | undefined)[]).includes(status);
}

// --- Discovery ----------------------------------------------------------------------------------

/** A revision as a scan saw it upstream. */
export interface RevisionUpsert {
  artifactId: string;
  version: string;
  /** The upstream commit this scan saw for the version. */
  latestUpstreamDigest: string | null;
  remoteStatus?: ArtifactRemoteStatus | null;
}

/**
 * Where a revision's lifecycle begins: inserts it SCANNED, with the first history row, or
 * records the commit a rescan saw. Status, digest and files of a known revision are never
 * touched here: an imported revision keeps its files, and a moved upstream commit shows only in
 * latestUpstreamDigest, so a client can tell the revision is outdated.
 */
export async function discoverRevision(
  em: EntityManager,
  r: RevisionUpsert,
  discovery: { actor: string; registryName: string },
): Promise<{ revision: ArtifactRevisionEntity; created: boolean }> {
  const [found] = await discoverRevisions(em, [r], discovery);
  return found;
}

const revisionKey = (artifactId: string, version: string) => `${artifactId}\0${version}`;

/**
 * The order every multi-row write locks revisions in: artifact id, then version byte by byte, as
 * PostgreSQL sorts `ORDER BY artifact_id, version COLLATE "C"`. Writers that lock alike cannot
 * deadlock one another.
 */
export function compareRevisionKeys(a: { artifactId: string; version: string }, b: { artifactId: string; version: string }): number {
  if (a.artifactId !== b.artifactId) return a.artifactId < b.artifactId ? -1 : 1;
  return Buffer.compare(Buffer.from(a.version, "utf8"), Buffer.from(b.version, "utf8"));
}

/**
 * discoverRevision for many revisions in two statements (the upsert, then the history of those it
 * created); returns them in the order given. The same revision twice takes the last one's commit,
 * as one-by-one upserts would.
 */
export async function discoverRevisions(
  em: EntityManager,
  revisions: readonly RevisionUpsert[],
  discovery: { actor: string; registryName: string },
): Promise<Array<{ revision: ArtifactRevisionEntity; created: boolean }>> {
  if (revisions.length === 0) return [];
  const unique = new Map<string, RevisionUpsert>();
  for (const r of revisions) {
    const key = revisionKey(r.artifactId, r.version);
    unique.delete(key);
    unique.set(key, r);
  }
  const rows = [...unique.values()].sort(compareRevisionKeys);
  const returned: Array<Record<string, unknown> & { created: boolean }> = await em.query(
    `INSERT INTO artifact_revisions (artifact_id, version, status, latest_upstream_digest, remote_status)
     SELECT u.artifact_id, u.version, $5, u.digest, u.remote_status
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(artifact_id, version, digest, remote_status, n)
      ORDER BY u.n
     ON CONFLICT (artifact_id, version) DO UPDATE SET
       latest_upstream_digest = EXCLUDED.latest_upstream_digest,
       remote_status = COALESCE(EXCLUDED.remote_status, artifact_revisions.remote_status),
       updated_at = CASE
         WHEN artifact_revisions.latest_upstream_digest IS DISTINCT FROM EXCLUDED.latest_upstream_digest
           OR artifact_revisions.remote_status IS DISTINCT FROM COALESCE(EXCLUDED.remote_status, artifact_revisions.remote_status)
         THEN now() ELSE artifact_revisions.updated_at END
     RETURNING *, (xmax = 0) AS created`,
    [rows.map((r) => r.artifactId), rows.map((r) => r.version), rows.map((r) => r.latestUpstreamDigest), rows.map((r) => r.remoteStatus ?? null), SCANNED],
  );
  const created = returned.filter((row) => row.created === true).map((row) => row.id as string);
  if (created.length > 0) {
    await em.query(
      `INSERT INTO artifact_revision_status_history (revision_id, from_status, to_status, actor, reason)
       SELECT id, NULL, $2, $3, $4 FROM unnest($1::uuid[]) WITH ORDINALITY AS c(id, n) ORDER BY c.n`,
      [created, SCANNED, discovery.actor, `discovered by a scan of ${discovery.registryName}`],
    );
  }
  const byKey = new Map(returned.map((row) => [
    revisionKey(row.artifact_id as string, row.version as string),
    { revision: hydrate(em.connection, ArtifactRevisionEntity, row), created: row.created === true },
  ]));
  return revisions.map((r) => byKey.get(revisionKey(r.artifactId, r.version))!);
}

// --- Recovery -----------------------------------------------------------------------------------

export interface MidImportRevision {
  id: string;
  artifactId: string;
  status: ArtifactStatus;
  updatedAt: Date;
  /** The status the current import started from; AVAILABLE means a forced re-import, which cancel restores. */
  startedFrom: ArtifactStatus | null;
}

/** Revisions mid-import, oldest change first: the worker matches them against its live jobs at start-up. */
export async function listMidImportRevisions(db: DataSource | EntityManager): Promise<MidImportRevision[]> {
  const rows: Array<{ id: string; artifact_id: string; status: ArtifactStatus; updated_at: Date; started_from: ArtifactStatus | null }> = await db.query(
    `SELECT r.id, r.artifact_id, r.status, r.updated_at, h.from_status AS started_from
       FROM artifact_revisions r
       LEFT JOIN LATERAL (
         SELECT from_status FROM artifact_revision_status_history
          WHERE revision_id = r.id AND to_status = $2
          ORDER BY id DESC LIMIT 1
       ) h ON true
      WHERE r.status = ANY($1)
      ORDER BY r.updated_at, r.id`,
    [IMPORTING_STATUSES, PULLING],
  );
  return rows.map((r) => ({ id: r.id, artifactId: r.artifact_id, status: r.status, updatedAt: r.updated_at, startedFrom: r.started_from }));
}
