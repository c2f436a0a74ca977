import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import module from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The executable: a plain ES module that turns on Node's own compile cache (Node >= 22.1) in a
 * directory only this user can write, then runs the CLI. The cache never changes a result.
 */

const CLI = join(import.meta.dirname, "../../dist/cli/bin.js");
const hasCompileCache = typeof (module as { enableCompileCache?: unknown }).enableCompileCache === "function";
let work: string;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error("dist/cli/bin.js missing: run `npm run build` (npm test does)");
  work = mkdtempSync(join(tmpdir(), "ha-gen-bin-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string | undefined>) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    env: { ...process.env, NODE_COMPILE_CACHE: undefined, ...env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const validate = ["validate", "examples/train-ha/cluster.yaml"];

describe("compile cache", () => {
  it.runIf(hasCompileCache)("lives in a 0700 directory under the user's cache home and never changes output", () => {
    const home = join(work, "c1");
    const first = run(validate, { XDG_CACHE_HOME: home });
    expect(first.code).toBe(0);
    const dir = join(home, "ha-gen", "compile-cache");
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir).length).toBeGreaterThan(0);
    expect(run(validate, { XDG_CACHE_HOME: home })).toEqual(first);
  });

  it.runIf(hasCompileCache)("is not used in a directory others can write to", () => {
    const home = join(work, "c2");
    const dir = join(home, "ha-gen", "compile-cache");
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777);
    const r = run(validate, { XDG_CACHE_HOME: home });
    expect(r.code).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });

  it.runIf(!hasCompileCache)("is not set up on a Node without module.enableCompileCache", () => {
    const home = join(work, "c3");
    expect(run(validate, { XDG_CACHE_HOME: home }).code).toBe(0);
    expect(existsSync(join(home, "ha-gen"))).toBe(false);
  });

  it("a relative XDG_CACHE_HOME is ignored (the XDG spec says so), and help runs", () => {
    const r = run(["--help"], { XDG_CACHE_HOME: "relative/dir" });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: ha-gen/);
    expect(existsSync("relative")).toBe(false);
  });
});
