import { printOut } from "../output.js";
import { check } from "../pipeline.js";
import { printWarnings, SPEC_ARG, type Command } from "./common.js";

export const validate: Command = {
  spec: { name: "validate", description: "check a spec and report every problem at once", args: SPEC_ARG },
  async run([specPath]) {
    const p = await check(specPath!);
    printWarnings(p.warnings);
    const c = p.cluster;
    printOut(`ok: ${c.nodes.length} nodes, ${c.controllers.length} controllers, VIP ${c.vip.address}/${c.vip.prefix}\n`);
    return 0;
  },
};
