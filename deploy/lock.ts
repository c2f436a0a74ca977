import { createHash } from "node:crypto";
import { hostname, userInfo } from "node:os";
import { asRoot, lastLines, RemoteError } from "./remote-fs.js";
import { deployLockScript } from "./scripts.js";
import type { Connection, ExecResult } from "./transport.js";

/**
 * One deploy per node at a time. A run takes, on every node it touches, an exclusive flock(1) on
 * /run/ha-gen/deploy.lock (one file per --root tree, so staged trees on one machine do not block
 * each other), held by a long-lived command on the run's own SSH connection
 * (deploy/templates/deploy-lock.sh.njk). The lock dies with that process: at the run's end it is
 * killed; if the connection drops, its heartbeat write fails and it exits; /run is empty after a
 * reboot. The file holds the holder's run id, host, user, start time and pid, so a second run can
 * say who is deploying. Dry runs only look (checkLock) and never hold it.
 */

export const LOCK_DIR = "/run/ha-gen";

/** Who holds a node's lock, as its holder wrote it (values cut to printable, bounded text). */
export interface LockHolder {
  readonly run?: string;
  readonly host?: string;
  readonly user?: string;
  readonly since?: string;
  readonly pid?: string;
}

export interface HeldLock {
  /** Kills the holder and waits until it is gone (bounded), so the next run finds the node free. */
  release(): Promise<void>;
}

export type LockAttempt = { readonly held: HeldLock } | { readonly busy: LockHolder };

/** The lock file for a node's --root prefix ("" for the live system). */
export function lockPath(root: string): string {
  if (!root) return `${LOCK_DIR}/deploy.lock`;
  return `${LOCK_DIR}/deploy-root-${createHash("sha256").update(root).digest("hex").slice(0, 16)}.lock`;
}

/** `user@host` of this process, for the holder lines. */
export function localIdentity(): { readonly host: string; readonly user: string } {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? String(process.getuid?.() ?? "?");
  }
  return { host: hostname(), user };
}

function parseHolder(text: string): LockHolder {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^(run|host|user|since|pid)=(.*)$/.exec(line);
    // The file is root's, but its lines end up in messages: printable and short only.
    if (m) out[m[1]!] = m[2]!.replace(/[^\x20-\x7e]/g, "?").slice(0, 100);
  }
  return out;
}

function lockFailed(node: string, r: ExecResult): RemoteError {
  const why = lastLines(r.stderr || r.stdout, 3) || `exit ${r.code ?? r.signal ?? "?"}`;
  return new RemoteError(node, `cannot take the deploy lock on ${node}: ${why}`, r);
}

/**
 * Takes the node's lock for this run, or says who holds it. Resolves once the lock is taken (the
 * command goes on holding it) or refused; a RemoteError when the lock cannot be tried at all.
 */
