import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { startFakeHub, type FakeModel } from "../test/support/fake-hub";

/*
 * The scan benchmark's hub, a process of its own (see harness.startService):
 *
 *   node scan-hub.js '{"models": 500, "warmup": 20, "pageSize": 1000}'
 *
 * The fake hub seeded with `models` models named bench/model-NNNNN and `warmup` named
 * warmup/model-NNN, each with a README, a config, a tokenizer and an LFS weights file, on one
 * branch. Every tree is built (and hashed) before it says it is ready. A second loopback port
 * answers GET /stats with the requests the hub has served since the last /stats, by kind.
 * Prints one JSON line once it serves, then serves until its stdin closes.
 */

export interface ScanHubService {
  url: string;
  statsUrl: string;
}

export interface ScanHubSettings {
  models: number;
  warmup: number;
  /** Page size of the model list (the real hub's is `limit`, up to 1000). */
  pageSize: number;
}

export type HubStats = Record<string, number>;

export const README_BYTES = 2048;
export const FILES_PER_MODEL = 4;

export function benchModel(id: string, seed: number): FakeModel {
  const title = `# ${id}\n\n`;
  return {
    id,
    downloads: 1_000_000 - seed,
    likes: seed % 100,
    tags: ["text-generation", "transformers", "license:apache-2.0"],
    pipeline_tag: "text-generation",
    library_name: "transformers",
    cardData: { license: "apache-2.0", language: ["en"], tags: ["bench"] },
    files: [
      { path: "README.md", content: title + "A model for the scan benchmark. ".repeat(64).slice(0, README_BYTES - title.length) },
      { path: "config.json", content: JSON.stringify({ hidden_size: 64, layers: 2, seed }) },
      { path: "tokenizer.json", content: JSON.stringify({ version: "1.0", vocab: Array.from({ length: 64 }, (_, i) => `t${i}`) }) },
      { path: "model.safetensors", content: { size: 64 * 1024, seed }, lfs: true },
    ],
  };
}

/** What kind of hub request a path is, for the stats. */
function kindOf(url: string): string {
  if (url.startsWith("/api/models?")) return "list";
  if (/^\/api\/models\/[^/]+\/[^/]+\/refs/.test(url)) return "refs";
  if (/^\/api\/models\/[^/]+\/[^/]+\/tree\//.test(url)) return "tree";
  if (/^\/api\/models\/[^/]+\/[^/]+(\/revision\/[^/?]+)?(\?|$)/.test(url)) return "info";
  if (/\/resolve\//.test(url)) return "resolve";
  return "other";
}

async function main(): Promise<void> {
  const s = JSON.parse(process.argv[2]) as ScanHubSettings;
  const models: FakeModel[] = [];
  for (let i = 0; i < s.models; i++) models.push(benchModel(`bench/model-${String(i).padStart(5, "0")}`, i));
  for (let i = 0; i < s.warmup; i++) models.push(benchModel(`warmup/model-${String(i).padStart(3, "0")}`, 100_000 + i));
  const hub = await startFakeHub(models, { pageSize: s.pageSize, treePageSize: 1000 });
  // Every tree built and hashed now, not while a scan is timed.
  for (const model of models) {
    const response = await fetch(`${hub.url}/api/models/${model.id}/tree/main?recursive=true`);
    if (!response.ok) throw new Error(`tree of ${model.id}: ${response.status}`);
    await response.arrayBuffer();
  }
  hub.clearRequests();

  const stats = createServer((req, res) => {
    const counts: HubStats = { total: hub.requests.length };
    for (const request of hub.requests) {
      const kind = request.origin === "cdn" ? "cdn" : kindOf(request.url);
      counts[kind] = (counts[kind] ?? 0) + 1;
      if (request.status === 429) counts.status429 = (counts.status429 ?? 0) + 1;
    }
    hub.clearRequests();
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(counts));
  });
  await new Promise<void>((resolve) => stats.listen(0, "127.0.0.1", resolve));
  const ready: ScanHubService = { url: hub.url, statsUrl: `http://127.0.0.1:${(stats.address() as AddressInfo).port}/stats` };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  process.stdin.resume();
  process.stdin.once("end", () => {
    stats.close();
    void hub.stop().finally(() => process.exit(0));
  });
}

// scan.ts imports the settings above; only a run of this file serves.
if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
