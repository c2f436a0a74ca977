import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The executable dist/cli.cjs and its V8 code cache: the cache only ever makes start-up faster,
 * never changes a result, and is kept where only this user can write.
 */

const CLI = join(import.meta.dirname, "../../dist/cli.cjs");
let work: string;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error("dist/cli.cjs missing: run `npm run build` (npm test does)");
  work = mkdtempSync(join(tmpdir(), "ha-gen-bin-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string | undefined>) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, XDG_CACHE_HOME: undefined, ...env }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const cacheFiles = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".v8")).sort() : []);
const validate = ["validate", "examples/train-ha/cluster.yaml"];

describe("code cache", () => {
  it("is written once per command (0600, in a 0700 directory) and reused without changing output", () => {
    const dir = join(work, "c1");
    const first = run(validate, { HA_GEN_CACHE_DIR: dir });
    expect(first.code).toBe(0);
    const files = cacheFiles(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^cli-[0-9a-f]{16}-v\d+\.\d+\.\d+-\w+-[0-9a-f]{8}-validate\.v8$/);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const file = join(dir, files[0]!);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const made = statSync(file).mtimeMs;
    const second = run(validate, { HA_GEN_CACHE_DIR: dir });
    expect(second).toEqual(first);
    expect(statSync(file).mtimeMs).toBe(made); // accepted by V8, so not rewritten
    // Help gets its own small cache, so a `render --help` cannot stand in for a render.
    expect(run(["render", "--help"], { HA_GEN_CACHE_DIR: dir }).code).toBe(0);
    expect(cacheFiles(dir).map((f) => f.replace(/.*-/, ""))).toEqual(["help.v8", "validate.v8"]);
  });

  it("a corrupt or foreign cache is never trusted: the result is the same and the file is rewritten", () => {
    const dir = join(work, "c2");
    const clean = run(validate, { HA_GEN_CACHE_DIR: "" });
    run(validate, { HA_GEN_CACHE_DIR: dir });
    const file = join(dir, cacheFiles(dir)[0]!);
    const size = statSync(file).size;
    writeFileSync(file, Buffer.alloc(size, 0x5a)); // same length, garbage: V8's header check rejects it
    expect(run(validate, { HA_GEN_CACHE_DIR: dir })).toEqual(clean);
    expect(readFileSync(file).equals(Buffer.alloc(size, 0x5a))).toBe(false);
    // Owned by another user: not read (and replaced by this user's own file).
    writeFileSync(file, "not a cache");
    chownSync(file, 65534, 65534);
    expect(run(validate, { HA_GEN_CACHE_DIR: dir })).toEqual(clean);
    expect(statSync(file).uid).toBe(process.getuid!());
  });

  it("is not used in a directory others can write to, nor when turned off", () => {
    const open = join(work, "c3");
    mkdirSync(open, { mode: 0o777 });
    chmodSync(open, 0o777);
    const clean = run(validate, { HA_GEN_CACHE_DIR: "" });
    expect(run(validate, { HA_GEN_CACHE_DIR: open })).toEqual(clean);
    expect(cacheFiles(open)).toEqual([]);
    const home = join(work, "home");
    mkdirSync(home);
    expect(run(validate, { HA_GEN_CACHE_DIR: "", HOME: home }).code).toBe(0);
    expect(existsSync(join(home, ".cache"))).toBe(false);
    // By default it goes to ~/.cache/ha-gen.
    expect(run(validate, { HA_GEN_CACHE_DIR: undefined, HOME: home }).code).toBe(0);
    expect(cacheFiles(join(home, ".cache/ha-gen"))).toHaveLength(1);
  });

  it("a failed run writes no cache; other builds' caches go when a week old, not sooner", () => {
    const dir = join(work, "c4");
    mkdirSync(dir, { mode: 0o700 });
    const stale = join(dir, "cli-0000000000000000-v20.0.0-x64-00000000-render.v8");
    const recent = join(dir, "cli-1111111111111111-v20.0.0-x64-00000000-render.v8");
    writeFileSync(stale, "old build", { mode: 0o600 });
    writeFileSync(recent, "another installed version", { mode: 0o600 });
    const eightDaysAgo = new Date(Date.now() - 8 * 24 * 3600 * 1000);
    utimesSync(stale, eightDaysAgo, eightDaysAgo);
    expect(run(["validate", join(work, "missing.yaml")], { HA_GEN_CACHE_DIR: dir }).code).toBe(2);
    expect(cacheFiles(dir)).toHaveLength(2);
    expect(run(validate, { HA_GEN_CACHE_DIR: dir }).code).toBe(0);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(recent)).toBe(true);
    expect(cacheFiles(dir)).toHaveLength(2);
  });
});
