import { jsonDocument, jsonIssue, VALIDATE_FORMAT } from "../../core/formats.js";
import { printOut } from "../output.js";
import { check } from "../check.js";
import { printWarnings, type Command } from "./common.js";
import { validateSpec } from "./specs.js";

export const validate: Command = {
  spec: validateSpec,
  async run([specPath], opts) {
    const p = await check(specPath!);
    const c = p.cluster;
    const vip = `${c.vip.address}/${c.vip.prefix}`;
    if (opts.json === true) {
      printOut(
        jsonDocument({
          format: VALIDATE_FORMAT,
          ok: true,
          cluster: c.spec.name,
          os: c.spec.os,
          nodes: c.nodes.map((n) => n.hostname),
          controllers: c.controllers.map((n) => n.hostname),
          vip,
          warnings: p.warnings.map(jsonIssue),
        }),
      );
      return 0;
    }
    printWarnings(p.warnings);
    printOut(`ok: ${c.nodes.length} nodes, ${c.controllers.length} controllers, VIP ${vip}\n`);
    return 0;
  },
};
