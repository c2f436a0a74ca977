import { specJsonSchema } from "../../core/json-schema.js";
import { printOut } from "../output.js";
import type { Command } from "./common.js";

export const schema: Command = {
  spec: {
    name: "schema",
    description: "print the JSON Schema of a cluster spec (for editor completion in YAML specs)",
  },
  async run() {
    printOut(`${JSON.stringify(specJsonSchema(), null, 2)}\n`);
    return 0;
  },
};
