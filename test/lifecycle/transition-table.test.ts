import type { DataSource } from "typeorm";
import { ArtifactStatus } from "../../src/common/enums";
import { toGlobalId } from "../../src/common/relay";
import type { EventTopics, RevisionStatusChangedEvent, TransactionalPublisher } from "../../src/events/event-bus";
import { applyTransition, canApply, LIFECYCLE_ACTIONS, listTransitions, type LifecycleAction, type TransitionChoice } from "../../src/revision/lifecycle";
import { createMigratedDataSource } from "../support/database";
import { Seed } from "../support/seed";

/*
 * The expected table is written out here by hand, from the import issue, rather than derived
 * from TRANSITIONS: a wrong entry in the code must show up as a failing case.
 */
const S = ArtifactStatus;
type Variant = { label: string; choice: TransitionChoice };
const EXPECTED: Record<LifecycleAction, Array<{ from: ArtifactStatus[]; to: ArtifactStatus; variant?: string }>> = {
  startImport: [
    { from: [S.SCANNED, S.FAILED], to: S.PULLING },
    { from: [S.SCANNED, S.FAILED, S.AVAILABLE], to: S.PULLING, variant: "force" },
  ],
  pulled: [{ from: [S.PULLING], to: S.PULLED }],
  verify: [{ from: [S.PULLED], to: S.VERIFYING }],
  awaitApproval: [{ from: [S.VERIFYING], to: S.NEEDS_APPROVAL }],
  makeAvailable: [{ from: [S.VERIFYING], to: S.AVAILABLE }],
  approve: [{ from: [S.NEEDS_APPROVAL], to: S.AVAILABLE }],
  reject: [{ from: [S.NEEDS_APPROVAL], to: S.REJECTED }],
  fail: [{ from: [S.PULLING, S.PULLED, S.VERIFYING], to: S.FAILED }],
  cancel: [
    { from: [S.PULLING, S.PULLED, S.VERIFYING], to: S.SCANNED },
    { from: [S.PULLING, S.PULLED, S.VERIFYING], to: S.AVAILABLE, variant: "to AVAILABLE" },
  ],
  cleanup: [{ from: [S.AVAILABLE, S.FAILED, S.REJECTED, S.NEEDS_APPROVAL], to: S.SCANNED }],
};
const VARIANTS: Partial<Record<LifecycleAction, Variant[]>> = {
  startImport: [{ label: "force", choice: { force: true } }],
  cancel: [{ label: "to AVAILABLE", choice: { to: S.AVAILABLE } }],
};

function expectedTarget(action: LifecycleAction, from: ArtifactStatus, variant?: string): ArtifactStatus | null {
  return EXPECTED[action].find((row) => row.variant === variant && row.from.includes(from))?.to ?? null;
}

const CASES = LIFECYCLE_ACTIONS.flatMap((action) =>
  [{ label: "", choice: {} } as Variant, ...(VARIANTS[action] ?? [])].flatMap((variant) =>
    Object.values(ArtifactStatus).map((from) => ({
      action, from, choice: variant.choice, name: variant.label ? `${action} (${variant.label})` : action,
      to: expectedTarget(action, from, variant.label || undefined),
    })),
  ),
);

let ds: DataSource;
let close: () => Promise<void>;
let artifactId: string;
const published: RevisionStatusChangedEvent[] = [];
/** Records what each transition hands to its transaction's publisher (delivery itself: transactions.test.ts). */
const bus: TransactionalPublisher = {
  publishIn: async (_manager, _topic, ...args) => void published.push((args as EventTopics["revision.status"])[0]),
};

beforeAll(async () => {
  ({ ds, close } = await createMigratedDataSource());
  const seed = new Seed(ds);
  artifactId = (await seed.artifact((await seed.registry()).id)).id;
});
afterAll(() => close?.());
beforeEach(() => void (published.length = 0));

async function revisionIn(status: ArtifactStatus) {
  const { id } = await new Seed(ds).revision(artifactId, { status, digest: "old", lastError: "old error" });
  return id;
}

async function stateOf(id: string) {
  const [row] = await ds.query(`SELECT status, digest, last_error, updated_at FROM artifact_revisions WHERE id = $1`, [id]);
  const history = await ds.query(`SELECT from_status, to_status, actor, reason FROM artifact_revision_status_history WHERE revision_id = $1 ORDER BY id`, [id]);
  return { row, history };
}

describe("the transition table", () => {
  it("lists exactly the transitions of the import issue", () => {
    const expected = LIFECYCLE_ACTIONS.flatMap((action) =>
      EXPECTED[action].flatMap((row) => row.from.map((from) => `${action} ${from} -> ${row.to}`)),
    );
    const listed = listTransitions().map((t) => `${t.action} ${t.from} -> ${t.to}`);
    // force widens startImport, so its unforced rows appear once in listTransitions.
    expect(new Set(listed)).toEqual(new Set(expected));
    expect(listTransitions().filter((t) => t.requires === "force")).toEqual([
      { action: "startImport", from: S.AVAILABLE, to: S.PULLING, requires: "force" },
    ]);
  });

  it.each(CASES.filter((c) => c.to))("$name moves a revision from $from to $to and writes one history row", async ({ action, from, choice, to }) => {
    expect(canApply(action, from, choice)).toBe(true);
    const id = await revisionIn(from);
    const event = await applyTransition(ds, id, action, { ...choice, actor: "test-user", reason: `because ${action}` }, bus);

    const { row, history } = await stateOf(id);
    expect(row.status).toBe(to);
    expect(history).toEqual([{ from_status: from, to_status: to, actor: "test-user", reason: `because ${action}` }]);
    expect(event).toEqual({ revisionId: id, artifactId, from, to, at: new Date(row.updated_at).toISOString(), actor: "test-user" });
    expect(published).toEqual([event]);
  });

  it.each(CASES.filter((c) => !c.to))("$name from $from is a CONFLICT that changes neither status nor history", async ({ action, from, choice }) => {
    expect(canApply(action, from, choice)).toBe(false);
    const id = await revisionIn(from);
    const before = await stateOf(id);

    const error = await applyTransition(ds, id, action, { ...choice, actor: "test-user", patch: { digest: "new", lastError: null } }, bus).then(
      () => { throw new Error(`${action} from ${from} was allowed`); },
      (e) => e,
    );
    expect(error.extensions).toMatchObject({ code: "CONFLICT", currentStatus: from, action });
    expect(error.message).toContain(toGlobalId("ArtifactRevision", id));
    expect(error.message).toContain(from);
    expect(error.message).toContain(action);
    expect(await stateOf(id)).toEqual(before);
    expect(published).toEqual([]);
  });
});
