import type { ChildProcess } from "node:child_process";

/** What a child process wrote to stdout and stderr so far, for failure messages. */
export function captureOutput(child: ChildProcess): () => string {
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => (out += chunk));
  child.stderr?.on("data", (chunk: Buffer) => (out += chunk));
  return () => out;
}

/**
 * Resolves with the first match of `pattern` in the child's output (stdout and stderr); rejects,
 * with the output, if the child exits first or nothing matches within `timeoutMs`.
 */
export function waitForOutput(child: ChildProcess, output: () => string, pattern: RegExp, what: string, timeoutMs = 60_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = pattern.exec(output());
      if (!match) return;
      done();
      resolve(match);
    };
    const exited = (code: number | null, signal: string | null) => {
      done();
      reject(new Error(`the process exited (${signal ?? code}) before ${what}:\n${output()}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no ${what} within ${timeoutMs} ms:\n${output()}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      child.stdout?.off("data", check);
      child.stderr?.off("data", check);
      child.off("exit", exited);
    };
    child.stdout?.on("data", check);
    child.stderr?.on("data", check);
    child.once("exit", exited);
    // Listeners run in order, so captureOutput's have already appended this chunk.
    check();
  });
}

/** The server's URL from its "listening on <url>/graphql" log line (LOG_LEVEL info or lower). */
export async function listeningUrl(child: ChildProcess, output: () => string, timeoutMs = 60_000): Promise<string> {
  const [, url] = await waitForOutput(child, output, /listening on (http:\/\/\S+?:[1-9]\d*)\/graphql/, "the server listening", timeoutMs);
  return url;
}
