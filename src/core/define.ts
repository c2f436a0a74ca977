/**
 * `defineCluster` alone, with no runtime dependency: what the CLI gives a spec file that imports
 * `ha-gen`.
 *
 * @module ha-gen/define
 */
import type { ClusterSpecInput } from "./spec/schema.js";

/**
 * Identity helper that gives editor completion and type checking for a spec file:
 * `export default defineCluster({ ... })`. It lives alone (type-only imports) so that loading a
 * spec file does not load the validator: the CLI resolves a spec's `import ... from "ha-gen"` here.
 */
export function defineCluster(spec: ClusterSpecInput): ClusterSpecInput {
  return spec;
}
