import { HaGenError } from "./errors.js";
import { SCRIPT_DIR } from "./os.js";

/**
 * Galera full-outage recovery, decided from data instead of by hand. The guide (五.4) deletes
 * grastate.dat or flips `safe_to_bootstrap` to 1 on EVERY node and bootstraps whichever node the
 * operator picks: when that node is not the one with the latest committed transaction, the others
 * are wiped by SST to its older state and committed transactions are lost.
 *
 * Flow for the `ha-gen recover galera <spec>` command (which imports this module):
 *   1. run `GALERA_RECOVER_SCRIPT report` on every controller and parse each stdout with
 *      parseRecoveryReport (a node that cannot report yields `undefined`);
 *   2. chooseBootstrapNode(reports in spec order);
 *   3. "bootstrap": run `… bootstrap` on `node`, then `… join` on each of `join`, one at a time;
 *      "join": some node already runs a Primary component, run `… join` on each of `join`, one at a
 *      time; "refuse": print `reason` and change nothing.
 */

/** On-demand script (all controllers) with the subcommands report | bootstrap | join. */
export const GALERA_RECOVER_ID = "galera-recover";
export const GALERA_RECOVER_SCRIPT = `${SCRIPT_DIR}/${GALERA_RECOVER_ID}.sh`;
/** Prefix of the one machine-readable line `report` prints. */
export const REPORT_PREFIX = "ha-gen:galera";
/** The UUID of a node that holds no Galera state at all. */
export const ZERO_UUID = "00000000-0000-0000-0000-000000000000";

/** What one controller's `report` says about its Galera state. */
export interface GaleraReport {
  readonly node: string;
  /** Cluster state UUID (from the running server, grastate.dat, or `--wsrep-recover`). */
  readonly uuid: string;
  /** Last committed seqno; -1 when no position could be recovered. */
  readonly seqno: number;
  readonly safeToBootstrap: boolean;
  /** mariadbd answers on this node. */
  readonly running: boolean;
  /** wsrep_cluster_status while running (Primary, non-Primary, Disconnected), else "stopped". */
  readonly state: string;
}

