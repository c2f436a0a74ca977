import {
  GALERA_RECOVER_SCRIPT,
  chooseBootstrapNode,
  parseRecoveryReport,
  type NodeReport,
  type RecoveryDecision,
} from "../src/core/galera-recovery.js";
import { ConnectError, HaGenError } from "../src/core/errors.js";
import { deployUnderCallersLock, redactDeep, redactError, type DeployResult, type RunnableStep } from "./deploy.js";
import type { EventSink, GaleraReportLine } from "./events.js";
import { describeBusy, lockNodes, type HeldLock } from "./lock.js";
import { Redactor } from "./redact.js";
import { newRunId } from "./run-log.js";
import { asRoot, forEachLimit, lastLines } from "./remote-fs.js";
import { rootFor } from "./select.js";
import type { Connection, Transport } from "./transport.js";

/**
 * `ha-gen recover galera`: after a full outage, ask every controller for its Galera state
 * (`galera-recover.sh report`), let chooseBootstrapNode decide from the data which node holds the
 * latest committed transaction, then run `bootstrap` on that node and `join` on the others one at
 * a time (or only `join` when a Primary component already runs). Refuses, changing nothing, when
 * a controller cannot report or the data does not allow a safe choice.
 */

export interface RecoverGaleraOptions {
  /** Controllers in spec order (ties in the decision go to the first). */
  readonly controllers: readonly string[];
  readonly transport: Transport;
  readonly secrets?: Iterable<string>;
  readonly dryRun?: boolean;
  /** As deploy's: prefix of the script path; with it the script gets HA_GEN_ROOT / HA_GEN_NODE (tests). */
  readonly root?: string;
  readonly reportTimeoutMs?: number;
  readonly stepTimeoutMs?: number;
  readonly onEvent?: EventSink;
  readonly logDir?: string;
  /** Named in the deploy lock's holder lines (default: a new run id). */
  readonly runId?: string;
  /** As deploy's: once aborted, no further bootstrap or join starts; a running one finishes. */
  readonly signal?: AbortSignal;
}

export interface RecoverGaleraResult {
  readonly ok: boolean;
  readonly decision: RecoveryDecision;
  readonly reports: readonly NodeReport[];
  /** The bootstrap/join run, when one happened. */
  readonly run?: DeployResult;
}

export async function recoverGalera(o: RecoverGaleraOptions): Promise<RecoverGaleraResult> {
  const redactor = new Redactor(o.secrets ?? []);
  const emit: EventSink = (e) => o.onEvent?.(redactDeep(e, redactor));
  const conns = new Map<string, Connection>();
  const locks: HeldLock[] = [];
  // Kept until the end: the bootstrap/join run below works under these locks.
  const release = async () => {
    await Promise.all(locks.map((l) => l.release()));
    await Promise.all([...conns.values()].map((c) => c.close().catch(() => undefined)));
    await o.transport.close?.().catch(() => undefined);
  };
  try {
    await connectControllers(o, conns, emit);
    const busy = await lockControllers(o, conns, locks, emit);
    if (busy) {
      emit({ type: "error", message: busy });
      const decision: RecoveryDecision = { action: "refuse", reason: busy };
      const reports = o.controllers.map((node) => ({ node, report: undefined }));
      return { ok: false, decision, reports };
    }
    return await reportAndRecover(o, conns, emit);
  } catch (e) {
    throw redactError(e, redactor);
  } finally {
    await release();
  }
}

async function connectControllers(o: RecoverGaleraOptions, conns: Map<string, Connection>, emit: EventSink) {
  await forEachLimit(o.controllers, 16, async (node) => {
    emit({ type: "connect-start", node });
    const t0 = Date.now();
    try {
      conns.set(node, await o.transport.connect(node));
    } catch (e) {
      // A config mistake or unusable identity is reported as itself, not as an unreachable node.
      if (e instanceof HaGenError && !(e instanceof ConnectError)) throw e;
      emit({ type: "error", node, message: (e as Error).message });
      return;
    }
    emit({ type: "connect-end", node, ms: Date.now() - t0 });
  });
}

/**
 * Each reachable controller's deploy lock, as deploy takes it, so no deploy runs while the state
 * is read and acted on; a dry run only looks. Returns why the recovery must not go on, if so.
 */
