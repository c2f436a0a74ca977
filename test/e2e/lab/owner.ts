import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { ensureCacheDir, OWNER_FILE, STATE_DIR } from "./config.js";
import { alive } from "./nodes.js";

/**
 * Namespace names (`lab`, `lab-controller0X`) are machine-wide: one lab per machine. The owner
 * file names the process running it; a second run refuses instead of tearing the first one down.
 */

interface Owner {
  pid: number;
  stateDir: string;
  since: string;
}

function current(): Owner | undefined {
  try {
    return JSON.parse(readFileSync(OWNER_FILE, "utf8")) as Owner;
  } catch {
    return undefined;
  }
}

export function acquireLab(pid = process.pid): void {
  ensureCacheDir();
  const o = current();
  if (o && o.pid !== pid && alive(o.pid)) {
    throw new Error(
      `another container lab run owns this machine (pid ${o.pid}, ${o.stateDir}, since ${o.since}); ` +
        `wait for it or stop it`,
    );
  }
  writeFileSync(OWNER_FILE, `${JSON.stringify({ pid, stateDir: STATE_DIR, since: new Date().toISOString() })}\n`);
}

export function releaseLab(pid = process.pid): void {
  if (current()?.pid === pid) rmSync(OWNER_FILE, { force: true });
}
