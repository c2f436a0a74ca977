import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NODES, STATE_DIR, VIP } from "./config.js";
import { inLab } from "./exec.js";
import { log, waitFor } from "./proc.js";

/**
 * The drills' continuous client load: test/e2e/lab/load-client.py (PyMySQL, py-amqp, pymemcache
 * from Debian, installed on the host by .ci/install-lab-deps.sh) run by the host's Debian Python in
 * the `lab` namespace, one JSON line per operation in .lab/load/<run>.jsonl; the figures below are
 * computed from that file alone.
 */

export const LOAD_DIR = join(STATE_DIR, "load");
const SCRIPT = new URL("./load-client.py", import.meta.url).pathname;
/** Debian's interpreter, where python3-pymysql & co. are installed (not a pyenv or venv python). */
const PYTHON = "/usr/bin/python3";

export interface LoadTargets {
  readonly sqlUser: string;
  readonly sqlPass: string;
  readonly amqpPort: number;
  readonly amqpUser: string;
  readonly amqpPass: string;
  readonly amqpVhost: string;
  readonly memcachedPort: number;
  readonly etcdPort: number;
}

export interface Op {
  readonly t: number;
  readonly k: string;
  readonly ok: boolean;
  readonly seq?: number;
  readonly node?: string;
  readonly conn?: number;
  readonly idle?: number;
  readonly refused?: boolean;
  readonly err?: string;
  readonly present?: number[];
}

export class LoadClient {
  readonly file: string;
  private readonly stopFile: string;
  private proc: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;

  constructor(readonly run: string) {
    mkdirSync(LOAD_DIR, { recursive: true });
    this.file = join(LOAD_DIR, `${run}.jsonl`);
    this.stopFile = join(LOAD_DIR, `${run}.stop`);
  }

  /** Start and wait until SQL, AMQP and etcd each had a successful operation. */
  async start(t: LoadTargets): Promise<void> {
    rmSync(this.file, { force: true });
    rmSync(this.stopFile, { force: true });
    const argv = inLab([
      PYTHON,
      SCRIPT,
      `--out=${this.file}`,
      `--stop-file=${this.stopFile}`,
      `--run=${this.run}`,
      `--vip=${VIP}`,
      `--nodes=${NODES.map((n) => n.ip).join(",")}`,
      `--sql-user=${t.sqlUser}`,
      `--amqp-port=${t.amqpPort}`,
      `--amqp-user=${t.amqpUser}`,
      `--amqp-vhost=${t.amqpVhost}`,
      `--memcached-port=${t.memcachedPort}`,
      `--etcd-port=${t.etcdPort}`,
    ]);
    log(`load client start: ${argv.join(" ")}`);
    const err = openSync(join(LOAD_DIR, `${this.run}.stderr`), "w");
    // Passwords reach the client in its environment, never in argv (visible in ps).
    const env = { ...process.env, LOAD_SQL_PASS: t.sqlPass, LOAD_AMQP_PASS: t.amqpPass };
    const p = spawn(argv[0]!, argv.slice(1), { env, stdio: ["ignore", "ignore", err] });
    this.proc = p;
    this.exited = new Promise((r) => p.on("exit", (code) => r(code)));
    await waitFor(
      "the load client's first successful SQL write, AMQP confirm and etcd put",
      120_000,
      () => {
        if (p.exitCode !== null) throw new Error(`load client exited ${p.exitCode}: ${this.stderrTail()}`);
        const ops = this.ops();
        return ["sql", "amqp-pub", "amqp-recv", "etcd-put"].every((k) => ops.some((o) => o.k === k && o.ok));
      },
      1000,
    );
  }

  stderrTail(): string {
    const f = join(LOAD_DIR, `${this.run}.stderr`);
    return existsSync(f) ? readFileSync(f, "utf8").slice(-2000) : "";
  }

  /** Ask the client to stop; it drains the AMQP queue and reads back rows and keys first. */
  async stop(): Promise<void> {
    if (!this.proc) return;
    writeFileSync(this.stopFile, "");
    const killer = setTimeout(() => this.proc?.kill("SIGKILL"), 240_000);
    const code = await this.exited;
    clearTimeout(killer);
    this.proc = undefined;
    log(`load client exited ${code}`);
    if (code !== 0) throw new Error(`load client exited ${code}: ${this.stderrTail()}`);
  }

  ops(): Op[] {
    if (!existsSync(this.file)) return [];
    const out: Op[] = [];
    for (const line of readFileSync(this.file, "utf8").split("\n")) {
      if (!line) continue;
      try {
        out.push(JSON.parse(line) as Op);
      } catch {
        // a line being written right now
      }
    }
    return out;
  }
}

// ---- figures from the operations

const ok = (ops: readonly Op[], k: string) => ops.filter((o) => o.k === k && o.ok);

/** Longest time without a successful SQL write in [from, to], counted from the last one before `from`. */
export function longestSqlGap(ops: readonly Op[], from: number, to: number): number {
  const times = ok(ops, "sql").map((o) => o.t);
  const before = times.filter((t) => t < from);
  const inside = times.filter((t) => t >= from && t <= to);
  const points = [before.length > 0 ? before[before.length - 1]! : from, ...inside];
  let gap = 0;
  for (let i = 1; i < points.length; i++) gap = Math.max(gap, points[i]! - points[i - 1]!);
  // No write since the last one: the gap runs to the end of the window.
  gap = Math.max(gap, to - points[points.length - 1]!);
  return round(gap);
}

