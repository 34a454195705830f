import { startFakeHub, type FakeFile } from "../test/support/fake-hub";
import { FakeBlob } from "../test/support/fake-hub/content";
import { startS3rver } from "../test/support/s3rver";
import { startLink, type LinkOptions, type LinkRoute } from "./link";

/*
 * The benchmark's upstream and storage, each in a process of its own, so that neither shares an
 * event loop with the other or with the process being measured:
 *
 *   node services.js hub '<{"repo": …, "files": [FakeFile…], "inMemory": bool}>'   the fake hub with one model
 *   node services.js s3                                           s3rver
 *   node services.js link '<{"mibps": n, "routes": [LinkRoute…], …LinkOptions}>'   a link of n MiB/s in front of the hub (link.ts);
 *                                                                   "stats [from to]" on its stdin asks for its LinkStats
 *
 * Prints one JSON line once it serves, then serves until its stdin closes.
 */

export interface HubService {
  url: string;
  /** Where the CDN listens (its redirects may point at a proxy instead). */
  cdnUrl: string;
  commit: string;
}

export interface S3Service {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
}

async function main(): Promise<void> {
  const [kind, arg] = process.argv.slice(2);
  let stop: () => Promise<void>;
  if (kind === "hub") {
    const { repo, files: declared, inMemory, cdnBase } = JSON.parse(arg) as { repo: string; files: FakeFile[]; inMemory?: boolean; cdnBase?: string };
    // The same bytes either way; in memory they cost the hub no AES keystream per request.
    const files = inMemory ? declared.map((file) => ({ ...file, content: Buffer.concat([...new FakeBlob(file.content).chunks()]) })) : declared;
    const hub = await startFakeHub([{ id: repo, files }], { pageSize: 50, treePageSize: 1000, ...(cdnBase ? { cdnBase } : {}) });
    // Hashed once here, before anything is timed (the tree lists every file's oids).
    for (const file of files) await hub.fileInfo(repo, "main", file.path);
    const ready: HubService = { url: hub.url, cdnUrl: hub.cdnUrl, commit: hub.resolveRevision(repo, "main")! };
    process.stdout.write(`${JSON.stringify(ready)}\n`);
    stop = () => hub.stop();
  } else if (kind === "s3") {
    const s3 = await startS3rver();
    const ready: S3Service = { endpoint: s3.endpoint, accessKey: s3.accessKey, secretKey: s3.secretKey, region: s3.region };
    process.stdout.write(`${JSON.stringify(ready)}\n`);
    stop = () => s3.stop();
  } else if (kind === "link") {
    const { mibps, routes, ...options } = JSON.parse(arg) as { mibps: number; routes: LinkRoute[] } & LinkOptions;
    const link = await startLink(routes, mibps, options);
    process.stdout.write(`${JSON.stringify({ ports: routes.map((r) => r.listenPort) })}\n`);
    // Each line on stdin, "stats [from to]" (wall-clock ms), asks what the link did then (LinkStats), one JSON line.
    let asked = "";
    process.stdin.on("data", (chunk: Buffer) => {
      asked += chunk.toString();
      for (let end = asked.indexOf("\n"); end >= 0; end = asked.indexOf("\n")) {
        const [from, to] = asked.slice(0, end).split(" ").slice(1).map(Number);
        asked = asked.slice(end + 1);
        process.stdout.write(`${JSON.stringify(link.stats(from, to))}\n`);
      }
    });
    stop = () => link.stop();
  } else {
    throw new Error(`usage: services.js hub <model json> | s3 | link <routes json>`);
  }
  process.stdin.resume();
  process.stdin.once("end", () => void stop().finally(() => process.exit(0)));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
