import {
  GALERA_RECOVER_SCRIPT,
  chooseBootstrapNode,
  parseRecoveryReport,
  type NodeReport,
  type RecoveryDecision,
} from "../src/core/galera-recovery.js";
import { ConnectError, HaGenError } from "../src/core/errors.js";
import { deploy, redactDeep, type DeployResult, type RunnableStep } from "./deploy.js";
import type { EventSink, GaleraReportLine } from "./events.js";
import { Redactor } from "./redact.js";
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
  const lines = new Map<string, GaleraReportLine>();
  const reports = new Map<string, NodeReport>();
  try {
    await forEachLimit(o.controllers, 16, async (node) => {
      emit({ type: "connect-start", node });
      const t0 = Date.now();
      let conn: Connection;
      try {
        conn = await o.transport.connect(node);
      } catch (e) {
        // A config mistake or unusable identity is reported as itself, not as an unreachable node.
        if (e instanceof HaGenError && !(e instanceof ConnectError)) throw e;
        emit({ type: "error", node, message: (e as Error).message });
        lines.set(node, { node, error: "unreachable" });
        reports.set(node, { node, report: undefined });
        return;
      }
      conns.set(node, conn);
      emit({ type: "connect-end", node, ms: Date.now() - t0 });
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
  } finally {
    await Promise.all([...conns.values()].map((c) => c.close().catch(() => undefined)));
  }
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
  if (decision.action === "refuse") {
    await o.transport.close?.().catch(() => undefined);
    return { ok: false, decision, reports: ordered };
  }
  if (o.dryRun) {
    await o.transport.close?.().catch(() => undefined);
    return { ok: true, decision, reports: ordered };
  }
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
  const run = await deploy({
    artifacts: [],
    plan: { steps },
    transport: o.transport,
    ...(o.secrets ? { secrets: o.secrets } : {}),
    only: steps.map((s) => s.id),
    ...(o.root !== undefined ? { root: o.root, rootSteps: true } : {}),
    ...(o.stepTimeoutMs !== undefined ? { stepTimeoutMs: o.stepTimeoutMs } : {}),
    ...(o.onEvent ? { onEvent: o.onEvent } : {}),
    ...(o.logDir ? { logDir: o.logDir } : {}),
  });
  return { ok: run.ok, decision, reports: ordered, run };
}