async function lockControllers(
  o: RecoverGaleraOptions,
  conns: ReadonlyMap<string, Connection>,
  locks: HeldLock[],
  emit: EventSink,
): Promise<string | undefined> {
  const r = await lockNodes([...conns.keys()], conns, {
    check: o.dryRun ?? false,
    rootOf: (node) => rootFor(o.root, node),
    runId: o.runId ?? newRunId(),
    timeoutMs: 120_000,
    concurrency: 16,
    onError: (node, e) => emit({ type: o.dryRun ? "warning" : "error", node, message: (e as Error).message }),
  });
  locks.push(...r.held);
  if (o.dryRun) {
    const message = `${describeBusy(r.busy)}: the states below may be changing`;
    if (r.busy.size > 0) emit({ type: "warning", message });
    return undefined;
  }
  if (r.busy.size > 0) return describeBusy(r.busy);
  if (r.failed.length > 0) return `cannot take the deploy lock on ${r.failed.join(", ")}: nothing was changed`;
  return undefined;
}

async function reportAndRecover(
  o: RecoverGaleraOptions,
  conns: ReadonlyMap<string, Connection>,
  emit: EventSink,
): Promise<RecoverGaleraResult> {
  const lines = new Map<string, GaleraReportLine>();
  const reports = new Map<string, NodeReport>();
  await forEachLimit(o.controllers, 16, async (node) => {
    const conn = conns.get(node);
    if (!conn) {
      lines.set(node, { node, error: "unreachable" });
      reports.set(node, { node, report: undefined });
      return;
    }
    const root = rootFor(o.root, node);
    const env = root ? ["env", `HA_GEN_ROOT=${root}`, `HA_GEN_NODE=${node}`] : [];
    const command = asRoot(conn, [...env, "bash", "--", root + GALERA_RECOVER_SCRIPT, "report"]);
    const r = await conn
      .exec(command, { timeoutMs: o.reportTimeoutMs ?? 300_000 })
      .catch((e: Error) => ({ code: null, stdout: "", stderr: e.message }));
    try {
      if (r.code !== 0) throw new Error(`exit ${r.code ?? "none"}: ${lastLines(r.stderr || r.stdout, 3)}`);
      const report = parseRecoveryReport(r.stdout);
      reports.set(node, { node, report });
      const { uuid, seqno, safeToBootstrap, running, state } = report;
      lines.set(node, { node, uuid, seqno, safeToBootstrap, running, state });
    } catch (e) {
      reports.set(node, { node, report: undefined });
      lines.set(node, { node, error: (e as Error).message });
    }
  });
  const ordered = o.controllers.map((n) => reports.get(n)!);
  const decision = chooseBootstrapNode(ordered);
  emit({
    type: "galera-recovery",
    reports: o.controllers.map((n) => lines.get(n)!),
    action: decision.action,
    ...(decision.action === "bootstrap" ? { bootstrap: decision.node } : {}),
    ...(decision.action !== "refuse" ? { join: decision.join } : {}),
    reason: decision.reason,
    dryRun: o.dryRun ?? false,
  });
  if (decision.action === "refuse") return { ok: false, decision, reports: ordered };
  if (o.dryRun) return { ok: true, decision, reports: ordered };
  const step = (id: string, nodes: readonly string[], arg: string): RunnableStep => ({
    id,
    title: `galera-recover ${arg}`,
    guideSection: "五.4",
    nodes,
    mode: "serial",
    script: GALERA_RECOVER_SCRIPT,
    verifies: [arg === "bootstrap" ? "this node runs a Primary component" : "this node is Synced in the cluster"],
    args: [arg],
  });
  const steps: RunnableStep[] = [];
  if (decision.action === "bootstrap") steps.push(step("recover-galera-bootstrap", [decision.node], "bootstrap"));
  if (decision.join.length > 0) steps.push(step("recover-galera-join", decision.join, "join"));
  if (steps.length === 0) return { ok: true, decision, reports: ordered };
  // This function's connections hold the locks: the run below must not try to take them again.
  const run = await deployUnderCallersLock({
    artifacts: [],
    plan: { steps },
    // Without close: closing the transport would end this function's connections, and the locks.
    transport: { connect: (node) => o.transport.connect(node) },
    ...(o.secrets ? { secrets: o.secrets } : {}),
    only: steps.map((s) => s.id),
    ...(o.root !== undefined ? { root: o.root, rootSteps: true } : {}),
    ...(o.stepTimeoutMs !== undefined ? { stepTimeoutMs: o.stepTimeoutMs } : {}),
    ...(o.onEvent ? { onEvent: o.onEvent } : {}),
    ...(o.logDir ? { logDir: o.logDir } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return { ok: run.ok, decision, reports: ordered, run };
}
