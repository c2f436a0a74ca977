// The public API of ha-gen. Everything not exported here is internal.
export { defineCluster } from "./define.js";
export { clusterSpecSchema } from "./spec/schema.js";
export type { ClusterSpec, ClusterSpecInput, NodeSpec, Role, OsTarget, HaproxyService } from "./spec/schema.js";
export { validateSpec, formatIssue } from "./spec/validate.js";
export type { SpecIssue, ValidationResult } from "./spec/validate.js";
export type { Artifact, PlanStep, StepMode } from "./artifact.js";
export type { Cluster } from "./model.js";
export { resolveCluster } from "./model.js";
export { synthesize } from "./synth.js";
export type { Plan, Rendered } from "./synth.js";
export { renderCluster, SpecError } from "./render.js";
export { SECRET_KEYS, fillSecrets, serializeSecrets } from "./secrets.js";
export type { SecretKey, Secrets } from "./secrets.js";
