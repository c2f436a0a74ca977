/**
 * Manual control of the container lab (root):
 *   npx jiti test/e2e/lab/cli.ts image [--rebuild]   build or look up the cached image
 *   npx jiti test/e2e/lab/cli.ts up                  image + network + 3 booted nodes (stays up)
 *   npx jiti test/e2e/lab/cli.ts down                idempotent teardown (also after a crashed run)
 *   npx jiti test/e2e/lab/cli.ts status              what exists now
 *   npx jiti test/e2e/lab/cli.ts ssh NODE [CMD…]     SSH into a node from the lab namespace
 */
import { spawnSync } from "node:child_process";
import { NODES } from "./config.js";
import { sshArgv } from "./exec.js";
import { ensureImage } from "./image.js";
import { labDown, labUp } from "./lab.js";
import { Figures } from "./metrics.js";
import { initPid, nspawnPid } from "./nodes.js";
import { acquireLab, releaseLab } from "./owner.js";
import { labBlockers } from "./preflight.js";
import { leftovers } from "./teardown.js";

const [cmd, ...args] = process.argv.slice(2);
const blockers = labBlockers();
if (blockers.length > 0 && cmd !== "status") {
  process.stderr.write(`cannot run the container lab:\n  - ${blockers.join("\n  - ")}\n`);
  process.exit(1);
}
const f = new Figures();
switch (cmd) {
  case "image": {
    const i = await ensureImage({ rebuild: args.includes("--rebuild") });
    process.stdout.write(
      `${i.dir} ${i.cached ? "(cached)" : `(built in ${Math.round(i.ms / 1000)} s)`}, ${i.manifest.sizeMiB} MiB\n`,
    );
    break;
  }
  case "up": {
    await labUp(f);
    // Leave it running for manual work; `down` cleans up. The owner file names a finished pid
    // now, so a later run is not blocked by it.
    releaseLab();
    process.stdout.write(`${f.report()}\n\nssh: ip netns exec lab ssh -F .lab/run/ssh_config controller01\n`);
    break;
  }
  case "down":
    acquireLab();
    await labDown(f);
    process.stdout.write(`${f.report()}\n`);
    break;
  case "status":
    for (const n of NODES) process.stdout.write(`${n.name}: nspawn ${nspawnPid(n) ?? "-"} init ${initPid(n) ?? "-"}\n`);
    process.stdout.write(`${JSON.stringify(leftovers(), null, 2)}\n`);
    break;
  case "ssh": {
    const [node, ...rest] = args;
    if (!node) throw new Error("usage: ssh NODE [CMD...]");
    const argv = sshArgv(node, rest.join(" "));
    process.exitCode =
      spawnSync(argv[0]!, rest.length ? argv.slice(1) : argv.slice(1, -1), { stdio: "inherit" }).status ?? 1;
    break;
  }
  default:
    process.stderr.write("usage: cli.ts image|up|down|status|ssh NODE [CMD…]\n");
    process.exitCode = 2;
}
