import { planJson, planMarkdown } from "../../core/formats.js";
import { printErr, printOut } from "../output.js";
import { prepare } from "../pipeline.js";
import { printWarnings, type Command } from "./common.js";
import { planSpec } from "./specs.js";

export const plan: Command = {
  spec: planSpec,
  async run([specPath], opts) {
    // `--format json` predates the one `--json` of every command; it stays as an alias for a while.
    if (opts.format === "json" && opts.json !== true)
      printErr("warning: `plan --format json` is deprecated and will be removed: use `plan --json`\n");
    const json = opts.json === true || opts.format === "json";
    const p = await prepare({ specPath: specPath! });
    // plan.json lists the warnings itself; the terminal shows those not acknowledged.
    if (!json) printWarnings(p.warnings);
    const { plan, artifacts } = p.rendered;
    printOut(json ? planJson(plan, p.warnings) : planMarkdown(plan, artifacts, p.warnings));
    return 0;
  },
};
