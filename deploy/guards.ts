import type { GuardKind, StepGuard } from "../src/core/artifact.js";
import { asRoot } from "./remote-fs.js";
import { galeraProbe, pacemakerProbe } from "./scripts.js";
import type { Connection } from "./transport.js";

/**
 * Defence in depth for the two irreversible steps of a rollout, checked over SSH by deploy itself
 * before the step runs (the step scripts check too). A guard only ever prevents a NEW cluster:
 *  - a Galera bootstrap (`galera_new_cluster`) while some node already runs a Primary component
 *    would split the cluster into two histories: when a Primary exists the step still runs (it
 *    restarts the first controller for a changed option file, starts it when stopped) with
 *    HA_GEN_CLUSTER_EXISTS=1, which makes it refuse to bootstrap whatever it sees itself; it is
 *    refused when a Galera node runs without being Primary (that needs `ha-gen recover galera`);
 *  - re-creating a pacemaker cluster (`pcs cluster setup`) destroys the existing configuration:
 *    when any node already belongs to a cluster the step still runs (it starts a cluster that is
 *    stopped everywhere) with HA_GEN_CLUSTER_EXISTS=1, which makes it refuse to set one up.
 * A step is guarded when its plan entry says so (PlanStep.guard, set by the generator that owns
 * the service, with the paths and port the probe reads), so plan.json carries its own safety.
 */

export interface GuardProbe {
  readonly node: string;
  readonly state: string;
}

export interface GuardDecision {
  readonly action: "run" | "skip" | "refuse";
  readonly reason: string;
  readonly probes: readonly GuardProbe[];
  /** Extra environment of the step's script when it runs. */
  readonly env?: Readonly<Record<string, string>>;
}

/** Tells a guarded step that its cluster exists: it may join or start it, never create one. */
export const CLUSTER_EXISTS_ENV = { HA_GEN_CLUSTER_EXISTS: "1" } as const;

/** The nodes a guarded step's probe asks: the whole plan step's nodes (not only --nodes) and the guard's. */
export function probeNodes(planStep: { readonly nodes: readonly string[] }, guard: StepGuard): string[] {
  return [...new Set([...planStep.nodes, ...guard.nodes])];
}

function probeScript(guard: StepGuard): string {
  switch (guard.kind) {
    case "galera-bootstrap":
      return galeraProbe(guard.probe);
    case "pacemaker-cluster":
      return pacemakerProbe(guard.probe);
  }
}

export async function probeGuard(
  guard: StepGuard,
  conns: ReadonlyMap<string, Connection>,
  nodes: readonly string[],
  timeoutMs: number,
): Promise<GuardProbe[]> {
  const script = probeScript(guard);
  return Promise.all(
    nodes.map(async (node) => {
      const conn = conns.get(node);
      if (!conn) return { node, state: "unreachable" };
      // A connection lost while asking is a node that cannot be asked: the decision refuses.
      const r = await conn.exec(asRoot(conn, ["bash", "-c", script]), { timeoutMs }).catch(() => undefined);
      if (!r) return { node, state: "unreachable" };
      return { node, state: r.code === 0 ? r.stdout.trim() || "unknown" : "unknown" };
    }),
  );
}

/** Pure: what to do with a guarded step given what the probes saw. */
export function decideGuard(kind: GuardKind, probes: readonly GuardProbe[]): GuardDecision {
  const on = (s: string) => probes.filter((p) => p.state === s).map((p) => p.node);
  const unsure = probes.filter((p) => p.state === "unknown" || p.state === "unreachable").map((p) => p.node);
  const decision = (action: GuardDecision["action"], reason: string): GuardDecision => ({ action, reason, probes });
  const existing = (reason: string): GuardDecision => ({ action: "run", reason, probes, env: CLUSTER_EXISTS_ENV });
  if (kind === "galera-bootstrap") {
    const primary = on("primary");
    const running = on("running");
    if (primary.length > 0) {
      return existing(`Galera already runs a Primary component (${primary.join(", ")}): the step may only join it`);
    }
    if (running.length > 0) {
      return decision(
        "refuse",
        `Galera runs on ${running.join(", ")} but is not Primary: bootstrapping now could split the cluster; ` +
          "recover it with `ha-gen recover galera`",
      );
    }
    if (unsure.length > 0) {
      return decision("refuse", `cannot tell whether Galera runs on ${unsure.join(", ")}: refusing to bootstrap`);
    }
    return decision("run", "no Galera node is running");
  }
  const members = [...on("member"), ...on("configured")];
  if (members.length > 0) {
    return existing(`a pacemaker cluster already exists (${members.join(", ")}): the step may only start it`);
  }
  if (unsure.length > 0) {
    return decision(
      "refuse",
      `cannot tell whether a pacemaker cluster exists on ${unsure.join(", ")}: refusing to create one`,
    );
  }
  return decision("run", "no pacemaker cluster exists");
}
