import pLimit from "p-limit";
import type { DataSource } from "typeorm";
import { ArtifactRegistryType, ArtifactStatus } from "../../common/enums";
import { ERRORS } from "../../common/errors";
import type { Logger } from "../../common/logger";
import { toGlobalId } from "../../common/relay";
import type { ReservoirRegistryRecord } from "../../registry/registry.records";
import { IMPORTABLE_STATUSES, statusIn, UNDER_WAY_STATUSES } from "../../revision/lifecycle";
import type { ReservoirClient, RemoteRevisionMatch } from "../../upstream/reservoir/reservoir.client";
import type { RemoteRevisionState } from "../../upstream/reservoir/reservoir.documents";
import { ReservoirError, reservoirFailure } from "../../upstream/reservoir/reservoir.errors";

/*
 * Imports that depend on a Reservoir remote having the files: asking it to import a revision
 * (delegation) and waiting until its copy is AVAILABLE. Shared by delegateImportArtifacts and by
 * the Reservoir file source, which needs the remote's copy before it can read a byte.
 */

/** What reaching a Reservoir remote needs; RegistryService and reservoirClientFactory fit. */
export interface ReservoirImportDeps {
  ds: DataSource;
  registries: { findReservoir(id: string): Promise<ReservoirRegistryRecord | null> };
  clients: (registry: ReservoirRegistryRecord) => ReservoirClient;
  logger: Logger;
}

export interface RemoteWaitOptions {
  /** How long the remote's import may take. Default 6 hours: a large model takes that long on a slow link. */
  timeoutMs?: number;
  /**
   * Status is also polled at this interval (default 15 s): events sent while the WebSocket was
   * down, or before the remote had set the subscription up, would otherwise be missed.
   */
  pollIntervalMs?: number;
  signal?: AbortSignal;
}

export const DEFAULT_REMOTE_IMPORT_TIMEOUT_MS = 6 * 3600_000;
const DEFAULT_POLL_INTERVAL_MS = 15_000;

/**
 * A failed Reservoir import. `retryable` is false for what another attempt cannot fix (the
 * remote lacks the revision, refuses us, or its own import failed) and true for an unreachable
 * or overloaded remote.
 */
export class ReservoirImportError extends Error {
  override readonly name = "ReservoirImportError";

  constructor(message: string, readonly retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
  }

  /** Permanent failures fail the import at once; the pipeline reads either flag. */
  get permanent(): boolean {
    return !this.retryable;
  }
}

/** Whether the remote may answer differently later: it was unreachable, timed out or overloaded. */
export function isTransientReservoirError(error: ReservoirError): boolean {
  if (error.kind === "network" || error.kind === "timeout") return true;
  return error.kind === "http" && error.status !== null && (error.status === 429 || error.status === 408 || error.status >= 500);
}

/** A ReservoirError as a ReservoirImportError naming the registry and what we were doing. */
export function importFailure(registry: Pick<ReservoirRegistryRecord, "name" | "endpoint">, error: unknown, doing: string): Error {
  if (!(error instanceof ReservoirError)) return error as Error;
  return new ReservoirImportError(`Reservoir registry ${JSON.stringify(registry.name)} (${registry.endpoint}) ${doing}: ${error.message}`, isTransientReservoirError(error), { cause: error });
}

const { SCANNED, AVAILABLE, FAILED, REJECTED } = ArtifactStatus;

/**
 * Which of the remote's copies to import from when several of its registries hold the name
 * (it may even mirror us): one it has imported, else one it is importing, else the first.
 */
export function pickRemoteCopy(matches: readonly RemoteRevisionMatch[]): RemoteRevisionMatch | null {
  return matches.find((m) => m.revision.status === AVAILABLE)
    ?? matches.find((m) => statusIn(UNDER_WAY_STATUSES, m.revision.status))
    ?? matches[0]
    ?? null;
}

/** The remote's copy of one of our revisions. */
export async function findRemoteCopy(client: ReservoirClient, ref: { artifactType: string; artifactName: string; version: string }): Promise<RemoteRevisionMatch | null> {
  return pickRemoteCopy(await client.findRevisions(ref));
}

export interface RemoteTarget {
  remoteRevisionId: string;
  /** `name@version`, for messages. */
  label: string;
}

