import { spawn, spawnSync, type ChildProcess, type SpawnSyncOptions } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

/** Process helpers for the quoting tests: byte-exact output, and daemons with bounded waits. */

export interface BytesResult {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Like checker.run, but stdout stays bytes so a round trip is compared exactly. */
export function runBytes(cmd: string, args: readonly string[], opts: SpawnSyncOptions = {}): BytesResult {
  // No `encoding`: output stays Buffers, and a string `input` is written as UTF-8.
  const input = typeof opts.input === "string" ? Buffer.from(opts.input, "utf8") : opts.input;
  const r = spawnSync(cmd, args, { timeout: 60_000, maxBuffer: 64 * 1024 * 1024, ...opts, input, encoding: undefined });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout as Buffer, stderr: (r.stderr as Buffer).toString("utf8") };
}

export function mustSucceed(what: string, r: { status: number | null; stderr: string }): void {
  if (r.status !== 0) throw new Error(`${what} exited ${String(r.status)}: ${r.stderr.slice(0, 4000)}`);
}

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

/** Poll `ready` every `everyMs` until true; throw after `limitMs` (never an unbounded wait). */
export async function waitFor(what: string, ready: () => boolean, limitMs = 20_000, everyMs = 25): Promise<void> {
  const until = Date.now() + limitMs;
  while (!ready()) {
    if (Date.now() > until) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface Daemon {
  readonly child: ChildProcess;
  exited: boolean;
  output(): string;
  /** SIGTERM, bounded wait, then SIGKILL. Only ever signals the process this helper started. */
  stop(limitMs?: number): Promise<void>;
}

/** Start a long-running program (its own pid; `unshare` execs the program in place). */
export function startDaemon(cmd: string, args: readonly string[]): Daemon {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString("utf8")));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString("utf8")));
  const d: Daemon = {
    child,
    exited: false,
    output: () => out,
    async stop(limitMs = 20_000) {
      if (d.exited) return;
      child.kill("SIGTERM");
      try {
        await waitFor(`${cmd} to exit`, () => d.exited, limitMs);
      } catch {
        child.kill("SIGKILL");
        await waitFor(`${cmd} to exit after SIGKILL`, () => d.exited, 5_000);
      }
    },
  };
  child.on("exit", () => (d.exited = true));
  child.on("error", (e) => {
    out += String(e);
    d.exited = true;
  });
  return d;
}

export const fileHas = (path: string, text: string) => () =>
  existsSync(path) && readFileSync(path, "utf8").includes(text);
