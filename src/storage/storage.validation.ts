import path from "node:path";
import { ERRORS } from "../common/errors";
import { checkHttpUrl } from "../common/validation";

/** S3 bucket naming rules (the subset every S3 implementation agrees on). */
export function checkBucketName(value: string, field = "namespace"): string {
  const fail = (why: string) => ERRORS.badInput(`${field} is not a valid bucket name: ${why}`, { field });
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value)) {
    throw fail("3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit");
  }
  if (value.includes("..") || value.includes(".-") || value.includes("-.")) throw fail("'.' must not be next to '.' or '-'");
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(value)) throw fail("it must not look like an IP address");
  if (value.startsWith("xn--") || value.startsWith("sthree-")) throw fail("reserved prefix");
  if (value.endsWith("-s3alias") || value.endsWith("--ol-s3")) throw fail("reserved suffix");
  return value;
}

/**
 * One directory name directly under a VFS storage's base path: nothing that could climb out of
 * it or be read differently by another tool (separators, '.', '..', NUL, control characters).
 */
export function checkDirectoryName(value: string, field = "namespace"): string {
  if (!/^[A-Za-z0-9._-]{1,255}$/.test(value) || value === "." || value === "..") {
    throw ERRORS.badInput(`${field} must be a single directory name of 1-255 characters of A-Z, a-z, 0-9, '.', '_' and '-' (not '.' or '..')`, { field });
  }
  return value;
}

export function checkBasePath(value: string, field = "basePath"): string {
  const fail = (why: string) => ERRORS.badInput(`${field} ${why}`, { field });
  if (typeof value !== "string" || value.length === 0) throw fail("must not be empty");
  if (value.length > 4096) throw fail("may be at most 4096 characters");
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw fail("must not contain NUL or control characters");
  if (!path.isAbsolute(value)) throw fail("must be an absolute path");
  if (value.split(/[\\/]/).includes("..")) throw fail("must not contain '..'");
  return value;
}

/** The S3 client talks to scheme://host:port only, so a path would be silently ignored: refuse it. */
export function checkS3Endpoint(value: string, field = "endpoint"): string {
  checkHttpUrl(value, field);
  if (new URL(value).pathname !== "/") throw ERRORS.badInput(`${field} must not have a path`, { field });
  return value;
}
