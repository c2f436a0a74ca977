// The public API of ha-gen. Everything not exported here is internal.
export { defineCluster } from "./define.js";
export { clusterSpecSchema } from "./spec/schema.js";
export type { ClusterSpec, ClusterSpecInput, NodeSpec, Role, OsTarget, HaproxyService } from "./spec/schema.js";
export { validateSpec, formatIssue, type ValidateOptions } from "./spec/validate.js";
export type { SpecIssue, ValidationResult } from "./spec/validate.js";
export type { Artifact, PlanStep, StepMode } from "./artifact.js";
export type { Cluster } from "./model.js";
export { resolveCluster } from "./model.js";
export { synthesize } from "./synth.js";
export type { Plan, Rendered } from "./synth.js";
export { renderCluster, SpecError } from "./render.js";
export { SECRET_KEYS, fillSecrets, serializeSecrets } from "./secrets.js";
export type { SecretKey, Secrets } from "./secrets.js";
// Deploy (deploy/README.md): the rollout over any Transport, and the SSH transport with its helpers.
export { deploy, DeployUsageError } from "../deploy/deploy.js";
export type { DeployOptions, DeployResult, NodeStepResult } from "../deploy/deploy.js";
export type { DeployEvent, FileChange } from "../deploy/events.js";
export { ConnectError } from "../deploy/transport.js";
export type { Transport, Connection, ExecOptions, ExecResult } from "../deploy/transport.js";
export { SshTransport, installAuthorizedKey } from "../deploy/ssh-transport.js";
export type { SshTransportOptions } from "../deploy/ssh-transport.js";
export { KnownHostsFile } from "../deploy/known-hosts.js";
export { loadSshConfig, parseSshConfig, resolveSshHost } from "../deploy/ssh-config.js";
export type { SshConfig, SshHostConfig } from "../deploy/ssh-config.js";
export { recoverGalera } from "../deploy/recover.js";
export type { RecoverGaleraOptions, RecoverGaleraResult } from "../deploy/recover.js";
