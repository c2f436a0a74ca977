import { MARKER, type GaleraBootstrapGuard, type PacemakerClusterGuard } from "../src/core/artifact.js";
import { renderTemplate } from "../src/core/template.js";
import authorizedKeyTpl from "./templates/authorized-key.sh.njk";
import deployLockTpl from "./templates/deploy-lock.sh.njk";
import galeraProbeTpl from "./templates/galera-probe.sh.njk";
import inspectTpl from "./templates/inspect.sh.njk";
import installTpl from "./templates/install.sh.njk";
import pacemakerProbeTpl from "./templates/pacemaker-probe.sh.njk";
import preflightTpl from "./templates/preflight.sh.njk";
import resolveIdsTpl from "./templates/resolve-ids.sh.njk";
import stageDirTpl from "./templates/stage-dir.sh.njk";
import statusTpl from "./templates/status.sh.njk";

/**
 * The shell ha-gen itself runs on a node (the plan's step scripts aside), rendered from
 * deploy/templates with the generators' environment: every value goes through its quoting filter.
 * Per-call values (paths, owners, the --root prefix) are passed as arguments or on stdin instead.
 */

export function galeraProbe(p: GaleraBootstrapGuard["probe"]): string {
  return renderTemplate("deploy/galera-probe.sh", galeraProbeTpl, p);
}

export function pacemakerProbe(p: PacemakerClusterGuard["probe"]): string {
  return renderTemplate("deploy/pacemaker-probe.sh", pacemakerProbeTpl, p);
}

function resolveIds(): string {
  return renderTemplate("deploy/resolve-ids.sh", resolveIdsTpl, {});
}

/** remote-fs inspect: `bash -c SCRIPT NAME clean|keep mkdir|no ROOT`, paths on stdin. */
export function inspectScript(tmpMark: string): string {
  return renderTemplate("deploy/inspect.sh", inspectTpl, { tmpMark, resolveIds: resolveIds() });
}

/** Suffix of the copy kept of a file ha-gen replaces without having written it. */
export const ORIGINAL_SUFFIX = ".ha-gen-orig";

/** remote-fs install: `bash -c SCRIPT NAME ROOT`, files on stdin. */
export function installScript(tmpMark: string): string {
  const context = { tmpMark, marker: MARKER, origSuffix: ORIGINAL_SUFFIX, resolveIds: resolveIds() };
  return renderTemplate("deploy/install.sh", installTpl, context);
}

/** Run by the login user (not root): prints a new private staging directory. */
export function stageDirCommand(): string {
  return renderTemplate("deploy/stage-dir.sh", stageDirTpl, {});
}

/** `sh -c SCRIPT` as the login user, the key on stdin: prints added or present. */
export function authorizedKeyScript(): string {
  return renderTemplate("deploy/authorized-key.sh", authorizedKeyTpl, {});
}

/** The per-node deploy lock: `bash -c SCRIPT NAME hold LOCK RUN HOST USER` or `... check LOCK` (lock.ts). */
export function deployLockScript(): string {
  return renderTemplate("deploy/deploy-lock.sh", deployLockTpl, {});
}

export interface PreflightScriptContext {
  readonly vip: string;
  readonly vipInterface: string;
  /** 1: probe the VIP by ARP from this node. */
  readonly arp: 0 | 1;
  /** 1: check the package repositories answer. */
  readonly repos: 0 | 1;
  readonly packageManager: "dnf" | "apt";
  /** A repository base URL from the spec (CentOS); empty: read the node's own sources. */
  readonly mirror: string;
  /** Names whose resolution is checked. */
  readonly hosts: readonly string[];
  /** Data directories whose file system's free space is reported. */
  readonly dirs: readonly string[];
}

/** `ha-gen preflight`'s fact gatherer (read-only): `bash -c SCRIPT`, facts on stdout (preflight.ts). */
export function preflightScript(c: PreflightScriptContext): string {
  return renderTemplate("deploy/preflight.sh", preflightTpl, c);
}

export interface StatusScriptContext {
  readonly address: string;
  readonly secretsEnv: string;
  readonly rootPasswordVar: string;
  readonly clustercheckPort: number;
  readonly memcachedPort: number;
  readonly etcdEndpoint: string;
  readonly statsSocket: string;
  /** 1: also count RabbitMQ's queues (asked on one node only: it is the cluster's count). */
  readonly queues: 0 | 1;
  readonly rabbitUser: string;
  readonly rabbitPasswordVar: string;
  /** RabbitMQ's management API port; 0 when the plugin is off (rabbitmqctl is asked instead). */
  readonly managementPort: number;
  readonly chronyService: string;
  /** 1: the node runs the clustered services (a controller). */
  readonly controller: 0 | 1;
}

/** `ha-gen status`'s per-node probe (read-only): `bash -c SCRIPT`, sections on stdout (status.ts). */
export function statusScript(c: StatusScriptContext): string {
  return renderTemplate("deploy/status.sh", statusTpl, c);
}
