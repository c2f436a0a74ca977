import type { Rendered } from "./core/artifact.js";
import { SpecError } from "./core/errors.js";
import { resolveCluster, type Cluster } from "./core/model.js";
import type { Secrets } from "./core/secrets.js";
import type { ClusterSpec } from "./core/spec/schema.js";
import { validateSpec, type SpecIssue } from "./core/spec/validate.js";
import { synthesize } from "../generators/synth.js";

/** What renderCluster returns: every artifact and the plan, plus the resolved cluster and the spec's warnings. */
export interface RenderResult extends Rendered {
  readonly cluster: Cluster;
  readonly warnings: readonly SpecIssue[];
}

/**
 * Validate, resolve defaults and synthesize: the spec as written and its secrets in, every artifact
 * and the ordered plan out. Pure. Throws SpecError (every problem, as data) for an invalid spec.
 *
 * `secrets` may be a function: it is called only once the spec is valid, with the validated spec,
 * so a caller that generates and saves secrets (the CLI does) writes nothing for an invalid spec.
 */
export function renderCluster(input: unknown, secrets: Secrets | ((spec: ClusterSpec) => Secrets)): RenderResult {
  const v = validateSpec(input, { once: true });
  if (!v.ok) throw new SpecError(v.errors, v.warnings);
  const cluster = resolveCluster(v.spec, typeof secrets === "function" ? secrets(v.spec) : secrets);
  try {
    return { ...synthesize(cluster), cluster, warnings: v.warnings };
  } catch (e) {
    // An override naming a file or node that does not exist: reported like any spec problem.
    if (e instanceof SpecError) throw new SpecError(e.errors, v.warnings);
    throw e;
  }
}
