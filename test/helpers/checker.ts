import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/**
 * Helpers for real-checker tests: run the program that reads an artifact. A missing checker is a
 * test failure, never a skip (.ci/install-system-deps.sh installs them all).
 */
export function requireTool(...names: string[]): void {
  for (const n of names) {
    const r = spawnSync("sh", ["-c", `command -v "$1"`, "sh", n], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`checker "${n}" is not installed: run .ci/install-system-deps.sh`);
  }
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: readonly string[], opts: SpawnSyncOptions = {}): RunResult {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 60_000, ...opts });
  if (r.error) throw r.error;
  return { status: r.status, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? "") };
}

/** Run a shell snippet in its own network (and mount) namespace: nothing leaves the machine. */
export function isolated(script: string, args: readonly string[] = [], opts: SpawnSyncOptions = {}): RunResult {
  return run("unshare", ["-n", "-m", "--propagation", "private", "bash", "-c", script, "isolated", ...args], opts);
}

/** A temporary directory removed by the returned cleanup function. */
export function tempDir(prefix = "ha-gen-check-"): {
  dir: string;
  write: (rel: string, content: string, mode?: number) => string;
  cleanup: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    write(rel, content, mode = 0o644) {
      const p = join(dir, rel);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, content);
      chmodSync(p, mode);
      return p;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