/**
 * Resolves once every target is AVAILABLE on the remote, watching its artifactStatusChanged
 * subscription and polling as a safety net. Rejects with a permanent ReservoirImportError when a
 * target ends FAILED or REJECTED, goes back to SCANNED (cancelled or cleaned up there),
 * disappears, or is not AVAILABLE within the timeout; with a retryable one when the remote stays
 * unreachable; with the signal's reason when aborted.
 */
export function waitForRemoteImports(
  client: ReservoirClient,
  registry: Pick<ReservoirRegistryRecord, "name" | "endpoint">,
  targets: readonly RemoteTarget[],
  options: RemoteWaitOptions & { logger: Logger },
): Promise<Map<string, RemoteRevisionState>> {
  return new Promise((resolve, reject) => new RemoteImportWait(client, registry, targets, options, { resolve, reject }).start());
}

/** The state of one waitForRemoteImports: what is still pending, and the three ways news arrives (events, polls, the deadline). */
class RemoteImportWait {
  private readonly pending: Map<string, RemoteTarget>;
  private readonly done = new Map<string, RemoteRevisionState>();
  /** The last status seen of each target, for the timeout's message. */
  private readonly last = new Map<string, string>();
  private readonly where: string;
  private settled = false;
  private deadline: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private stopWatch = () => {};
  /** Polls failed in a row. */
  private failures = 0;
  private readonly onAbort = () => this.finish(this.options.signal?.reason ?? new Error("aborted"));

  constructor(
    private readonly client: ReservoirClient,
    private readonly registry: Pick<ReservoirRegistryRecord, "name" | "endpoint">,
    targets: readonly RemoteTarget[],
    private readonly options: RemoteWaitOptions & { logger: Logger },
    private readonly outcome: { resolve: (states: Map<string, RemoteRevisionState>) => void; reject: (error: unknown) => void },
  ) {
    this.pending = new Map(targets.map((t) => [t.remoteRevisionId, t]));
    this.where = `on Reservoir registry ${JSON.stringify(registry.name)} (${registry.endpoint})`;
  }

  start(): void {
    const { signal, logger } = this.options;
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_REMOTE_IMPORT_TIMEOUT_MS;
    this.deadline = setTimeout(() => this.timedOut(timeoutMs), timeoutMs);
    if (signal?.aborted) return this.onAbort();
    signal?.addEventListener("abort", this.onAbort, { once: true });
    try {
      this.stopWatch = this.client.watchStatuses([...this.pending.keys()], {
        next: (state) => this.observe(state),
        // Polling carries on; the subscription only makes the wait shorter.
        error: (error) => logger.warn(`${this.where}: status subscription ended, polling instead: ${error.message}`),
      });
    } catch (error) {
      return this.finish(error as Error);
    }
    void this.poll();
  }

  private observe(state: RemoteRevisionState): void {
    const target = this.pending.get(state.id);
    if (this.settled || !target) return;
    this.last.set(state.id, state.status);
    if (state.status === AVAILABLE) {
      this.pending.delete(state.id);
      this.done.set(state.id, state);
      if (this.pending.size === 0) this.finish();
    } else if (state.status === FAILED || state.status === REJECTED) {
      const why = state.lastError ? `: ${state.lastError}` : "";
      this.finish(new ReservoirImportError(`The import of ${target.label} ${this.where} ended ${state.status}${why}`, false));
    } else if (state.status === SCANNED) {
      this.finish(new ReservoirImportError(`The import of ${target.label} ${this.where} was cancelled, or its files were cleaned up there`, false));
    } else if (!statusIn(UNDER_WAY_STATUSES, state.status)) {
      this.finish(new ReservoirImportError(`${target.label} ${this.where} is in status ${state.status}, which this server does not know`, false));
    }
  }

