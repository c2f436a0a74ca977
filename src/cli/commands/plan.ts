import { planJson, planMarkdown } from "../../core/formats.js";
import { printOut } from "../output.js";
import { prepare } from "../pipeline.js";
import { printWarnings, type Command } from "./common.js";
import { planSpec } from "./specs.js";

export const plan: Command = {
  spec: planSpec,
  async run([specPath], opts) {
    const p = await prepare({ specPath: specPath! });
    printWarnings(p.warnings);
    const { plan, artifacts } = p.rendered;
    printOut(opts.format === "json" ? planJson(plan) : planMarkdown(plan, artifacts));
    return 0;
  },
};
