import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";

/*
 * The subscribers of `npm run bench:fanout`, in a process of their own so that their CPU is not
 * the server's nor the observer's:
 *
 *   node fanout-subscribers.js '{"url": …, "token": …, "revisionId": …, "subscribers": 1000}'
 *
 * Opens one graphql-ws connection per subscriber, each with a status and a progress
 * subscription of the revision, and records when each answer arrived (wall-clock milliseconds,
 * performance.timeOrigin + performance.now(), which the observer process reads the same way).
 * Answers commands on stdin, one JSON line each on stdout:
 *   live    → {"live": subscribers with a status event so far, "errors": …}
 *   reset   → {"reset": true}             forget what arrived (the warm-up)
 *   report  → {"report": Receipts[]}      what each subscriber received since the reset
 */

export interface SubscribersJob {
  url: string;
  token: string;
  revisionId: string;
  subscribers: number;
}

/** One subscriber's answers, in arrival order: [status, wall ms] and [progress updatedAt, wall ms]. */
export interface Receipts {
  status: Array<[string, number]>;
  progress: Array<[string, number]>;
}

const STATUS = `subscription($input: ArtifactStatusChangedInput!) { artifactStatusChanged(input: $input) { artifactRevision { id status updatedAt } } }`;
const PROGRESS = `subscription($id: ID!) { artifactImportProgressUpdated(artifactRevisionId: $id) { status progress importProgress { downloadedBytes totalBytes updatedAt } } }`;

const wallMs = () => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]) as SubscribersJob;
  const receipts: Receipts[] = [];
  const clients: Client[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const failed = (what: string, error: unknown) => {
    errors++;
    firstError ??= `${what}: ${JSON.stringify(error instanceof Error ? error.message : error).slice(0, 500)}`;
  };

  // A hundred connections at a time, so the server's accept queue is never what is measured.
  for (let i = 0; i < job.subscribers; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, job.subscribers - i) }, async () => {
      const mine: Receipts = { status: [], progress: [] };
      receipts.push(mine);
      const client = createClient({
        url: `${job.url.replace(/^http/, "ws")}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { Authorization: `Bearer ${job.token}` },
        retryAttempts: 0,
        lazy: false,
      });
      clients.push(client);
      await new Promise<void>((resolve, reject) => {
        client.on("connected", () => resolve());
        client.on("closed", (event) => reject(new Error(`a subscriber's connection closed: ${JSON.stringify(event)}`)));
      });
      client.subscribe<any>({ query: STATUS, variables: { input: { artifactRevisionIds: [job.revisionId] } } }, {
        next: ({ data, errors: e }) => {
          const at = wallMs();
          if (e?.length) return failed("status", e);
          mine.status.push([data.artifactStatusChanged.artifactRevision.status, at]);
        },
        error: (error) => failed("status subscription", error),
        complete: () => undefined,
      });
      client.subscribe<any>({ query: PROGRESS, variables: { id: job.revisionId } }, {
        next: ({ data, errors: e }) => {
          const at = wallMs();
          if (e?.length) return failed("progress", e);
          mine.progress.push([data.artifactImportProgressUpdated.importProgress.updatedAt, at]);
        },
        error: (error) => failed("progress subscription", error),
        complete: () => undefined,
      });
    }));
  }

  const reply = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
  reply({ connected: clients.length });
  for await (const line of createInterface({ input: process.stdin })) {
    const command = line.trim();
    if (command === "live") reply({ live: receipts.filter((r) => r.status.length > 0).length, errors, firstError });
    else if (command === "reset") {
      for (const r of receipts) {
        r.status.length = 0;
        r.progress.length = 0;
      }
      errors = 0;
      firstError = undefined;
      reply({ reset: true });
    } else if (command === "report") reply({ report: receipts, errors, firstError });
  }
  await Promise.all(clients.map((c) => c.dispose()));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
