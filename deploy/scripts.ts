import { MARKER, type GaleraBootstrapGuard, type PacemakerClusterGuard } from "../src/core/artifact.js";
import { renderTemplate } from "../src/core/template.js";
import authorizedKeyTpl from "./templates/authorized-key.sh.njk";
import deployLockTpl from "./templates/deploy-lock.sh.njk";
import galeraProbeTpl from "./templates/galera-probe.sh.njk";
import inspectTpl from "./templates/inspect.sh.njk";
import installTpl from "./templates/install.sh.njk";
import pacemakerProbeTpl from "./templates/pacemaker-probe.sh.njk";
import resolveIdsTpl from "./templates/resolve-ids.sh.njk";
import stageDirTpl from "./templates/stage-dir.sh.njk";

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
