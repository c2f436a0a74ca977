import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { LOG_DIR } from "./config.js";

/** Running commands for the lab: every command and its outcome is appended to logs/harness.log. */

export interface Result {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface RunOptions {
  readonly input?: string;
  readonly timeoutMs?: number;
  /** Return non-zero results instead of throwing. */
  readonly allowFail?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Log file the command's output is also appended to (async runs). */
  readonly tee?: string;
}

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: Result,
  ) {
    const tail = (s: string) => s.trimEnd().split("\n").slice(-25).join("\n");
    super(
      `command failed (${result.signal ?? `exit ${result.status}`}, ${(result.ms / 1000).toFixed(1)}s): ${fmt(argv)}` +
        (result.stdout.trim() ? `\n--- stdout (tail)\n${tail(result.stdout)}` : "") +
        (result.stderr.trim() ? `\n--- stderr (tail)\n${tail(result.stderr)}` : ""),
    );
    this.name = "CommandError";
  }
}

export const HARNESS_LOG = `${LOG_DIR}/harness.log`;

export function log(line: string): void {
  try {
    mkdirSync(LOG_DIR, { recursive: true });
    appendFileSync(HARNESS_LOG, `${new Date().toISOString()} ${line}\n`);
  } catch {
    // Best effort: the preflight runs commands before it knows it may write here (not root).
  }
}

function fmt(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

function finish(argv: readonly string[], r: Result, o: RunOptions): Result {
  const failure =
    r.status === 0
      ? ""
      : ` -> ${r.signal ?? r.status}: ${r.stderr.trim().split("\n").slice(-3).join(" | ").slice(0, 400)}`;
  log(`${r.status === 0 ? "ok " : "ERR"} ${(r.ms / 1000).toFixed(1)}s ${fmt(argv).slice(0, 400)}${failure}`);
  if (r.status !== 0 && !o.allowFail) throw new CommandError(argv, r);
  return r;
}

/** Run to completion (blocks the event loop: for short commands). */
export function run(argv: readonly string[], o: RunOptions = {}): Result {
  const t0 = Date.now();
  const p = spawnSync(argv[0]!, argv.slice(1), {
    input: o.input,
    encoding: "utf8",
    timeout: o.timeoutMs ?? 120_000,
    killSignal: "SIGKILL",
    env: o.env ?? process.env,
    cwd: o.cwd,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (p.error && (p.error as NodeJS.ErrnoException).code !== "ETIMEDOUT") throw p.error;
  return finish(
    argv,
    {
      status: p.status,
      signal: p.signal,
      stdout: String(p.stdout ?? ""),
      stderr: String(p.stderr ?? ""),
      ms: Date.now() - t0,
    },
    o,
  );
}

/** Run without blocking (long commands: image bake, deploy), so samplers keep running. */
export function runAsync(argv: readonly string[], o: RunOptions = {}): Promise<Result> {
  const t0 = Date.now();
  return new Promise((resolveP, reject) => {
    const p = spawn(argv[0]!, argv.slice(1), {
      env: o.env ?? process.env,
      cwd: o.cwd,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    if (o.tee) mkdirSync(dirname(o.tee), { recursive: true });
    const tee = (chunk: Buffer) => {
      if (o.tee) appendFileSync(o.tee, chunk);
    };
    p.stdout.on("data", (c: Buffer) => {
      stdout += c.toString("utf8");
      tee(c);
    });
    p.stderr.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
      tee(c);
    });
    const timer = setTimeout(() => p.kill("SIGKILL"), o.timeoutMs ?? 600_000);
    p.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    p.on("close", (status, signal) => {
      clearTimeout(timer);
      try {
        resolveP(finish(argv, { status, signal, stdout, stderr, ms: Date.now() - t0 }, o));
      } catch (e) {
        reject(e);
      }
    });
    p.stdin.end(o.input ?? "");
  });
}

/** Poll `probe` until it returns a truthy value; throw after `limitMs` with the last observation. */
export async function waitFor<T>(
  what: string,
  limitMs: number,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  everyMs = 1000,
): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e instanceof Error ? e.message : e;
    }
    if (Date.now() - t0 >= limitMs) {
      throw new Error(
        `timed out after ${Math.round(limitMs / 1000)}s waiting for ${what}; last: ${String(last).slice(0, 2000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
