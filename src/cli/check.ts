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

/** Load, validate and resolve without synthesizing (`ha-gen validate` needs no artifacts). */
export async function check(specPath: string): Promise<Omit<Prepared, "rendered" | "generatedSecrets">> {
  const { value } = await loadSpec(specPath);
  const v = validateSpec(value, { once: true });
  if (!v.ok) throw new SpecError(v.errors, v.warnings);
  return { cluster: resolveCluster(v.spec, PLACEHOLDER_SECRETS), warnings: v.warnings };
}
