import { SpecError } from "../core/errors.js";
import { resolveCluster } from "../core/model.js";
import { SECRET_KEYS, type Secrets } from "../core/secrets.js";
import { validateSpec } from "../core/spec/validate.js";
import { loadSpec } from "./load.js";
import type { Prepared } from "./pipeline.js";

// Apart from pipeline.ts, which imports every generator, so that `ha-gen validate` loads none.

/** Placeholder secrets for output that never contains secret values (plan, validate). */
export const PLACEHOLDER_SECRETS: Secrets = Object.fromEntries(
  SECRET_KEYS.map((k) => [k, k === "erlang_cookie" ? "PLACEHOLDERPLACEHOLDER" : "placeholder"]),
) as Secrets;

/** Load, validate and resolve; synthesize only to check the spec's overrides (`validate` needs no artifacts). */
export async function check(specPath: string): Promise<Omit<Prepared, "rendered" | "generatedSecrets">> {
  const { value } = await loadSpec(specPath);
  const v = validateSpec(value, { once: true });
  if (!v.ok) throw new SpecError(v.errors, v.warnings);
  const cluster = resolveCluster(v.spec, PLACEHOLDER_SECRETS);
  if (v.spec.overrides.length > 0) {
    // Whether an override's file exists is known only once the files are generated.
    const { synthesize } = await import("../../generators/synth.js");
    try {
      synthesize(cluster);
    } catch (e) {
      if (e instanceof SpecError) throw new SpecError(e.errors, v.warnings);
      throw e;
    }
  }
  return { cluster, warnings: v.warnings };
}
