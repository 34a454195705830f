import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import type { FakeModel } from "../support/fake-hub";

/** Models shared by the hub client and fake hub tests. */

export const OLD_COMMIT = "1111111111111111111111111111111111111111";
export const ACCEPTED_TOKEN = "hf_accepted";

export const README = "# Alpha\n\nA small model card.\n";
export const CONFIG = JSON.stringify({ architectures: ["AlphaForCausalLM"], hidden_size: 64 });

export function hubModels(): FakeModel[] {
  return [
    {
      id: "acme/alpha",
      downloads: 500,
      likes: 7,
      tags: ["text-generation", "transformers", "license:mit"],
      pipeline_tag: "text-generation",
      library_name: "transformers",
      cardData: { license: "mit" },
      renamedFrom: ["acme/alpha-old"],
      commits: [{ sha: OLD_COMMIT, files: [{ path: "README.md", content: "# Alpha v1\n" }] }],
      refs: {
        branches: {
          main: {
            files: [
              { path: "README.md", content: README },
              { path: "config.json", content: CONFIG },
              { path: "model.safetensors", content: { size: 300_000, seed: 1 }, lfs: true },
              { path: "nested/deeper/notes.txt", content: "notes\n" },
              { path: "nested/tokenizer.json", content: '{"vocab":{}}' },
            ],
          },
        },
        tags: { v1: OLD_COMMIT },
        pullRequests: { 1: { files: [{ path: "README.md", content: "# Alpha PR\n" }] } },
      },
    },
    { id: "acme/beta", downloads: 400, files: [{ path: "README.md", content: "# Beta\n" }] },
    { id: "acme/gamma", downloads: 300, files: [{ path: "README.md", content: "# Gamma\n" }] },
    { id: "other/delta", downloads: 200, tags: ["vision"], files: [{ path: "README.md", content: "# Delta\n" }] },
    { id: "other/epsilon", downloads: 100, files: [{ path: "README.md", content: "# Epsilon\n" }] },
    {
      id: "acme/gated",
      gated: "manual",
      downloads: 50,
      files: [
        { path: "README.md", content: "# Gated\n" },
        { path: "weights.bin", content: { size: 50_000, seed: 2 }, lfs: true },
        { path: "config.json", content: "{}" },
      ],
    },
    { id: "acme/secret", private: true, downloads: 10_000, files: [{ path: "README.md", content: "# Secret\n" }] },
    { id: "acme/giant-readme", downloads: 20, files: [{ path: "README.md", content: { size: 3 * 1024 * 1024, repeat: "# Giant ü\n" } }] },
    { id: "acme/no-readme", downloads: 10, files: [{ path: "config.json", content: "{}" }] },
    {
      id: "evil/hostile",
      downloads: 1,
      files: [
        { path: "ok.txt", content: "ok" },
        { path: "../evil", content: "x" },
        { path: "/abs", content: "y" },
        { path: "a\u0000b", content: "z" },
      ],
    },
  ];
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export const sha256 = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");
export const gitBlobSha1 = (bytes: Buffer): string => createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
