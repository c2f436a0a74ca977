import { SshTransport, status } from "../../../deploy/index.js";
import { reportJson } from "../../core/formats.js";
import { printErr, printOut } from "../output.js";
import { defaultSecretsPath, prepare } from "../pipeline.js";
import { formatStatus } from "../report-view.js";
import { printWarnings, type Command } from "./common.js";
import { cliOptions, list, numbers, sshTransportOptions, type DeployCliOptions } from "../ssh-options.js";
import { statusSpec } from "./specs.js";

/** `ha-gen status SPEC`: deploy/status.ts over the SSH transport; exit 0 healthy, 1 degraded, 2 cannot tell. */

const EXIT = { healthy: 0, degraded: 1, unknown: 2 } as const;

async function run(spec: string, o: DeployCliOptions): Promise<number> {
  const n = numbers(o);
  const secretsPath = o.secrets ?? defaultSecretsPath(spec);
  // Read-only: secrets the file lacks are not generated or saved; files holding them are not compared.
  const p = await prepare({ specPath: spec, secretsPath, saveSecrets: () => undefined });
  printWarnings(p.warnings);
  let artifacts = p.rendered.artifacts;
  if (p.generatedSecrets.length > 0) {
    printErr(
      `warning: ${secretsPath} lacks ${p.generatedSecrets.join(", ")}: files holding secrets are not compared\n`,
    );
    artifacts = artifacts.filter((a) => !a.secret);
  }
  const addresses = new Map(p.cluster.nodes.map((x) => [x.hostname, x.addresses.management] as const));
  const common = await sshTransportOptions({ addresses }, o, n, (e) => {
    if (e.type === "warning") printErr(`warning: ${e.message}\n`);
    if (e.type === "host-key-accepted") printErr(`${e.name}: trusted new ${e.keyType} host key ${e.fingerprint}\n`);
  });
  const nodes = list(o.nodes);
  const r = await status({
    cluster: p.cluster,
    artifacts,
    transport: new SshTransport(common),
    secrets: Object.values(p.cluster.secrets),
    concurrency: n.concurrency,
    ...(nodes ? { nodes } : {}),
  });
  printOut(o.json ? reportJson(r) : formatStatus(r));
  return EXIT[r.health];
}

export const statusCommand: Command = {
  spec: statusSpec,
  run: ([spec], opts) => run(spec!, cliOptions(opts)),
};
