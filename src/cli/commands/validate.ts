import { printOut } from "../output.js";
import { check } from "../check.js";
import { printWarnings, type Command } from "./common.js";
import { validateSpec } from "./specs.js";

export const validate: Command = {
  spec: validateSpec,
  async run([specPath]) {
    const p = await check(specPath!);
    printWarnings(p.warnings);
    const c = p.cluster;
    const vip = `${c.vip.address}/${c.vip.prefix}`;
    printOut(`ok: ${c.nodes.length} nodes, ${c.controllers.length} controllers, VIP ${vip}\n`);
    return 0;
  },
};
