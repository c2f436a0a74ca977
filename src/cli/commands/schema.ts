import { specJsonSchema } from "../../core/json-schema.js";
import { printOut } from "../output.js";
import type { Command } from "./common.js";
import { schemaSpec } from "./specs.js";

export const schema: Command = {
  spec: schemaSpec,
  async run() {
    printOut(`${JSON.stringify(specJsonSchema(), null, 2)}\n`);
    return 0;
  },
};