  /** Reads every pending target's status, then again after the poll interval, until the wait is over. */
  private async poll(): Promise<void> {
    try {
      for (const target of [...this.pending.values()]) {
        const state = await this.client.revisionState(target.remoteRevisionId);
        if (this.settled) return;
        if (!state) return this.finish(new ReservoirImportError(`${target.label} no longer exists ${this.where}`, false));
        this.observe(state);
      }
      this.failures = 0;
    } catch (error) {
      if (this.settled) return;
      const failure = importFailure(this.registry, error, "could not report an import's status");
      // An outage shorter than the import's own timeout is waited out; a refusal is final.
      if (!(failure instanceof ReservoirImportError) || !failure.retryable) return this.finish(failure);
      if (++this.failures === 1) this.options.logger.warn(failure.message);
    }
    if (!this.settled) this.pollTimer = setTimeout(() => void this.poll(), this.options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
  }

  private timedOut(timeoutMs: number): void {
    const states = [...this.pending.values()].map((t) => `${t.label} is ${this.last.get(t.remoteRevisionId) ?? "unknown"}`).join(", ");
    this.finish(new ReservoirImportError(`The remote import did not finish ${this.where} within ${Math.round(timeoutMs / 1000)} s (${states})`, false));
  }

  private finish(error?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.pollTimer);
    clearTimeout(this.deadline);
    this.options.signal?.removeEventListener("abort", this.onAbort);
    this.stopWatch();
    if (error === undefined) this.outcome.resolve(this.done);
    else this.outcome.reject(error);
  }
}

/** One of our revisions, delegated to the remote it was mirrored from. */
export interface DelegatedRevision {
  /** Our revision. */
  revisionId: string;
  registryId: string;
  /** The remote's global ID of its copy. */
  remoteRevisionId: string;
  /** The remote's import task; null when it has nothing to do (its copy is AVAILABLE, or awaits approval there). */
  remoteTaskId: string | null;
  /** The remote's status right after the request (or, with `wait`, once done). */
  remoteStatus: string;
}

export interface DelegateImportOptions extends RemoteWaitOptions {
  /** Ask the remote to re-import copies it already has. */
  force: boolean;
  /** Also wait until every copy is AVAILABLE on the remote. */
  wait?: boolean;
}

export interface DelegateImportResult {
  revisions: DelegatedRevision[];
  /** The remote tasks started or already running, once each. */
  remoteTaskIds: string[];
}

interface LocalRevisionRow {
  id: string;
  version: string;
  artifact_name: string;
  artifact_type: string;
  registry_id: string;
  registry_type: string;
}

/** The remote copies one Reservoir registry holds of the revisions asked for. */
interface RemotePlan {
  registry: ReservoirRegistryRecord;
  client: ReservoirClient;
  items: Array<{ row: LocalRevisionRow; match: RemoteRevisionMatch }>;
}

/**
 * Asks the Reservoir remotes our revisions were mirrored from to import them. Revisions whose
 * remote copy is AVAILABLE are left alone unless `force`; those under way there return the
 * running task. All-or-nothing per request: every revision is checked (it exists, comes from a
 * Reservoir registry, and the remote has it and has not REJECTED it) before any remote is asked.
 * Errors are AppErrors: NOT_FOUND, BAD_USER_INPUT, CONFLICT, UPSTREAM_ERROR naming the remote.
 * With `wait`, returns once every copy is AVAILABLE there (see waitForRemoteImports).
 */
export async function delegateImport(deps: ReservoirImportDeps, localRevisionIds: readonly string[], options: DelegateImportOptions): Promise<DelegateImportResult> {
  const rows = await delegableRevisions(deps.ds, [...new Set(localRevisionIds)]);
  const groups = new Map<string, LocalRevisionRow[]>();
  for (const row of rows) groups.set(row.registry_id, [...(groups.get(row.registry_id) ?? []), row]);

  // First find every remote copy, so nothing is asked of any remote when one item is wrong.
  const plans: RemotePlan[] = [];
  for (const [registryId, group] of groups) plans.push(await findRemoteCopies(deps, registryId, group));

  const revisions: DelegatedRevision[] = [];
  for (const plan of plans) revisions.push(...(await askToImport(deps, plan, options.force)));

  if (options.wait) {
    for (const plan of plans) {
      const states = await waitForPlan(deps, plan, options);
      for (const revision of revisions) {
        const state = states.get(revision.remoteRevisionId);
        if (state) revision.remoteStatus = state.status;
      }
    }
  }

  return { revisions, remoteTaskIds: [...new Set(revisions.flatMap((r) => (r.remoteTaskId ? [r.remoteTaskId] : [])))] };
}

