import { ERRORS } from "./errors";

/*
 * Checks of client input shared by the admin mutations. Each throws BAD_USER_INPUT naming the
 * input field, so a client can point at the offending form field.
 */

const NAME_RE = /^[A-Za-z0-9._-]{1,256}$/;

/** Names of registries and storages: they end up in URLs and logs, so a conservative alphabet. */
export function checkName(value: string, field = "name"): string {
  if (typeof value !== "string" || !NAME_RE.test(value)) {
    throw ERRORS.badInput(`${field} must be 1-256 characters of A-Z, a-z, 0-9, '.', '_' and '-'`, { field });
  }
  return value;
}

/**
 * An http(s) URL without credentials, query or fragment. Credentials belong in the token or key
 * fields (which are masked on read); a URL is shown to every role as it is.
 */
export function checkHttpUrl(value: string, field: string): string {
  const fail = (why: string) => ERRORS.badInput(`${field} ${why}`, { field });
  if (typeof value !== "string" || value.length === 0) throw fail("must be an http(s) URL");
  if (value.length > 2048) throw fail("may be at most 2048 characters");
  if (value.trim() !== value) throw fail("must not start or end with whitespace");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw fail("must be an http(s) URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw fail("must be an http(s) URL");
  if (url.username || url.password) throw fail("must not contain credentials");
  if (url.search || value.includes("?")) throw fail("must not contain a query");
  if (url.hash || value.includes("#")) throw fail("must not contain a fragment");
  return value;
}

/** A required free-text field (keys, hosts, regions): non-empty, bounded, no control characters. */
export function checkText(value: string, field: string, maxLength: number): string {
  if (typeof value !== "string" || value.length === 0) throw ERRORS.badInput(`${field} must not be empty`, { field });
  if (value.length > maxLength) throw ERRORS.badInput(`${field} may be at most ${maxLength} characters`, { field });
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw ERRORS.badInput(`${field} must not contain control characters`, { field });
  return value;
}

/** Optional fields of an update: null and undefined both mean "leave unchanged". */
export const given = <T>(value: T | null | undefined): value is T => value !== undefined && value !== null;
