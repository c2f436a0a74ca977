import { existsSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { manifestJson, planJson, planMarkdown } from "../src/core/formats.js";
import { EXAMPLES, renderExample, type ExampleName } from "./helpers/examples.js";

/**
 * File snapshots of every artifact of every example, named like the real files:
 * test/__snapshots__/files/<example>/<node>/<path on the node>. Reviewed by a person on every
 * change; CI never writes them (a missing snapshot fails).
 */
const ROOT = join(import.meta.dirname, "__snapshots__", "files");

function expectedFiles(name: ExampleName): string[] {
  const r = renderExample(name);
  return [...r.artifacts.map((a) => join(a.node, a.path)), "plan.json", "PLAN.md", "manifest.json"].sort();
}

function listed(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const rec = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }))
      (e.isDirectory() ? rec : (p: string) => out.push(relative(dir, p)))(join(d, e.name));
  };
  rec(dir);
  return out.sort();
}

for (const name of Object.keys(EXAMPLES) as ExampleName[]) {
  describe(`snapshots of ${name}`, () => {
    const r = renderExample(name);
    for (const a of r.artifacts) {
      it(`${a.node}${a.path}`, async () => {
        await expect(a.content).toMatchFileSnapshot(join(ROOT, name, a.node, a.path));
      });
    }
    it("plan.json, PLAN.md, manifest.json", async () => {
      await expect(planJson(r.plan, r.warnings)).toMatchFileSnapshot(join(ROOT, name, "plan.json"));
      await expect(planMarkdown(r.plan, r.artifacts, r.warnings)).toMatchFileSnapshot(join(ROOT, name, "PLAN.md"));
      await expect(manifestJson(r.artifacts)).toMatchFileSnapshot(join(ROOT, name, "manifest.json"));
    });
    it("has no snapshot file left over from an artifact that no longer exists", () => {
      const on = listed(join(ROOT, name));
      expect(on.filter((f) => !expectedFiles(name).includes(f))).toEqual([]);
    });
  });
}
