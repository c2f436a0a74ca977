import type { GaleraBootstrapGuard, PacemakerClusterGuard } from "../src/core/artifact.js";
import { renderTemplate } from "../src/core/template.js";
import galeraProbeTpl from "./templates/galera-probe.sh.njk";
import pacemakerProbeTpl from "./templates/pacemaker-probe.sh.njk";

/**
 * The shell ha-gen itself runs on a node (the plan's step scripts aside), rendered from
 * deploy/templates with the generators' environment: every value goes through its quoting filter.
 */

export function galeraProbe(p: GaleraBootstrapGuard["probe"]): string {
  return renderTemplate("deploy/galera-probe.sh", galeraProbeTpl, p);
}

export function pacemakerProbe(p: PacemakerClusterGuard["probe"]): string {
  return renderTemplate("deploy/pacemaker-probe.sh", pacemakerProbeTpl, p);
}
