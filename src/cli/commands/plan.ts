import { planJson, planMarkdown } from "../../core/formats.js";
import { printOut } from "../output.js";
import { prepare } from "../pipeline.js";
import { printWarnings, SPEC_ARG, type Command } from "./common.js";

export const plan: Command = {
  spec: {
    name: "plan",
    description: "print the ordered rollout plan (no secrets needed, nothing written)",
    args: SPEC_ARG,
    options: [
      { long: "format", value: "format", choices: ["markdown", "json"], default: "markdown", description: "output format" },
    ],
  },
  async run([specPath], opts) {
    const p = await prepare({ specPath: specPath! });
    printWarnings(p.warnings);
    const { plan, artifacts } = p.rendered;
    printOut(opts.format === "json" ? planJson(plan) : planMarkdown(plan, artifacts));
    return 0;
  },
};
