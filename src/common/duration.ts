const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * A positive duration in seconds: a bare number of seconds, or with a unit as in 45s, 90m, 12h,
 * 30d, 2w; null otherwise. (jsonwebtoken reads "3600" as milliseconds: never hand it a string.)
 */
export function parseDurationSeconds(text: string): number | null {
  const match = /^(\d{1,9})\s*([smhdw]?)$/.exec(text.trim());
  if (!match) return null;
  const value = Number(match[1]) * UNIT_SECONDS[match[2] || "s"];
  return value > 0 ? value : null;
}
