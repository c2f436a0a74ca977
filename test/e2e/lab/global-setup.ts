import { requireFreeSubnet, requireLabHost } from "./preflight.js";
import { acquireLab, releaseLab } from "./owner.js";
import { teardown } from "./teardown.js";

/**
 * Runs in vitest's main process: refuses early (root, Linux, tools, subnet), tears a previous
 * (crashed) lab down, and tears this one down after the run even when a test worker died.
 * HA_GEN_LAB_KEEP=1 leaves the lab running after the run for inspection (`lab down` removes it).
 */
export async function setup(): Promise<() => Promise<void>> {
  requireLabHost();
  requireFreeSubnet();
  acquireLab();
  await teardown();
  releaseLab();
  return async () => {
    if (process.env.HA_GEN_LAB_KEEP === "1") return;
    acquireLab();
    await teardown();
    releaseLab();
  };
}
