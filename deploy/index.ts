/**
 * Rollout over SSH: push rendered files, run the plan's steps, recover Galera after a full outage.
 * A separate entry so that importing `ha-gen` never loads ssh2.
 *
 * @module ha-gen/deploy
 */
// The public API for rollout, exported as `ha-gen/deploy`: importing `ha-gen` to render never loads ssh2.
export { deploy } from "./deploy.js";
export type { DeployOptions, DeployResult, NodeStepResult, RunnableStep } from "./deploy.js";
export type { DeployEvent, EventSink, FileChange, FileAction, GaleraReportLine } from "./events.js";
export type { Transport, Connection, ExecOptions, ExecResult, FileStat } from "./transport.js";
export { SshTransport, installAuthorizedKey } from "./ssh-transport.js";
export type { SshTransportOptions } from "./ssh-transport.js";
export { KnownHostsFile } from "./known-hosts.js";
export type { HostKeyVerdict } from "./known-hosts.js";
export { loadSshConfig, parseSshConfig, resolveSshHost, SshConfigError } from "./ssh-config.js";
export {
  parseSshG,
  resolveWithSshG,
  sshAvailable,
  sshRunner,
  type RunSsh,
  type SshGOptions,
  type SshRunResult,
} from "./ssh-g.js";
export type { SshConfig, SshConfigBlock, SshConfigEntry, SshHostConfig, JumpHost } from "./ssh-config.js";
export type { ParseOptions as SshConfigParseOptions, ResolveOptions as SshConfigResolveOptions } from "./ssh-config.js";
export { recoverGalera } from "./recover.js";
export type { RecoverGaleraOptions, RecoverGaleraResult } from "./recover.js";
export type { NodeReport, RecoveryDecision, GaleraReport } from "../src/core/galera-recovery.js";
export { newRunId } from "./run-log.js";
export { RemoteError } from "./remote-fs.js";
export { ConnectError, UsageError } from "../src/core/errors.js";
export { preflight, evaluatePreflight, DISK_NEED_KIB } from "./preflight.js";
export type { PreflightOptions, NodeFacts } from "./preflight.js";
export { status, evaluateStatus, healthOf } from "./status.js";
export type { StatusOptions, NodeAnswer } from "./status.js";
export type {
  PreflightReport,
  PreflightCheck,
  PreflightCheckName,
  StatusReport,
  StatusItem,
  StatusHealth,
} from "../src/core/formats.js";
export {
  parsePreflightReport,
  parseStatusReport,
  PREFLIGHT_CHECKS,
  preflightCheckSchema,
  preflightReportSchema,
  STATUS_HEALTH,
  statusItemSchema,
  statusReportSchema,
} from "../src/core/formats.js";
export type { RemoteFileState } from "./remote-fs.js";
