/**
 * Upstream file paths are untrusted: they become storage keys ({name}/{version}/{path}),
 * filesystem paths under a storage's base directory, S3 keys and download URLs. A path is kept
 * only if all of those name the same file inside the revision's folder, and a person reading it
 * sees what it is: relative, '/'-separated, no empty, '.' or '..' segment, no backslash, no
 * control or invisible character, nothing that turns into a separator or dot segment when
 * percent-decoded or Unicode-normalised (NFKC), no drive letter, and within the byte limits
 * of S3 keys (1,024) and file names (255).
 */

const MAX_PATH_BYTES = 1024;
const MAX_SEGMENT_BYTES = 255;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** Format characters (bidi overrides, zero-width spaces, BOM): they make a name read as another. */
const INVISIBLE = /\p{Cf}/u;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Characters drawn like '/' or '\' that no normalisation turns into one. */
const SLASH_LOOKALIKES = /[\u2044\u2215\u2216\u2571\u2572\u27cb\u27cd\u29f5\u29f8\u29f9\ufe68\uff0f\uff3c]/;
const WINDOWS_DRIVE = /^[A-Za-z]:/;
const PERCENT_RUN = /(?:%[0-9A-Fa-f]{2})+/g;

/** Whether a segment, read as a path by whatever decoded it, leaves its place or hides a character. */
function misleads(segment: string): boolean {
  return segment.includes("/") || segment.includes("\\") || segment === "." || segment === ".." || CONTROL.test(segment);
}

/** One round of percent-decoding (runs of %XX as UTF-8 bytes); text that encodes nothing stays. */
function percentDecoded(text: string): string {
  return text.replace(PERCENT_RUN, (run) => Buffer.from(run.replace(/%/g, ""), "hex").toString("utf8"));
}

/** Why a segment is unsafe once normalised or decoded (a few rounds, for double encoding), or null. */
function hiddenReason(segment: string): string | null {
  const normalized = segment.normalize("NFKC");
  if (normalized !== segment && misleads(normalized)) return `'${segment}' reads as '${normalized}' after Unicode normalization`;
  let current = normalized;
  for (let round = 0; round < 4; round++) {
    const next = percentDecoded(current).normalize("NFKC");
    if (next === current) return null;
    if (misleads(next)) return `percent-encoded separator, dot segment or control character in '${segment}'`;
    current = next;
  }
  return `'${segment}' is percent-encoded more than 4 times`;
}

export function unsafePathReason(path: string): string | null {
  if (path.length === 0) return "empty path";
  if (LONE_SURROGATE.test(path)) return "unpaired surrogate in path";
  if (Buffer.byteLength(path, "utf8") > MAX_PATH_BYTES) return `path longer than ${MAX_PATH_BYTES} bytes`;
  if (CONTROL.test(path)) return "control character in path";
  if (INVISIBLE.test(path)) return "invisible formatting character in path";
  if (path.startsWith("/")) return "absolute path";
  if (WINDOWS_DRIVE.test(path)) return "Windows drive in path";
  if (path.includes("\\")) return "backslash in path";
  if (SLASH_LOOKALIKES.test(path)) return "character that looks like a slash in path";
  for (const segment of path.split("/")) {
    if (segment === "" || segment === "." || segment === "..") return `'${segment || "(empty)"}' segment in path`;
    if (Buffer.byteLength(segment, "utf8") > MAX_SEGMENT_BYTES) return `segment longer than ${MAX_SEGMENT_BYTES} bytes in path`;
    const hidden = hiddenReason(segment);
    if (hidden) return hidden;
  }
  return null;
}

/*
 * Names that become the folders of a revision's storage key, `{artifact name}/{version}/`: they
 * come from upstream (a hub's listing, refs and model info; a Reservoir peer's records) and from
 * scan requests, so they are checked when a scan meets them, before anything is stored.
 */

const HUB_SEGMENT = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$/;

/**
 * Why `id` is not a model id as the Hugging Face Hub allows it, or null: `org/name` or a legacy
 * `name`, each of ASCII letters, digits, '_', '-' and '.', at most 96 characters, neither
 * starting nor ending with '-' or '.', without '--' or '..'. So a name is one or two plain folders,
 * never a dot segment, and never starts with '.' (the stores keep `.staging/`, `.uploads/` and
 * `.tmp/` at the top).
 */
export function unsafeModelIdReason(id: string): string | null {
  const segments = id.split("/");
  if (id.length === 0) return "empty model id";
  if (segments.length > 2) return "more than one '/' in model id (the hub's ids are org/name)";
  for (const segment of segments) {
    if (!HUB_SEGMENT.test(segment)) return `'${segment.slice(0, 100)}' is not a hub name (letters, digits, '_', '-', '.'; at most 96; no '-' or '.' at either end)`;
    if (segment.includes("--") || segment.includes("..")) return `'${segment}' holds '--' or '..', which the hub forbids`;
  }
  return null;
}

/**
 * Why a version (a branch or tag name) cannot be one folder of a storage key, or null: it must be
 * a safe path (see unsafePathReason) of exactly one segment. A '/' would nest one version's
 * folder in another's (`v1` and `v1/x` of one model would share files), so it is refused too.
 */
export function unsafeVersionReason(version: string): string | null {
  if (version.includes("/")) return "'/' in version: a version is one folder of the storage key";
  return unsafePathReason(version)?.replace(/\bpath\b/g, "version") ?? null;
}
