import { join } from "node:path";
import { EnvironmentError } from "../../core/errors.js";
import { createNewFile, writeFailure } from "../fsio.js";
import { printOut } from "../output.js";
import { SCAFFOLD, SCAFFOLD_FILE } from "../scaffold.js";
import type { Command } from "./common.js";
import { initSpec } from "./specs.js";

export const init: Command = {
  spec: initSpec,
  async run([dir]) {
    const path = join(dir ?? ".", SCAFFOLD_FILE);
    let created: boolean;
    try {
      created = createNewFile(path, SCAFFOLD, 0o644);
    } catch (e) {
      throw writeFailure(e, path);
    }
    if (!created) {
      throw new EnvironmentError(
        `${path} already exists: init never overwrites a file (move it or choose another dir)`,
      );
    }
    printOut(
      `wrote ${path}: edit it, then\n` +
        `  npx ha-gen validate ${path}\n` +
        `  npx ha-gen render ${path} --out rendered\n`,
    );
    return 0;
  },
};
