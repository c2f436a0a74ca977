import { resolveCluster } from "./model.js";
import type { Secrets } from "./secrets.js";
import { validateSpec, type SpecIssue } from "./spec/validate.js";
import { synthesize, type Rendered } from "./synth.js";
import { SpecError } from "./errors.js";

export { SpecError };

/** Validate, resolve defaults and synthesize: spec as written + secrets in, artifacts and plan out. Pure. */
export function renderCluster(input: unknown, secrets: Secrets): Rendered & { warnings: readonly SpecIssue[] } {
  const v = validateSpec(input);
  if (!v.ok) throw new SpecError(v.errors, v.warnings);
  return { ...synthesize(resolveCluster(v.spec, secrets)), warnings: v.warnings };
}
