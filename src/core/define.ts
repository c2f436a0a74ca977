/**
 * `defineCluster` alone, with no runtime dependency: what the CLI gives a spec file that imports
 * `ha-gen`.
 *
 * @module ha-gen/define
 */
import type { ClusterSpecInput } from "./spec/schema.js";

/**
 * Identity helper that gives editor completion and type checking for a spec file:
 * `export default defineCluster({ ... })`. It lives alone (type-only imports), also as the
 * dependency-free `ha-gen/define` entry.
 */
export function defineCluster(spec: ClusterSpecInput): ClusterSpecInput {
  return spec;
}