/** A node's Galera report cannot be read: recovery cannot decide safely, exit 1. */
export class GaleraReportError extends HaGenError {
  readonly code = "GALERA_REPORT";
  constructor(message: string) {
    super(message, 1);
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const FIELDS = ["node", "uuid", "seqno", "safe_to_bootstrap", "running", "state"] as const;

/**
 * Parses the output of `galera-recover.sh report`: exactly one line starting with `ha-gen:galera `
 * (other lines, such as an SSH banner, are ignored), with every field exactly once:
 * `ha-gen:galera node=controller01 uuid=<uuid> seqno=<n> safe_to_bootstrap=<0|1> running=<yes|no> state=<word>`.
 * Throws GaleraReportError on anything else: a half-read report must never drive a bootstrap.
 */
export function parseRecoveryReport(line: string): GaleraReport {
  const lines = line.split(/\r?\n/).filter((l) => l.startsWith(`${REPORT_PREFIX} `));
  if (lines.length !== 1)
    throw new GaleraReportError(`expected exactly one "${REPORT_PREFIX}" line, found ${lines.length}`);
  const fields = new Map<string, string>();
  for (const token of lines[0]!
    .slice(REPORT_PREFIX.length + 1)
    .trim()
    .split(/\s+/)) {
    const eq = token.indexOf("=");
    if (eq <= 0) throw new GaleraReportError(`malformed field "${token}"`);
    const key = token.slice(0, eq);
    if (!(FIELDS as readonly string[]).includes(key)) throw new GaleraReportError(`unknown field "${key}"`);
    if (fields.has(key)) throw new GaleraReportError(`field "${key}" appears twice`);
    fields.set(key, token.slice(eq + 1));
  }
  for (const f of FIELDS) if (!fields.has(f)) throw new GaleraReportError(`field "${f}" is missing`);
  const get = (k: (typeof FIELDS)[number]) => fields.get(k)!;
  const node = get("node");
  if (node === "") throw new GaleraReportError("node is empty");
  const uuid = get("uuid");
  if (!UUID_RE.test(uuid)) throw new GaleraReportError(`uuid "${uuid}" is not a lower-case UUID`);
  const seqnoText = get("seqno");
  if (!/^(-1|0|[1-9][0-9]*)$/.test(seqnoText))
    throw new GaleraReportError(`seqno "${seqnoText}" is not an integer ≥ -1`);
  const seqno = Number(seqnoText);
  if (!Number.isSafeInteger(seqno)) throw new GaleraReportError(`seqno "${seqnoText}" is too large`);
  const safe = get("safe_to_bootstrap");
  if (safe !== "0" && safe !== "1") throw new GaleraReportError(`safe_to_bootstrap "${safe}" is not 0 or 1`);
  const running = get("running");
  if (running !== "yes" && running !== "no") throw new GaleraReportError(`running "${running}" is not yes or no`);
  const state = get("state");
  if (!/^[A-Za-z][A-Za-z-]*$/.test(state)) throw new GaleraReportError(`state "${state}" is not a word`);
  return { node, uuid, seqno, safeToBootstrap: safe === "1", running: running === "yes", state };
}

/** One controller, in spec order, with its parsed report or undefined when it gave none. */
export interface NodeReport {
  readonly node: string;
  readonly report: GaleraReport | undefined;
}

/** What {@link recoverGalera} does after reading every controller's report. */
export type RecoveryDecision =
  /** No node runs a Primary component: bootstrap `node`, then join `join` one at a time. */
  | { readonly action: "bootstrap"; readonly node: string; readonly join: readonly string[]; readonly reason: string }
  /** A Primary component already runs (on `primary`): no bootstrap, join `join` one at a time. */
  | { readonly action: "join"; readonly primary: string; readonly join: readonly string[]; readonly reason: string }
  /** Nothing is safe to do automatically. */
  | { readonly action: "refuse"; readonly reason: string };

const isPrimary = (r: GaleraReport) => r.running && r.state === "Primary";

/**
 * Decides which node (if any) may bootstrap after a full outage. Refuses when a controller did
 * not report, when a report names another node than asked, when the nodes hold different cluster
 * UUIDs (two clusters: merging them loses data), or when a node with cluster state has no
 * recoverable position. A node reporting the zero UUID holds no Galera state and only joins.
 * Otherwise the node with the highest seqno bootstraps; ties go to safe_to_bootstrap: 1 (the
 * node that left last, cleanly), then spec order. When a node already runs a Primary component,
 * nothing bootstraps: the others join it.
 */
export function chooseBootstrapNode(reports: readonly NodeReport[]): RecoveryDecision {
  if (reports.length === 0) return { action: "refuse", reason: "no controllers given" };
  const missing = reports.filter((r) => r.report === undefined).map((r) => r.node);
  if (missing.length > 0) {
    return {
      action: "refuse",
      reason: `no report from ${missing.join(", ")}: every controller must report before choosing a bootstrap node`,
    };
  }
  const all = reports.map((r) => ({ node: r.node, report: r.report! }));
  const mismatch = all.find((r) => r.report.node !== r.node);
  if (mismatch)
    return {
      action: "refuse",
      reason: `the report asked from ${mismatch.node} says it comes from ${mismatch.report.node}`,
    };

  const withState = all.filter((r) => r.report.uuid !== ZERO_UUID);
  const uuids = [...new Set(withState.map((r) => r.report.uuid))];
  if (uuids.length > 1) {
    const detail = withState.map((r) => `${r.node}=${r.report.uuid}`).join(", ");
    return {
      action: "refuse",
      reason:
        `the controllers hold different Galera cluster UUIDs (${detail}): ` +
        `they are not one cluster; resolve by hand`,
    };
  }

  const primary = all.find((r) => isPrimary(r.report));
  if (primary) {
    const join = all.filter((r) => !isPrimary(r.report)).map((r) => r.node);
    return {
      action: "join",
      primary: primary.node,
      join,
      reason: `${primary.node} already runs a Primary component: no bootstrap, the others join it`,
    };
  }

  if (withState.length === 0) {
    return {
      action: "refuse",
      reason: "no controller holds Galera cluster state: this is a new cluster, deploy it instead of recovering",
    };
  }
  const unknown = withState.filter((r) => r.report.seqno < 0).map((r) => r.node);
  if (unknown.length > 0) {
    return {
      action: "refuse",
      reason:
        `no recoverable position (seqno -1) on ${unknown.join(", ")}: ` +
        `the node with the latest transaction cannot be determined`,
    };
  }
  // Stable sort keeps spec order for full ties.
  const ranked = [...withState].sort(
    (a, b) => b.report.seqno - a.report.seqno || Number(b.report.safeToBootstrap) - Number(a.report.safeToBootstrap),
  );
  const chosen = ranked[0]!;
  const join = all.filter((r) => r.node !== chosen.node).map((r) => r.node);
  const why =
    ranked.length > 1 && ranked[1]!.report.seqno === chosen.report.seqno
      ? chosen.report.safeToBootstrap && !ranked[1]!.report.safeToBootstrap
        ? " (tie on seqno; safe_to_bootstrap: 1)"
        : " (tie; first in spec order)"
      : "";
  return {
    action: "bootstrap",
    node: chosen.node,
    join,
    reason: `${chosen.node} has the highest seqno ${chosen.report.seqno} of cluster ${chosen.report.uuid}${why}`,
  };
}
