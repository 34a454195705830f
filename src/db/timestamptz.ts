import { types } from "pg";

const TIMESTAMPTZ = 1184;
const parseTimestamptzSlowly = types.getTypeParser(TIMESTAMPTZ, "text") as (text: string) => Date | number | null;

/** The number of `length` decimal digits at `at`, or -1 if one of them is not a digit. */
function digits(text: string, at: number, length: number): number {
  let value = 0;
  for (let i = at; i < at + length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/**
 * A timestamptz as PostgreSQL writes it (DateStyle ISO): `2026-12-03 21:18:33.123456+00`, the
 * offset `±HH`, `±HH:MM` or `±HH:MM:SS`. The same Date as pg's parser (postgres-date), without its
 * regular expressions' match arrays, which were a tenth of the list page's parsing garbage; any
 * other form (BC, infinity, a year outside 100–9999) goes to pg's parser.
 */
export function parseTimestamptz(text: string): Date | number | null {
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if (year < 100 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0
    || text[4] !== "-" || text[7] !== "-" || text[10] !== " " || text[13] !== ":" || text[16] !== ":") {
    return parseTimestamptzSlowly(text);
  }
  let at = 19;
  let ms = 0;
  if (text[at] === ".") {
    let end = at + 1;
    while (end < text.length && end - at <= 6 && digits(text, end, 1) >= 0) end++;
    // Integer over a power of ten: the same double as parseFloat(".123456"), as pg's parser takes.
    if (end > at + 1) ms = 1000 * (digits(text, at + 1, end - at - 1) / 10 ** (end - at - 1));
    at = end;
  }
  const sign = text[at] === "+" ? 1 : text[at] === "-" ? -1 : 0;
  const zoneHours = digits(text, at + 1, 2);
  const zoneMinutes = text[at + 3] === ":" ? digits(text, at + 4, 2) : 0;
  const zoneSeconds = text[at + 3] === ":" && text[at + 6] === ":" ? digits(text, at + 7, 2) : 0;
  at += text[at + 3] !== ":" ? 3 : text[at + 6] !== ":" ? 6 : 9;
  if (!sign || at !== text.length || zoneHours < 0 || zoneMinutes < 0 || zoneSeconds < 0) return parseTimestamptzSlowly(text);
  const offset = sign * (zoneHours * 3600 + zoneMinutes * 60 + zoneSeconds) * 1000;
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms) - offset);
}

/** pg's type parsers, with parseTimestamptz for timestamptz (a connection's `types`). */
export const pgTypes = {
  getTypeParser: (oid: number, format?: "text" | "binary") =>
    oid === TIMESTAMPTZ && (format ?? "text") === "text" ? parseTimestamptz : types.getTypeParser(oid, format),
};
