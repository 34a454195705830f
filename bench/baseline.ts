import { randomBytes } from "node:crypto";
import pLimit from "p-limit";
import { LinkSigner } from "../src/storage/link-signer";
import { FilesystemStorageAdapter } from "../src/storage/fs.adapter";
import { createS3Adapter } from "../src/storage/storage-manager";
import type { StorageAdapter } from "../src/storage/storage.port";
import { createHubClient } from "../src/upstream/huggingface/hub.client";
import { transferMeter } from "./proc";

/*
 * The benchmark's baseline, in its own process so its CPU and memory are measured apart from the
 * fake hub's: every file of the model piped from the hub straight into a storage adapter, with no
 * database, no verification and no staging. Reads its job as JSON from argv[2]; prints a JSON line.
 */

export interface BaselineJob {
  hubUrl: string;
  repo: string;
  commit: string;
  files: Array<{ path: string; size: number }>;
  concurrency: number;
  storage: { kind: "filesystem"; basePath: string } | { kind: "s3"; endpoint: string; accessKey: string; secretKey: string; region: string; bucket: string };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]) as BaselineJob;
  const adapter: StorageAdapter = job.storage.kind === "filesystem"
    ? new FilesystemStorageAdapter({ basePath: job.storage.basePath, signer: new LinkSigner(randomBytes(32)), publicUrl: "http://127.0.0.1", store: "baseline" })
    : await (async (s3) => {
        const created = createS3Adapter(s3);
        await created.ensureBucket();
        return created;
      })(job.storage);
  const hub = createHubClient({ endpoint: job.hubUrl, timeoutMs: 60_000 });
  const limit = pLimit(job.concurrency);
  const report = await transferMeter();
  let bytes = 0;
  await Promise.all(job.files.map((file) => limit(async () => {
    const download = await hub.download(job.repo, job.commit, file.path);
    // The same size hint the import gives, so S3 sizes its parts the same way, and no folder sync, as for its staged files.
    const put = await adapter.put(`baseline/${file.path}`, download.body, { size: file.size, syncFolder: false });
    bytes += put.size;
  })));
  await report(bytes);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
