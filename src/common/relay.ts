import { ERRORS } from "./errors";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type NodeTypeName =
  | "Artifact" | "ArtifactRevision" | "HuggingFaceRegistry" | "ReservoirRegistry"
  | "ObjectStorage" | "VFSStorage" | "StorageNamespace" | "ApiKeypair" | "ArtifactRegistry";

export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}

export function toGlobalId(type: NodeTypeName, uuid: string): string {
  return Buffer.from(`${type}:${uuid}`, "utf8").toString("base64");
}

/** Splits a global ID; null when the value is not one. */
export function decodeGlobalId(value: string): { type: string; id: string } | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return null;
  const decoded = Buffer.from(value, "base64").toString("utf8");
  const sep = decoded.indexOf(":");
  if (sep <= 0) return null;
  const type = decoded.slice(0, sep);
  const id = decoded.slice(sep + 1);
  if (!/^[A-Za-z]+$/.test(type) || !isUuid(id)) return null;
  return { type, id };
}

/**
 * Accepts a global ID of `expected` type or a bare UUID and returns the UUID (lower case).
 * A global ID of another type, or anything else, is BAD_USER_INPUT naming the argument.
 */
export function parseId(expected: NodeTypeName | readonly NodeTypeName[], value: string, argName = "id"): string {
  const types = typeof expected === "string" ? [expected] : expected;
  if (typeof value !== "string" || value.length === 0) throw ERRORS.badInput(`${argName} must be a non-empty ID`, { argumentName: argName });
  if (isUuid(value)) return value.toLowerCase();
  const global = decodeGlobalId(value);
  if (!global) throw ERRORS.badInput(`${argName} is neither a global ID nor a UUID: ${JSON.stringify(value.slice(0, 80))}`, { argumentName: argName });
  if (!types.includes(global.type as NodeTypeName)) {
    throw ERRORS.badInput(`${argName} is a ${global.type} ID, expected ${types.join(" or ")}`, { argumentName: argName });
  }
  return global.id.toLowerCase();
}

/** Like parseId, but also tells which of several types a global ID named (null for a bare UUID). */
export function parseAnyId(types: readonly NodeTypeName[], value: string, argName = "id"): { type: NodeTypeName | null; id: string } {
  const id = parseId(types, value, argName);
  const global = isUuid(value) ? null : decodeGlobalId(value);
  return { type: (global?.type as NodeTypeName) ?? null, id };
}
