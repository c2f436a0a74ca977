import { preflight, SshTransport, type PreflightReport } from "../../../deploy/index.js";
import { UsageError } from "../../core/errors.js";
import { PREFLIGHT_CHECKS, reportJson, type PreflightCheckName } from "../../core/formats.js";
import type { Cluster } from "../../core/model.js";
import { printErr, printOut } from "../output.js";
import { prepare } from "../pipeline.js";
import { formatPreflight } from "../report-view.js";
import { printWarnings, type Command } from "./common.js";
import { cliOptions, list, numbers, sshTransportOptions, type DeployCliOptions } from "../ssh-options.js";
import { preflightSpec } from "./specs.js";

/** `ha-gen preflight SPEC`: deploy/preflight.ts over the SSH transport; exit 0 pass, 1 a check failed. */

export interface PreflightCliOptions extends DeployCliOptions {
  readonly skip?: string;
}

function skipList(v: string | undefined): PreflightCheckName[] {
  const names = list(v) ?? [];
  for (const n of names) {
    if (!(PREFLIGHT_CHECKS as readonly string[]).includes(n) || n === "connect") {
      throw new UsageError(
        `--skip: unknown check "${n.slice(0, 40)}" (known: ${PREFLIGHT_CHECKS.slice(1).join(", ")})`,
      );
    }
  }
  return names as PreflightCheckName[];
}

/** Runs preflight on `cluster` with the command line's SSH settings; used by `deploy` too. */
export async function runPreflight(
  cluster: Cluster,
  o: PreflightCliOptions,
  skip: readonly PreflightCheckName[],
): Promise<PreflightReport> {
  const n = numbers(o);
  const addresses = new Map(cluster.nodes.map((x) => [x.hostname, x.addresses.management] as const));
  const common = await sshTransportOptions({ addresses }, o, n, (e) => {
    if (e.type === "warning") printErr(`warning: ${e.message}\n`);
    if (e.type === "host-key-accepted") printErr(`${e.name}: trusted new ${e.keyType} host key ${e.fingerprint}\n`);
  });
  const nodes = list(o.nodes);
  return preflight({
    cluster,
    transport: new SshTransport(common),
    skip,
    concurrency: n.concurrency,
    ...(nodes ? { nodes } : {}),
  });
}

export function printPreflight(r: PreflightReport, json: boolean): void {
  printOut(json ? reportJson(r) : formatPreflight(r));
}

async function run(spec: string, o: PreflightCliOptions): Promise<number> {
  const skip = skipList(o.skip);
  numbers(o);
  // The checks need no secret: the spec alone (placeholders stand in for the secrets file).
  const p = await prepare({ specPath: spec });
  printWarnings(p.warnings);
  const r = await runPreflight(p.cluster, o, skip);
  printPreflight(r, o.json ?? false);
  return r.ok ? 0 : 1;
}

export const preflightCommand: Command = {
  spec: preflightSpec,
  run: ([spec], opts) => run(spec!, { ...cliOptions(opts), skip: opts.skip as string | undefined }),
};
