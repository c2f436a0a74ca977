import { resolveCluster } from "./model.js";
import type { Secrets } from "./secrets.js";
import { validateSpec, type SpecIssue } from "./spec/validate.js";
import { synthesize, type Rendered } from "./synth.js";

/** Thrown by renderCluster for a spec that fails validation; carries every issue as data. */
export class SpecError extends Error {
  constructor(
    readonly errors: readonly SpecIssue[],
    readonly warnings: readonly SpecIssue[],
  ) {
    super(`invalid cluster spec: ${errors.length} problem(s)`);
    this.name = "SpecError";
  }
}

/** Validate, resolve defaults and synthesize: spec as written + secrets in, artifacts and plan out. Pure. */
export function renderCluster(input: unknown, secrets: Secrets): Rendered & { warnings: readonly SpecIssue[] } {
  const v = validateSpec(input);
  if (!v.ok) throw new SpecError(v.errors, v.warnings);
  return { ...synthesize(resolveCluster(v.spec, secrets)), warnings: v.warnings };
}
