import type { Artifact, Plan, PlanStep, Rendered } from "../src/core/artifact.js";

export type { Plan, Rendered };
import type { Cluster } from "../src/core/model.js";
import { GENERATORS } from "./registry.js";

/** Pure: the resolved cluster in, every artifact and the ordered plan out. */
export function synthesize(cluster: Cluster): Rendered {
  const artifacts: Artifact[] = [];
  const steps: PlanStep[] = [];
  for (const g of GENERATORS) {
    const out = g.generate(cluster);
    artifacts.push(...out.artifacts);
    steps.push(...out.steps);
  }
  const nodeOrder = new Map(cluster.nodes.map((n, i) => [n.hostname, i]));
  const seen = new Map<string, string>();
  for (const a of artifacts) {
    const key = `${a.node}:${a.path}`;
    const prev = seen.get(key);
    if (prev) throw new Error(`internal: ${key} produced by both ${prev} and ${a.family}`);
    seen.set(key, a.family);
  }
  const stepIds = new Set<string>();
  for (const s of steps) {
    if (stepIds.has(s.id)) throw new Error(`internal: duplicate step id ${s.id}`);
    stepIds.add(s.id);
  }
  artifacts.sort(
    (a, b) => nodeOrder.get(a.node)! - nodeOrder.get(b.node)! || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
  );
  return { artifacts, plan: { cluster: cluster.spec.name, os: cluster.os.id, steps } };
}