/** The revisions, in the order asked, once each exists and comes from a Reservoir registry. */
async function delegableRevisions(ds: DataSource, ids: readonly string[]): Promise<LocalRevisionRow[]> {
  const rows: LocalRevisionRow[] = await ds.query(
    `SELECT r.id, r.version, a.name AS artifact_name, a.type AS artifact_type, a.registry_id, g.type AS registry_type
       FROM artifact_revisions r
       JOIN artifacts a ON a.id = r.artifact_id
       JOIN artifact_registries g ON g.id = a.registry_id
      WHERE r.id = ANY($1::uuid[])`,
    [ids],
  );
  const byId = new Map(rows.map((row) => [row.id, row]));
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length) throw ERRORS.notFound("ArtifactRevision", missing.map((id) => toGlobalId("ArtifactRevision", id)).join(", "));
  const foreign = rows.filter((row) => row.registry_type !== ArtifactRegistryType.RESERVOIR);
  if (foreign.length) {
    throw ERRORS.badInput(`Only revisions mirrored from a Reservoir registry can be imported by delegation: ${foreign.map((row) => `${row.artifact_name}@${row.version}`).join(", ")} come from ${foreign[0].registry_type} registries`, { argumentName: "artifactRevisionIds" });
  }
  return ids.map((id) => byId.get(id)!);
}

/** Looks up the registry's copy of each revision; a CONFLICT when one is gone or REJECTED there. */
async function findRemoteCopies(deps: ReservoirImportDeps, registryId: string, group: readonly LocalRevisionRow[]): Promise<RemotePlan> {
  const registry = await deps.registries.findReservoir(registryId);
  if (!registry) throw ERRORS.notFound("ReservoirRegistry", toGlobalId("ReservoirRegistry", registryId));
  const client = deps.clients(registry);
  const limit = pLimit(4);
  const items = await Promise.all(group.map((row) => limit(async () => {
    let match: RemoteRevisionMatch | null;
    try {
      match = await findRemoteCopy(client, { artifactType: row.artifact_type, artifactName: row.artifact_name, version: row.version });
    } catch (error) {
      throw reservoirFailure(registry, error, `could not look up ${row.artifact_name}@${row.version}`);
    }
    if (!match) throw ERRORS.conflict(`Reservoir registry ${JSON.stringify(registry.name)} no longer has ${row.artifact_name}@${row.version}: rescan it`, { registryId });
    if (match.revision.status === REJECTED) {
      throw ERRORS.conflict(`${row.artifact_name}@${row.version} was REJECTED on Reservoir registry ${JSON.stringify(registry.name)}: it cannot be imported from there`, { registryId, remoteStatus: REJECTED });
    }
    return { row, match };
  })));
  return { registry, client, items };
}

/** Asks the remote to import the copies it has not (all of them with `force`), and says where each stands. */
async function askToImport(deps: ReservoirImportDeps, { registry, client, items }: RemotePlan, force: boolean): Promise<DelegatedRevision[]> {
  const wanted = items.filter(({ match }) => statusIn(IMPORTABLE_STATUSES, match.revision.status) || (force && match.revision.status === AVAILABLE));
  const tasks = new Map<string, { taskId: string | null; status: string }>();
  if (wanted.length) {
    try {
      const answered = await client.importArtifacts(wanted.map(({ match }) => match.revision.id), { force });
      for (const task of answered) tasks.set(task.artifactRevision.id, { taskId: task.taskId, status: task.artifactRevision.status });
    } catch (error) {
      throw reservoirFailure(registry, error, "refused to import");
    }
  }
  deps.logger.info(`delegated the import of ${wanted.length} revision(s) to Reservoir registry ${registry.name}`);
  return items.map(({ row, match }) => {
    const task = tasks.get(match.revision.id);
    return {
      revisionId: row.id,
      registryId: registry.id,
      remoteRevisionId: match.revision.id,
      remoteTaskId: task?.taskId ?? null,
      remoteStatus: task?.status ?? match.revision.status,
    };
  });
}

/** Waits until every copy of the plan is AVAILABLE on its remote; a failed wait is UPSTREAM_ERROR. */
async function waitForPlan(deps: ReservoirImportDeps, { registry, client, items }: RemotePlan, options: RemoteWaitOptions): Promise<Map<string, RemoteRevisionState>> {
  const targets = items.map(({ row, match }) => ({ remoteRevisionId: match.revision.id, label: `${row.artifact_name}@${row.version}` }));
  try {
    return await waitForRemoteImports(client, registry, targets, { ...options, logger: deps.logger });
  } catch (error) {
    throw error instanceof ReservoirImportError ? ERRORS.upstream(error.message, { registryId: registry.id, registryName: registry.name }) : error;
  }
}
