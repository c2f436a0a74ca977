import { jsonDocument, jsonIssue, manifestJson, planJson, planMarkdown, RENDER_FORMAT } from "../../core/formats.js";
import {
  assertInputsOutside,
  assertReplaceable,
  lockOutput,
  tightenSecretsFile,
  type Replaceable,
  type TreeWrite,
  writeFailure,
  writeSecretsFile,
  writeTreeAtomic,
} from "../fsio.js";
import { loadSpec } from "../load.js";
import { printErr, printOut } from "../output.js";
import { defaultSecretsPath, prepare } from "../pipeline.js";
import { printWarnings, type Command } from "./common.js";
import { renderSpec } from "./specs.js";

export const render: Command = {
  spec: renderSpec,
  async run([spec], opts) {
    const specPath = spec!;
    const out = opts.out as string;
    const json = opts.json === true;
    const secretsPath = (opts.secrets as string | undefined) ?? defaultSecretsPath(specPath);
    // Every path is checked before anything is written, secrets included.
    const loaded = await loadSpec(specPath);
    assertInputsOutside(out, loaded.files, secretsPath);
    assertReplaceable(out, "shape");
    let lock: { release(): void } | undefined;
    let checked: Replaceable | undefined;
    try {
      const p = await prepare({
        specPath,
        secretsPath,
        loaded,
        onValid: () => {
          lock = lockOutput(out);
          checked = assertReplaceable(out); // in full, now that no other render can be changing it
        },
        saveSecrets: (path, text) => {
          try {
            writeSecretsFile(path, text);
          } catch (e) {
            throw writeFailure(e, `the secrets file ${path}`);
          }
        },
      });
      if (!json) printWarnings(p.warnings);
      if (tightenSecretsFile(secretsPath)) {
        printErr(`warning: ${secretsPath} was readable by others; its mode is now 0600\n`);
      }
      const { artifacts, plan } = p.rendered;
      let w: TreeWrite;
      try {
        w = writeTreeAtomic(
          out,
          artifacts,
          [
            { path: "plan.json", content: planJson(plan, p.warnings), mode: 0o644 },
            { path: "PLAN.md", content: planMarkdown(plan, artifacts, p.warnings), mode: 0o644 },
            { path: "manifest.json", content: manifestJson(artifacts), mode: 0o644 },
          ],
          checked,
        );
      } catch (e) {
        throw writeFailure(e, `--out ${out}`);
      }
      const secretFiles = artifacts.filter((a) => a.secret).length;
      if (json) {
        printOut(
          jsonDocument({
            format: RENDER_FORMAT,
            ok: true,
            out,
            nodes: p.cluster.nodes.map((n) => n.hostname),
            files: artifacts.length,
            steps: plan.steps.length,
            written: w.written,
            unchanged: w.unchanged,
            removed: w.removed,
            secretFiles,
            generatedSecrets: [...p.generatedSecrets],
            secretsFile: secretsPath,
            foreign: [...w.foreign],
            warnings: p.warnings.map(jsonIssue),
          }),
        );
        return 0;
      }
      if (w.foreign.length > 0) {
        printErr(
          `warning: ${out} holds ${w.foreign.length} file(s) no render wrote; ` +
            `left untouched: ${w.foreign.slice(0, 3).join(", ")}${w.foreign.length > 3 ? ", …" : ""}\n`,
        );
      }
      if (p.generatedSecrets.length > 0) {
        printErr(`generated ${p.generatedSecrets.length} secret(s) into ${secretsPath} (mode 0600)\n`);
      }
      const changes = `${w.written} written, ${w.unchanged} unchanged${w.removed > 0 ? `, ${w.removed} removed` : ""}`;
      printOut(
        `rendered ${artifacts.length} files for ${p.cluster.nodes.length} nodes and a ${plan.steps.length}-step plan ` +
          `into ${out} (${changes}; ${secretFiles} secret files, not world-readable)\n`,
      );
      return 0;
    } finally {
      lock?.release();
    }
  },
};
