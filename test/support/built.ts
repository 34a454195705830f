import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rmdir, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

/*
 * Tests that spawn the built server, worker or CLI must run today's sources, not yesterday's
 * build. ensureBuilt() compiles (tsc -p tsconfig.build.json, as `npm run build`) when any file
 * under src/ is newer than its output in dist/ or has none; a lock keeps the two jest workers
 * from compiling over each other.
 */

export const ROOT = path.resolve(__dirname, "../..");
const SRC = path.join(ROOT, "src");
const DIST = path.join(ROOT, "dist");
/** One lock per checkout, outside it (nothing for git to see). */
const LOCK = path.join(os.tmpdir(), `ar-build-${createHash("sha256").update(ROOT).digest("hex").slice(0, 12)}.lock`);
/** A lock older than this belongs to a compile that died; tsc takes well under a minute here. */
const STALE_LOCK_MS = 5 * 60_000;

/** The emitted file of a source under src/, or null for a file tsc does not emit (declarations). */
function outputOf(source: string): string | null {
  if (source.endsWith(".d.ts") || !source.endsWith(".ts")) return null;
  return path.join(DIST, path.relative(ROOT, source)).replace(/\.ts$/, ".js");
}

/** Sources newer than their output, or without one; empty when dist/ is current. */
export async function staleOutputs(): Promise<string[]> {
  const entries = await readdir(SRC, { recursive: true, withFileTypes: true });
  const stale: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const source = path.join(entry.parentPath, entry.name);
    const output = outputOf(source);
    if (!output) continue;
    const [sourceStat, outputStat] = await Promise.all([stat(source), stat(output).catch(() => null)]);
    if (!outputStat || outputStat.mtimeMs < sourceStat.mtimeMs) stale.push(path.relative(ROOT, source));
  }
  return stale;
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const held = await stat(LOCK).catch(() => null);
      if (held && Date.now() - held.mtimeMs > STALE_LOCK_MS) await rmdir(LOCK).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await fn();
  } finally {
    await rmdir(LOCK);
  }
}

/** Compiles src/ into dist/ if dist/ is older than src/ (or missing); fails with tsc's output if that fails. */
export async function ensureBuilt(): Promise<void> {
  if ((await staleOutputs()).length === 0) return;
  await withLock(async () => {
    // Another worker may have compiled while this one waited.
    if ((await staleOutputs()).length === 0) return;
    const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
    try {
      await promisify(execFile)(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
      throw new Error(`building dist/ failed (tsc -p tsconfig.build.json):\n${stdout}${stderr}`, { cause: error });
    }
    const still = await staleOutputs();
    if (still.length) throw new Error(`dist/ is still older than src/ after building: ${still.slice(0, 5).join(", ")}`);
  });
}

/**
 * The node arguments of an npm script run with `[NAME=value …] node [--flags] <file>` (e.g.
 * "worker"): its flags, then its built entry point; read from package.json so a test follows a
 * move or a new flag. Variables before `node`, if a script has any, are left out: a test sets its
 * own environment (the service sets glibc's variable itself, src/boot/allocator.ts).
 */
export async function scriptArgs(script: string): Promise<string[]> {
  const scripts = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")).scripts as Record<string, string>;
  const command = scripts[script];
  const match = command && /(?:^|&&\s*)(?:[A-Z_][A-Z0-9_]*=\S*\s+)*node((?:\s+--\S+)*)\s+(\S+\.js)(?:\s|$)/.exec(command);
  if (!match) throw new Error(`package.json's scripts.${script} does not run "node [--flags] <file>.js": ${command}`);
  return [...match[1].trim().split(/\s+/).filter(Boolean), path.join(ROOT, match[2])];
}
