import { join, resolve } from "node:path";
import type { DeployEvent } from "../../../deploy/events.js";
import { LAB_SPEC, LIMITS, LOG_DIR, REPO, RUN_DIR } from "./config.js";
import { inLab, KNOWN_HOSTS, SSH_CONFIG } from "./exec.js";
import { runAsync, type Result } from "./proc.js";

/** Running the ha-gen CLI against the lab (inside the `lab` namespace), as an operator would. */

export const CLI = resolve(process.env.HA_GEN_CLI ?? join(REPO, "dist/cli/bin.js"));
export const SECRETS = join(RUN_DIR, "lab.secrets.yaml");

export interface HaGenRun {
  readonly result: Result;
  readonly events: DeployEvent[];
  readonly runEnd?: Extract<DeployEvent, { type: "run-end" }>;
}

let runSeq = 0;

/** `ha-gen ARGS…` inside the lab namespace; --json events parsed from stdout. */
export async function haGen(
  label: string,
  args: readonly string[],
  timeoutMs = LIMITS.deployMs,
  cli = CLI,
): Promise<HaGenRun> {
  const log = join(LOG_DIR, `ha-gen-${String(++runSeq).padStart(2, "0")}-${label}.log`);
  const result = await runAsync(inLab([process.execPath, cli, ...args]), {
    cwd: REPO,
    allowFail: true,
    timeoutMs,
    tee: log,
  });
  const events: DeployEvent[] = [];
  for (const line of result.stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      events.push(JSON.parse(line) as DeployEvent);
    } catch {
      // not an event
    }
  }
  const runEnd = events.find((e): e is Extract<DeployEvent, { type: "run-end" }> => e.type === "run-end");
  return { result, events, runEnd };
}

export const sshArgs = () => [
  "--ssh-config",
  SSH_CONFIG,
  "--known-hosts",
  KNOWN_HOSTS,
  "--secrets",
  SECRETS,
  "--no-agent",
];

/** `deploy` of `specPath` with the lab's SSH config, known_hosts and secrets, JSON events on. */
export function deployArgsFor(specPath: string, ...extra: string[]): string[] {
  return ["deploy", specPath, ...sshArgs(), "--log-dir", join(LOG_DIR, "deploy-runs"), "--json", ...extra];
}

export const deployArgs = (...extra: string[]) => deployArgsFor(LAB_SPEC, ...extra);

export function explain(r: HaGenRun): string {
  const tail = (s: string) => s.trimEnd().split("\n").slice(-30).join("\n");
  const failed = r.runEnd?.failed ? `\nfailed: ${JSON.stringify(r.runEnd.failed)}` : "";
  const errors = r.events
    .filter((e) => e.type === "error")
    .map((e) => JSON.stringify(e))
    .join("\n");
  const head = `exit ${r.result.status}${failed}${errors ? `\n${errors}` : ""}`;
  return `${head}\n--- stderr\n${tail(r.result.stderr)}\n--- stdout\n${tail(r.result.stdout)}`;
}

export function stepsStarted(r: HaGenRun): string[] {
  return r.events
    .filter((e): e is Extract<DeployEvent, { type: "step-start" }> => e.type === "step-start")
    .map((e) => e.step);
}

export function nodeChanges(r: HaGenRun): string[] {
  return r.events.flatMap((e) =>
    e.type === "node-step-end" && e.changes.length > 0 ? [`${e.step}@${e.node}: ${e.changes.join("; ")}`] : [],
  );
}
