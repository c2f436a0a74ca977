import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

/**
 * The container lab boots its cached image as root, so the cache must be the user's alone: in the
 * user's cache home (never the shared temporary directory), created 0700, refused when others can
 * write it.
 */
let base: string;
const saved = process.env.HA_GEN_LAB_CACHE;
beforeAll(() => {
  mkdirSync(join(import.meta.dirname, "../node_modules/.cache"), { recursive: true });
  base = mkdtempSync(join(import.meta.dirname, "../node_modules/.cache/ha-gen-lab-cache-"));
});
afterAll(() => {
  if (saved === undefined) delete process.env.HA_GEN_LAB_CACHE;
  else process.env.HA_GEN_LAB_CACHE = saved;
  rmSync(base, { recursive: true, force: true });
});

async function configWith(cache: string | undefined) {
  vi.resetModules();
  if (cache === undefined) delete process.env.HA_GEN_LAB_CACHE;
  else process.env.HA_GEN_LAB_CACHE = cache;
  return import("./e2e/lab/config.js");
}

describe("the lab's image cache", () => {
  it("defaults to the user's cache home, not a shared temporary directory", async () => {
    const { CACHE_DIR } = await configWith(undefined);
    expect(CACHE_DIR).toMatch(/\/ha-gen-lab$/);
    expect(CACHE_DIR).not.toMatch(/^\/(var\/)?tmp\//);
  });

  it("is created 0700, and refused once others can write it", async () => {
    const dir = join(base, "cache");
    const { ensureCacheDir } = await configWith(dir);
    expect(ensureCacheDir()).toBe(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    chmodSync(dir, 0o777);
    expect(() => ensureCacheDir()).toThrow(/writable by it alone \(found a directory of uid \d+, mode 777\)/);
    chmodSync(dir, 0o755);
    expect(ensureCacheDir()).toBe(dir);
  });
});