export async function acquireLock(
  conn: Connection,
  node: string,
  o: { readonly root: string; readonly runId: string; readonly timeoutMs: number; readonly onLost?: () => void },
): Promise<LockAttempt> {
  const me = localIdentity();
  const cmd = asRoot(conn, [
    "bash",
    "-c",
    deployLockScript(),
    "ha-gen-lock",
    "hold",
    lockPath(o.root),
    o.runId,
    me.host,
    me.user,
  ]);
  let out = "";
  let released = false;
  let onFirstLine: (() => void) | undefined;
  // No timeout: this command lives as long as the run.
  const holding = conn.exec(cmd, {
    onStdout: (c) => {
      out += c;
      if (out.includes("\n")) onFirstLine?.();
    },
  });
  const ended = holding.then(
    (r) => ({ r }),
    (e: unknown) => ({ e }),
  );
  let timer: NodeJS.Timeout | undefined;
  const first = await Promise.race([
    new Promise<"line">((res) => {
      onFirstLine = () => res("line");
      if (out.includes("\n")) res("line");
    }),
    ended.then(() => "ended" as const),
    new Promise<"timeout">((res) => {
      timer = setTimeout(() => res("timeout"), o.timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (first === "timeout") {
    throw new RemoteError(node, `cannot take the deploy lock on ${node}: no answer within ${o.timeoutMs / 1000}s`);
  }
  const head = out.slice(0, out.indexOf("\n") + 1 || undefined).trim();
  const locked = /^locked (\d+)$/.exec(head);
  if (!locked) {
    const end = await ended;
    if ("e" in end) throw end.e;
    if (end.r.code === 0 && end.r.stdout.startsWith("busy\n")) return { busy: parseHolder(end.r.stdout.slice(5)) };
    throw lockFailed(node, end.r);
  }
  const pid = locked[1]!;
  // A holder that ends before the run does (killed on the node, connection lost) no longer protects it.
  void ended.then(() => {
    if (!released) o.onLost?.();
  });
  return {
    held: {
      async release() {
        if (released) return;
        released = true;
        await conn.exec(asRoot(conn, ["kill", "--", pid]), { timeoutMs: o.timeoutMs }).catch(() => undefined);
        let t: NodeJS.Timeout | undefined;
        await Promise.race([ended, new Promise((res) => (t = setTimeout(res, o.timeoutMs)))]);
        clearTimeout(t);
      },
    },
  };
}

/** Dry runs: who holds the node's lock, or undefined when it is free. Takes nothing, creates nothing. */
export async function checkLock(
  conn: Connection,
  node: string,
  o: { readonly root: string; readonly timeoutMs: number },
): Promise<LockHolder | undefined> {
  const cmd = asRoot(conn, ["bash", "-c", deployLockScript(), "ha-gen-lock", "check", lockPath(o.root)]);
  const r = await conn.exec(cmd, { timeoutMs: o.timeoutMs });
  if (r.code !== 0) throw lockFailed(node, r);
  return r.stdout.startsWith("busy\n") ? parseHolder(r.stdout.slice(5)) : undefined;
}

/** "deploy already running on a, b (run X from user@host, since T)": one line per holder. */
export function describeBusy(busy: ReadonlyMap<string, LockHolder>): string {
  const groups = new Map<string, { nodes: string[]; holder: LockHolder }>();
  for (const [node, h] of busy) {
    const key = `${h.run ?? ""}\0${h.host ?? ""}\0${h.user ?? ""}`;
    const g = groups.get(key) ?? { nodes: [], holder: h };
    g.nodes.push(node);
    groups.set(key, g);
  }
  return [...groups.values()]
    .map(({ nodes, holder: h }) => {
      const who = h.run
        ? `run ${h.run} from ${h.user ? `${h.user}@` : ""}${h.host ?? "an unknown host"}, since ${h.since ?? "?"}`
        : "held by a run that left no details";
      return `deploy already running on ${nodes.join(", ")} (${who})`;
    })
    .join("; ");
}

export interface LockAll {
  readonly held: readonly HeldLock[];
  /** Nodes another run holds, in `nodes` order. */
  readonly busy: ReadonlyMap<string, LockHolder>;
  /** Nodes whose lock could not be tried (reported through onError). */
  readonly failed: readonly string[];
}

/**
 * The locks of `nodes` for one run: the first node by name alone, then the others together. Two
 * runs of the same nodes started at the same moment meet at that first node, so one of them goes
 * on, instead of each taking half the nodes and both refusing. With `check` (dry runs) nothing is
 * taken: busy nodes are only listed.
 */
export async function lockNodes(
  nodes: readonly string[],
  conns: ReadonlyMap<string, Connection>,
  o: {
    readonly check: boolean;
    readonly rootOf: (node: string) => string;
    readonly runId: string;
    readonly timeoutMs: number;
    readonly concurrency: number;
    readonly onLost?: (node: string) => void;
    readonly onError: (node: string, e: unknown) => void;
  },
): Promise<LockAll> {
  const held: HeldLock[] = [];
  const busy = new Map<string, LockHolder>();
  const failed: string[] = [];
  const one = async (node: string) => {
    const conn = conns.get(node)!;
    const root = o.rootOf(node);
    try {
      if (o.check) {
        const h = await checkLock(conn, node, { root, timeoutMs: o.timeoutMs });
        if (h) busy.set(node, h);
        return;
      }
      const onLost = () => o.onLost?.(node);
      const a = await acquireLock(conn, node, { root, runId: o.runId, timeoutMs: o.timeoutMs, onLost });
      if ("held" in a) held.push(a.held);
      else busy.set(node, a.busy);
    } catch (e) {
      failed.push(node);
      o.onError(node, e);
    }
  };
  const sorted = [...nodes].sort();
  const first = o.check ? [] : sorted.slice(0, 1);
  for (const n of first) await one(n);
  if (busy.size === 0 && failed.length === 0) {
    const rest = sorted.slice(first.length);
    let next = 0;
    const worker = async () => {
      while (next < rest.length) await one(rest[next++]!);
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, rest.length)) }, worker));
  }
  return { held, busy: new Map(nodes.filter((n) => busy.has(n)).map((n) => [n, busy.get(n)!] as const)), failed };
}
