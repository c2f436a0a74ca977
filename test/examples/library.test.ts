import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import lab from "../../examples/lab/cluster.ts";
import { renderCluster } from "../../src/render.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";

/**
 * examples/library/render.ts runs as a user runs it (a TypeScript runner, `ha-gen` resolved to the
 * built package through its exports), and what it prints agrees with a render of the same spec here.
 */
const REPO = join(import.meta.dirname, "../..");
const JITI = join(REPO, "node_modules/jiti/lib/jiti-cli.mjs");

describe("examples/library", () => {
  it("renders the lab cluster through the package and reports its files, listeners and plan", () => {
    if (!existsSync(join(REPO, "dist/index.js")))
      throw new Error("dist is missing: run `npm run build` (npm test does)");
    const r = spawnSync(process.execPath, [JITI, "examples/library/render.ts"], { cwd: REPO, encoding: "utf8" });
    expect(r.status).toBe(0);
    // The one warning the lab spec carries (no fencing) is acknowledged there: nothing on stderr.
    expect(r.stderr).toBe("");

    const { artifacts, plan, cluster } = renderCluster(lab, FAKE_SECRETS);
    const lines = r.stdout.split("\n");
    for (const n of cluster.nodes) {
      const files = artifacts.filter((a) => a.node === n.hostname);
      const secret = files.filter((a) => a.secret).length;
      expect(lines).toContain(`${n.hostname}: ${files.length} files, ${secret} of them secret (mode 0600 or 0640)`);
    }
    const vip = cluster.vip.address;
    const services = cluster.spec.haproxy.services.map((s) => `${s.name} ${vip}:${s.port}`);
    expect(lines).toContain(
      `HAProxy listeners: stats ${vip}:${cluster.spec.haproxy.stats.port}, ${services.join(", ")}`,
    );
    expect(lines).toContain(`plan: ${plan.steps.length} steps`);
    const steps = lines.slice(lines.indexOf(`plan: ${plan.steps.length} steps`) + 1).filter(Boolean);
    expect(steps).toEqual(plan.steps.map((s) => `  ${s.id} (${s.mode}) on ${s.nodes.join(", ")}`));
  });
});