/** From `at` until the first successful `kind` operation after the last failed one (window `to`). */
export function backAfter(ops: readonly Op[], kind: string, at: number, to: number): number | null {
  const inWin = ops.filter((o) => o.k === kind && o.t >= at && o.t <= to);
  const lastFail = [...inWin].reverse().find((o) => !o.ok);
  const firstOk = inWin.find((o) => o.ok && (!lastFail || o.t > lastFail.t));
  return firstOk ? round(firstOk.t - at) : null;
}

export interface WriterWindows {
  /** Seconds in which two different nodes committed SQL writes (the literal definition). */
  readonly secondsWithTwoNodes: number;
  /**
   * Seconds in which the committing node changed more than once (A…B…A): two nodes taking writes
   * at the same time. A single clean switch (failover, failback) changes it exactly once.
   */
  readonly interleaved: number;
  readonly examples: string[];
}

export function writerWindows(ops: readonly Op[], from = 0, to = Number.POSITIVE_INFINITY): WriterWindows {
  const bySecond = new Map<number, string[]>();
  for (const o of ok(ops, "sql")) {
    if (o.t < from || o.t > to || !o.node) continue;
    const s = Math.floor(o.t);
    bySecond.set(s, [...(bySecond.get(s) ?? []), o.node]);
  }
  let secondsWithTwoNodes = 0;
  let interleaved = 0;
  const examples: string[] = [];
  for (const [s, nodes] of bySecond) {
    if (new Set(nodes).size < 2) continue;
    secondsWithTwoNodes++;
    const switches = nodes.filter((n, i) => i > 0 && n !== nodes[i - 1]).length;
    if (switches > 1) {
      interleaved++;
      if (examples.length < 5) examples.push(`${new Date(s * 1000).toISOString()}: ${nodes.join(",")}`);
    }
  }
  return { secondsWithTwoNodes, interleaved, examples };
}

export interface LoadSummary {
  readonly sqlWrites: number;
  readonly sqlFailed: number;
  readonly sqlRowsLost: number | null;
  readonly sqlIdleReuses: number;
  readonly sqlIdleReuseFailures: number;
  readonly connectFailed: number;
  readonly amqpConfirmed: number;
  readonly amqpPublishFailed: number;
  readonly amqpLost: number;
  readonly etcdWrites: number;
  readonly etcdFailedAfterRetry: number;
  readonly etcdLost: number | null;
  readonly memcachedOps: number;
  readonly memcachedFailed: number;
  readonly writers: WriterWindows;
  readonly committedBy: Record<string, number>;
}

export function summarize(ops: readonly Op[]): LoadSummary {
  const sql = ops.filter((o) => o.k === "sql");
  const sqlOk = sql.filter((o) => o.ok);
  const sqlFinal = ops.find((o) => o.k === "sql-final" && o.ok)?.present;
  const present = new Set(sqlFinal ?? []);
  // A pool member used again after resting longer than HAProxy's old 1-minute timeouts. A failure
  // counts as "cut while idle" only when nothing else failed while it rested: a drill's fault
  // (HAProxy killed, the writer restarted) cuts busy and idle connections alike.
  const idleReuse = sql.filter((o) => (o.idle ?? 0) > 60);
  const failedAt = ops.filter((o) => (o.k === "sql" || o.k === "connect") && !o.ok).map((o) => o.t);
  const cutWhileIdle = idleReuse.filter((o) => !o.ok && !failedAt.some((t) => t >= o.t - o.idle! && t < o.t));
  const confirmed = new Set(ok(ops, "amqp-pub").map((o) => o.seq));
  const received = new Set(ok(ops, "amqp-recv").map((o) => o.seq));
  const etcd = ops.filter((o) => o.k === "etcd-put");
  const etcdFinal = ops.find((o) => o.k === "etcd-final" && o.ok)?.present;
  const etcdPresent = new Set(etcdFinal ?? []);
  const mc = ops.filter((o) => o.k === "memcached");
  const committedBy: Record<string, number> = {};
  for (const o of sqlOk) committedBy[o.node ?? "?"] = (committedBy[o.node ?? "?"] ?? 0) + 1;
  return {
    sqlWrites: sqlOk.length,
    sqlFailed: sql.length - sqlOk.length,
    sqlRowsLost: sqlFinal ? sqlOk.filter((o) => !present.has(o.seq!)).length : null,
    sqlIdleReuses: idleReuse.length,
    sqlIdleReuseFailures: cutWhileIdle.length,
    connectFailed: ops.filter((o) => o.k === "connect" && !o.ok).length,
    amqpConfirmed: confirmed.size,
    amqpPublishFailed: ops.filter((o) => o.k === "amqp-pub" && !o.ok).length,
    amqpLost: [...confirmed].filter((s) => !received.has(s)).length,
    etcdWrites: etcd.length,
    etcdFailedAfterRetry: etcd.filter((o) => !o.ok).length,
    etcdLost: etcdFinal ? etcd.filter((o) => o.ok && !etcdPresent.has(o.seq!)).length : null,
    memcachedOps: mc.length,
    memcachedFailed: mc.filter((o) => !o.ok).length,
    writers: writerWindows(ops),
    committedBy,
  };
}

/** Connections refused (SQL writes and fresh connects) in [from, to]. */
export function refusedIn(ops: readonly Op[], from: number, to: number): number {
  return ops.filter((o) => (o.k === "sql" || o.k === "connect") && !o.ok && o.refused && o.t >= from && o.t <= to)
    .length;
}

/** Failed operations of any kind in [from, to], per kind. */
export function failuresIn(ops: readonly Op[], from: number, to: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of ops) if (!o.ok && o.t >= from && o.t <= to) out[o.k] = (out[o.k] ?? 0) + 1;
  return out;
}

const round = (s: number) => Math.round(s * 10) / 10;
