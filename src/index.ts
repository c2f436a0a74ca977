// The public API of ha-gen for rendering. Rollout is the subpath `ha-gen/deploy` (deploy/index.ts),
// so importing this module never loads SSH code. Everything not exported here is internal.
export { defineCluster } from "./core/define.js";
export { clusterSpecSchema } from "./core/spec/schema.js";
export type {
  ClusterSpec,
  ClusterSpecInput,
  NodeSpec,
  Role,
  OsTarget,
  HaproxyService,
  HaproxyServiceInput,
} from "./core/spec/schema.js";
export { defaultServices, withServices, type ServiceChanges } from "./core/spec/services.js";
export { validateSpec, formatIssue, type ValidateOptions } from "./core/spec/validate.js";
export type { SpecIssue, ValidationResult } from "./core/spec/validate.js";
export type { Artifact, Plan, PlanStep, Rendered, StepMode } from "./core/artifact.js";
export type { StepGuard, GuardKind, GaleraBootstrapGuard, PacemakerClusterGuard } from "./core/artifact.js";
export type { Cluster } from "./core/model.js";
export { resolveCluster } from "./core/model.js";
export { synthesize } from "../generators/synth.js";
export { renderCluster, type RenderResult } from "./render.js";
export { HaGenError, SpecError, InputError, UsageError, EnvironmentError, ConnectError } from "./core/errors.js";
export { SECRET_KEYS, fillSecrets, serializeSecrets } from "./core/secrets.js";
export type { SecretKey, Secrets, SecretsFileState } from "./core/secrets.js";
export { planJson, manifestJson, planMarkdown } from "./core/formats.js";
