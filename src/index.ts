/**
 * Rendering: validate a spec, resolve its defaults and produce every node's files and the ordered
 * plan, in memory (no files, environment, clock or network). Rollout is `ha-gen/deploy`.
 *
 * @module ha-gen
 */
// The public API of ha-gen for rendering. Rollout is the subpath `ha-gen/deploy` (deploy/index.ts),
// so importing this module never loads SSH code. Everything not exported here is internal.
export { defineCluster } from "./core/define.js";
export { clusterSpecSchema, haproxyService as haproxyServiceSchema, ROLES, OS_TARGETS } from "./core/spec/schema.js";
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
export type {
  AppliedOverride,
  Artifact,
  ArtifactFormat,
  Plan,
  PlanStep,
  Rendered,
  RollPass,
  StepMode,
} from "./core/artifact.js";
export type { StepGuard, GuardKind, GaleraBootstrapGuard, PacemakerClusterGuard } from "./core/artifact.js";
export type { Cluster } from "./core/model.js";
export type { Ipv4Net } from "./core/net.js";
export type { OsProfile } from "./core/os.js";
export { resolveCluster } from "./core/model.js";
export { synthesize } from "../generators/synth.js";
export { renderCluster, type RenderResult } from "./render.js";
export { HaGenError, SpecError, InputError, UsageError, EnvironmentError, ConnectError } from "./core/errors.js";
export { SECRET_KEYS, fillSecrets, serializeSecrets } from "./core/secrets.js";
export type { SecretKey, Secrets, SecretsFileState, SecretIssue } from "./core/secrets.js";
export { planJson, manifestJson, planMarkdown } from "./core/formats.js";
