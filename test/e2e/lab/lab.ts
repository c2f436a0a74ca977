import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { LOG_DIR, NODES } from "./config.js";
import { ensureImage, type ImageInfo } from "./image.js";
import type { Figures } from "./metrics.js";
import { netUp } from "./net.js";
import { boot, makeNodes, waitForSsh } from "./nodes.js";
import { acquireLab, releaseLab } from "./owner.js";
import { requireFreeSubnet, requireLabHost } from "./preflight.js";
import { log } from "./proc.js";
import { teardown } from "./teardown.js";

/** From nothing to three booted nodes answering SSH with verified host keys. */
export async function labUp(f: Figures, opts: { rebuildImage?: boolean } = {}): Promise<ImageInfo> {
  requireLabHost();
  requireFreeSubnet();
  acquireLab();
  await f.time("teardown (before)", () => teardown());
  mkdirSync(LOG_DIR, { recursive: true });
  for (const e of readdirSync(LOG_DIR))
    if (!e.startsWith("image-")) rmSync(join(LOG_DIR, e), { recursive: true, force: true });
  log("lab up");
  const image = await f.time("image (cached lookup or build)", () => ensureImage({ rebuild: opts.rebuildImage }));
  if (!image.cached) {
    f.record("image: debootstrap", image.manifest.debootstrapMs);
    f.record("image: apt-get install", image.manifest.aptMs);
  }
  f.notes.image =
    `${image.dir} (${image.cached ? "cached" : "built now"}; built ${image.manifest.builtAt} ` +
    `in ${Math.round(image.manifest.totalMs / 1000)} s; ${image.manifest.sizeMiB} MiB, ` +
    `${Object.keys(image.manifest.versions).length} packages)`;
  await f.time("network namespaces", () => netUp());
  await f.time("node roots (overlay + identity)", () => makeNodes(image.dir));
  await f.time("boot to SSH (3 nodes)", async () => {
    for (const n of NODES) await boot(n);
    await Promise.all(NODES.map((n) => waitForSsh(n)));
  });
  return image;
}

export async function labDown(f?: Figures, opts: { keepState?: boolean } = {}): Promise<void> {
  const run = () => teardown(opts);
  if (f) await f.time("teardown (after)", run);
  else await run();
  releaseLab();
}
