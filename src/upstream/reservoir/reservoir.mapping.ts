import { ArtifactRemoteStatus, ArtifactStatus, ArtifactType } from "../../common/enums";
import type { RemoteArtifact, RemoteFile, RemoteRevision } from "./reservoir.documents";
import type { RevisionUpsert } from "../../revision/lifecycle";
import type { ArtifactUpsert } from "../../artifact/artifact.records";
import { MAX_README_BYTES, type ManifestFile } from "../../revision/manifest";
import { unsafeModelIdReason, unsafePathReason, unsafeVersionReason } from "../../revision/safe-path";

/*
 * How a remote instance's records become ours. The remote is another copy of this service, but
 * its answers are still untrusted input: identifiers that would not fit our columns, or could not
 * be folders of a storage key (names as the hub allows them, one-segment versions), are skipped,
 * and text that PostgreSQL refuses (NUL) is cleaned rather than failing the whole scan.
 */

const MAX_NAME = 512;
const MAX_VERSION = 512;
const MAX_DIGEST = 128;
const MAX_SOURCE_NAME = 256;
const MAX_DESCRIPTION = 16 * 1024;
const MAX_EXTRA_BYTES = 64 * 1024;
const SHA256 = /^[0-9a-f]{64}$/i;

type Mapped<T> = { ok: T } | { skip: string };

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex
const NUL = /\u0000/g;

function identifierProblem(value: string, what: string, max: number): string | null {
  if (value.length === 0) return `empty ${what}`;
  if (value.length > max) return `${what} longer than ${max} characters`;
  if (CONTROL.test(value)) return `control character in ${what}`;
  return null;
}

const text = (value: string | null, max: number): string | null => (value === null ? null : value.replace(NUL, "").slice(0, max));

/** The remote's view of a revision, as our remoteStatus. */
export function remoteStatusOf(status: string): ArtifactRemoteStatus {
  if (status === ArtifactStatus.AVAILABLE) return ArtifactRemoteStatus.AVAILABLE;
  if (status === ArtifactStatus.FAILED || status === ArtifactStatus.REJECTED) return ArtifactRemoteStatus.FAILED;
  return ArtifactRemoteStatus.SCANNED;
}

/**
 * The upstream commit the remote's copy stands for: what it imported when it holds the files,
 * else what its last scan saw.
 */
export function latestDigestOf(revision: RemoteRevision): string | null {
  const digest = revision.status === ArtifactStatus.AVAILABLE ? revision.digest ?? revision.latestUpstreamDigest : revision.latestUpstreamDigest;
  return digest !== null && digest.length <= MAX_DIGEST && !CONTROL.test(digest) ? digest : null;
}

/**
 * `source` is where the remote got the artifact (e.g. huggingface and its URL); a remote that
 * does not know (an artifact it did not scan itself) is the source.
 */
function sourceOf(remote: Pick<RemoteArtifact, "source" | "registry">): { name: string | null; url: string | null } {
  const known = remote.source.name !== null || remote.source.url !== null;
  const { name, url } = known ? remote.source : remote.registry;
  return { name: text(name, MAX_SOURCE_NAME), url: text(url, 2048) };
}

function extraOf(extra: unknown): Record<string, unknown> | null {
  if (extra === null || typeof extra !== "object" || Array.isArray(extra)) return null;
  const json = JSON.stringify(extra);
  // jsonb refuses \u0000; a huge blob would land in every list query.
  if (json.length > MAX_EXTRA_BYTES || json.includes("\\u0000")) return null;
  return extra as Record<string, unknown>;
}

export function artifactUpsertOf(registryId: string, remote: Omit<RemoteArtifact, "revisions">): Mapped<ArtifactUpsert> {
  if (!(Object.values(ArtifactType) as string[]).includes(remote.type)) return { skip: `unknown artifact type ${JSON.stringify(remote.type.slice(0, 32))}` };
  const problem = identifierProblem(remote.name, "name", MAX_NAME) ?? unsafeModelIdReason(remote.name);
  if (problem) return { skip: problem };
  const source = sourceOf(remote);
  return {
    ok: {
      registryId,
      type: remote.type as ArtifactType,
      name: remote.name,
      description: text(remote.description, MAX_DESCRIPTION),
      sourceName: source.name,
      sourceUrl: source.url,
      extra: extraOf(remote.extra),
    },
  };
}

export function revisionUpsertOf(artifactId: string, remote: RemoteRevision): Mapped<RevisionUpsert> {
  const problem = identifierProblem(remote.version, "version", MAX_VERSION) ?? unsafeVersionReason(remote.version);
  if (problem) return { skip: problem };
  return { ok: { artifactId, version: remote.version, latestUpstreamDigest: latestDigestOf(remote), remoteStatus: remoteStatusOf(remote.status) } };
}

/** Files with unsafe paths are left out (and named); duplicates keep their first entry. */
export function manifestOf(files: readonly RemoteFile[]): { files: ManifestFile[]; skipped: string[] } {
  const out: ManifestFile[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    const unsafe = unsafePathReason(file.path);
    if (unsafe) {
      skipped.push(`${JSON.stringify(file.path.slice(0, 200))} (${unsafe})`);
      continue;
    }
    if (seen.has(file.path)) continue;
    seen.add(file.path);
    out.push({ path: file.path, size: file.size, sha256: file.sha256 !== null && SHA256.test(file.sha256) ? file.sha256.toLowerCase() : null, upstreamOid: null });
  }
  return { files: out, skipped };
}

export function readmeOf(readme: string | null): string | null {
  if (readme === null) return null;
  const clean = readme.replace(NUL, "");
  const bytes = Buffer.from(clean, "utf8");
  return bytes.length <= MAX_README_BYTES ? clean : bytes.subarray(0, MAX_README_BYTES).toString("utf8");
}
