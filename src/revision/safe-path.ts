/**
 * Upstream file paths are untrusted: they later become storage keys and download names. A path
 * is kept only if it is relative, '/'-separated, with no empty, '.' or '..' segment, no
 * backslash and no control character.
 */
export function unsafePathReason(path: string): string | null {
  if (path.length === 0) return "empty path";
  if (path.length > 1024) return "path longer than 1024 characters";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return "control character in path";
  if (path.startsWith("/")) return "absolute path";
  if (path.includes("\\")) return "backslash in path";
  for (const segment of path.split("/")) {
    if (segment === "" || segment === "." || segment === "..") return `'${segment || "(empty)"}' segment in path`;
  }
  return null;
}
