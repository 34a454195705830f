/**
 * Text an upstream server chose (an error message, a header) on its way into `lastError` and
 * API errors: one line of printable characters, at most `maxLength` of them. Control and format
 * characters (newlines, ANSI escapes, bidirectional overrides) become spaces.
 */
export function sanitizeUpstreamText(text: string, maxLength = 200): string {
  const line = text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, " ").replace(/\s+/g, " ").trim();
  const chars = [...line];
  return chars.length > maxLength ? `${chars.slice(0, maxLength - 1).join("")}…` : line;
}
