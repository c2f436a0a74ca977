import type { Artifact, Plan, PlanStep, Rendered } from "../src/core/artifact.js";

export type { Plan, Rendered };
import { SpecError } from "../src/core/errors.js";
import type { Cluster } from "../src/core/model.js";
import { applyOverrides } from "../src/core/overrides.js";
import { GENERATORS } from "./registry.js";

/**
 * Pure: the resolved cluster in, every artifact and the ordered plan out. The spec's `overrides`
 * are applied last; one that names a file or node that does not exist throws SpecError (every such
 * problem at once).
 */
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
  const plan = { cluster: cluster.spec.name, os: cluster.os.id, steps };
  if (cluster.spec.overrides.length === 0) return { artifacts, plan };
  const o = applyOverrides(artifacts, cluster.spec.overrides, [...nodeOrder.keys()]);
  if (o.issues.length > 0) throw new SpecError(o.issues, []);
  return { artifacts: o.artifacts, plan: { ...plan, overrides: o.applied } };
}
