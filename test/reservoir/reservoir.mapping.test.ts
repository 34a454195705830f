import { MAX_README_BYTES } from "../../src/revision/manifest";
import {
  artifactUpsertOf, latestDigestOf, manifestOf, readmeOf, remoteStatusOf, revisionUpsertOf,
} from "../../src/upstream/reservoir/reservoir.mapping";
import type { RemoteArtifact, RemoteRevision } from "../../src/upstream/reservoir/reservoir.documents";

const artifact = (patch: Partial<RemoteArtifact> = {}): Omit<RemoteArtifact, "revisions"> => ({
  id: "remote-id", name: "org/model", type: "MODEL", description: null, availability: "ALIVE", extra: null,
  source: { name: "huggingface", url: "https://huggingface.co" }, registry: { name: "hf", url: "https://hub.example.com" },
  ...patch,
});
const revision = (patch: Partial<RemoteRevision> = {}): RemoteRevision => ({
  id: "rev-id", version: "main", status: "SCANNED", remoteStatus: null, digest: null, latestUpstreamDigest: "abc", size: null, ...patch,
});

describe("mapping a remote's records", () => {
  it.each([
    ["AVAILABLE", "AVAILABLE"], ["FAILED", "FAILED"], ["REJECTED", "FAILED"], ["SCANNED", "SCANNED"], ["PULLING", "SCANNED"],
    ["NEEDS_APPROVAL", "SCANNED"], ["A_STATUS_FROM_A_NEWER_VERSION", "SCANNED"],
  ])("maps the remote status %s to remoteStatus %s", (status, expected) => {
    expect(remoteStatusOf(status)).toBe(expected);
  });

  it("takes the imported digest of an AVAILABLE revision and the last scanned commit otherwise", () => {
    expect(latestDigestOf(revision({ status: "AVAILABLE", digest: "imported", latestUpstreamDigest: "newer" }))).toBe("imported");
    expect(latestDigestOf(revision({ status: "AVAILABLE", digest: null, latestUpstreamDigest: "newer" }))).toBe("newer");
    expect(latestDigestOf(revision({ status: "PULLING", digest: "partial", latestUpstreamDigest: "scanned" }))).toBe("scanned");
    expect(latestDigestOf(revision({ latestUpstreamDigest: "x".repeat(129) }))).toBeNull();
  });

  it("keeps the remote's source, or names the remote's registry when it has none", () => {
    expect(artifactUpsertOf("reg", artifact())).toMatchObject({ ok: { registryId: "reg", sourceName: "huggingface", sourceUrl: "https://huggingface.co" } });
    expect(artifactUpsertOf("reg", artifact({ source: { name: null, url: null } }))).toMatchObject({ ok: { sourceName: "hf", sourceUrl: "https://hub.example.com" } });
  });

  it("skips artifacts and revisions whose identifiers would not fit", () => {
    expect(artifactUpsertOf("reg", artifact({ type: "DATASET" }))).toEqual({ skip: 'unknown artifact type "DATASET"' });
    expect(artifactUpsertOf("reg", artifact({ name: "" }))).toEqual({ skip: "empty name" });
    expect(artifactUpsertOf("reg", artifact({ name: "x".repeat(513) }))).toEqual({ skip: "name longer than 512 characters" });
    expect(artifactUpsertOf("reg", artifact({ name: "org/a\u0000b" }))).toEqual({ skip: "control character in name" });
    expect(revisionUpsertOf("art", revision({ version: "refs/pr/1\n" }))).toEqual({ skip: "control character in version" });
    expect(revisionUpsertOf("art", revision({ version: "v1.0" }))).toEqual({ ok: { artifactId: "art", version: "v1.0", latestUpstreamDigest: "abc", remoteStatus: "SCANNED" } });
  });

  it("skips names and versions that could not be folders of a storage key, before anything is stored", () => {
    expect(artifactUpsertOf("reg", artifact({ name: "../../../../tmp/x" }))).toEqual({ skip: "more than one '/' in model id (the hub's ids are org/name)" });
    expect(artifactUpsertOf("reg", artifact({ name: "org/.." }))).toMatchObject({ skip: expect.stringMatching(/not a hub name/) });
    expect(artifactUpsertOf("reg", artifact({ name: ".staging/x" }))).toMatchObject({ skip: expect.stringMatching(/not a hub name/) });
    expect(revisionUpsertOf("art", revision({ version: "../.." }))).toEqual({ skip: "'/' in version: a version is one folder of the storage key" });
    expect(revisionUpsertOf("art", revision({ version: ".." }))).toEqual({ skip: "'..' segment in version" });
    expect(revisionUpsertOf("art", revision({ version: "refs/pr/1" }))).toMatchObject({ skip: expect.stringMatching(/'\/' in version/) });
  });

  it("cleans text PostgreSQL would refuse and drops an extra it cannot store", () => {
    const mapped = artifactUpsertOf("reg", artifact({ description: "a\u0000b", extra: { note: "nul \u0000 inside" } }));
    expect(mapped).toMatchObject({ ok: { description: "ab", extra: null } });
    expect(artifactUpsertOf("reg", artifact({ extra: ["not", "an", "object"] }))).toMatchObject({ ok: { extra: null } });
    expect(artifactUpsertOf("reg", artifact({ extra: { blob: "x".repeat(70_000) } }))).toMatchObject({ ok: { extra: null } });
    expect(artifactUpsertOf("reg", artifact({ extra: { license: "mit" } }))).toMatchObject({ ok: { extra: { license: "mit" } } });
  });

  it("leaves unsafe paths out of a manifest, naming them, and keeps only well-formed SHA-256", () => {
    const { files, skipped } = manifestOf([
      { path: "ok/model.bin", size: "10", sha256: "AB".repeat(32) },
      { path: "../escape", size: "1", sha256: null },
      { path: "/etc/passwd", size: "1", sha256: null },
      { path: "a\u0000b", size: "1", sha256: null },
      { path: "ok/model.bin", size: "99", sha256: null },
      { path: "config.json", size: "2", sha256: "not-a-hash" },
    ]);
    expect(files).toEqual([
      { path: "ok/model.bin", size: "10", sha256: "ab".repeat(32), upstreamOid: null },
      { path: "config.json", size: "2", sha256: null, upstreamOid: null },
    ]);
    expect(skipped).toHaveLength(3);
    expect(skipped[0]).toContain("../escape");
  });

  it("cuts a giant README and strips NUL from it", () => {
    expect(readmeOf("a\u0000b")).toBe("ab");
    expect(Buffer.byteLength(readmeOf("x".repeat(MAX_README_BYTES + 10))!)).toBe(MAX_README_BYTES);
    expect(readmeOf(null)).toBeNull();
  });
});
