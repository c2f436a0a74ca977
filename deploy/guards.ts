import type { PlanStep } from "../src/core/artifact.js";
import { asRoot } from "./remote-fs.js";
import type { Connection } from "./transport.js";

/**
 * Defence in depth for the two irreversible steps of a rollout, checked over SSH by deploy itself
 * before the step runs (the step scripts check too):
 *  - a Galera bootstrap (`galera_new_cluster`) while some node already runs a Primary component
 *    would split the cluster into two histories: the step is skipped when a Primary exists, and
 *    refused when a Galera node runs without being Primary (that needs `ha-gen recover galera`);
 *  - re-creating a pacemaker cluster (`pcs cluster setup`) destroys the existing configuration:
 *    the step is skipped when any node already belongs to a multi-node cluster.
 * Only step ids are matched, so this does not depend on any generator's details.
 */

export type GuardKind = "galera-bootstrap" | "pacemaker-cluster";

export function guardFor(step: PlanStep): GuardKind | undefined {
  if (step.id.includes("galera-bootstrap")) return "galera-bootstrap";
  if (step.id.includes("pacemaker-cluster")) return "pacemaker-cluster";
  return undefined;
}

// Prints one word: primary | running | none. Tries the unix-socket root login first (Debian),
// then the root password from ha-gen's secrets file via MYSQL_PWD (never argv).
const GALERA_PROBE = `
st=$(mysql -N -B -e "SHOW STATUS LIKE 'wsrep_cluster_status'" 2>/dev/null | awk '{print $2}')
if [ -z "$st" ] && [ -r /etc/ha-gen/secrets.env ]; then
  st=$( . /etc/ha-gen/secrets.env 2>/dev/null; MYSQL_PWD="\${MARIADB_ROOT_PASS:-}" mysql -uroot -N -B -e "SHOW STATUS LIKE 'wsrep_cluster_status'" 2>/dev/null | awk '{print $2}')
fi
if [ "$st" = Primary ]; then echo primary; exit 0; fi
if [ -n "$st" ]; then echo running; exit 0; fi
if command -v ss >/dev/null 2>&1 && ss -Hltn 'sport = :4567' 2>/dev/null | grep -q .; then echo running; exit 0; fi
echo none
`;

// Prints: member (in a running multi-node cluster) | configured (corosync.conf lists 2+ nodes) | none.
const PACEMAKER_PROBE = `
if command -v corosync-quorumtool >/dev/null 2>&1; then
  n=$(corosync-quorumtool -l 2>/dev/null | grep -cE '^[[:space:]]*[0-9]+[[:space:]]+[0-9]+' || true)
  if [ "\${n:-0}" -ge 2 ]; then echo member; exit 0; fi
fi
if [ -f /etc/corosync/corosync.conf ]; then
  n=$(grep -cE '^[[:space:]]*ring0_addr[[:space:]]*:' /etc/corosync/corosync.conf || true)
  if [ "\${n:-0}" -ge 2 ]; then echo configured; exit 0; fi
fi
echo none
`;

export interface GuardProbe {
  readonly node: string;
  readonly state: string;
}

export interface GuardDecision {
  readonly action: "run" | "skip" | "refuse";
  readonly reason: string;
  readonly probes: readonly GuardProbe[];
}

export async function probeGuard(kind: GuardKind, conns: ReadonlyMap<string, Connection>, nodes: readonly string[], timeoutMs: number): Promise<GuardProbe[]> {
  const script = kind === "galera-bootstrap" ? GALERA_PROBE : PACEMAKER_PROBE;
  return Promise.all(
    nodes.map(async (node) => {
      const conn = conns.get(node);
      if (!conn) return { node, state: "unreachable" };
      const r = await conn.exec(asRoot(conn, ["bash", "-c", script]), { timeoutMs });
      return { node, state: r.code === 0 ? r.stdout.trim() || "unknown" : "unknown" };
    }),
  );
}

/** Pure: what to do with a guarded step given what the probes saw. */
export function decideGuard(kind: GuardKind, probes: readonly GuardProbe[]): GuardDecision {
  const on = (s: string) => probes.filter((p) => p.state === s).map((p) => p.node);
  const unsure = probes.filter((p) => p.state === "unknown" || p.state === "unreachable").map((p) => p.node);
  if (kind === "galera-bootstrap") {
    if (on("primary").length > 0) return { action: "skip", reason: `Galera already runs a Primary component (${on("primary").join(", ")}): not bootstrapping again`, probes };
    if (on("running").length > 0) {
      return { action: "refuse", reason: `Galera runs on ${on("running").join(", ")} but is not Primary: bootstrapping now could split the cluster; recover it with \`ha-gen recover galera\``, probes };
    }
    if (unsure.length > 0) return { action: "refuse", reason: `cannot tell whether Galera runs on ${unsure.join(", ")}: refusing to bootstrap`, probes };
    return { action: "run", reason: "no Galera node is running", probes };
  }
  const existing = [...on("member"), ...on("configured")];
  if (existing.length > 0) return { action: "skip", reason: `a pacemaker cluster already exists (${existing.join(", ")}): not re-creating it`, probes };
  if (unsure.length > 0) return { action: "refuse", reason: `cannot tell whether a pacemaker cluster exists on ${unsure.join(", ")}: refusing to create one`, probes };
  return { action: "run", reason: "no pacemaker cluster exists", probes };
}
