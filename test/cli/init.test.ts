import { spawnSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCAFFOLD } from "../../src/cli/scaffold.js";

// `ha-gen init` through the built executable, as a user runs it.
const CLI = join(import.meta.dirname, "../../dist/cli/bin.js");
const cli = (args: string[], cwd: string) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

let work: string;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error("dist/cli/bin.js missing: run `npm run build` (npm test does)");
  work = mkdtempSync(join(tmpdir(), "ha-gen-init-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("ha-gen init", () => {
  it("writes a commented cluster.ts that validates and renders as written", () => {
    const dir = join(work, "fresh");
    mkdirSync(dir);
    const r = cli(["init"], dir);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote cluster\.ts/);
    const text = readFileSync(join(dir, "cluster.ts"), "utf8");
    expect(text).toBe(SCAFFOLD);
    expect(text).toMatch(/^\/\/ /); // commented
    expect(text).toContain('import { defineCluster } from "ha-gen";');
    expect(statSync(join(dir, "cluster.ts")).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir)).toEqual(["cluster.ts"]); // nothing else, no temporary left

    const v = cli(["validate", "cluster.ts"], dir);
    expect(v.code).toBe(0);
    expect(v.stdout).toBe("ok: 3 nodes, 3 controllers, VIP 198.51.100.10/24\n");
    const rendered = cli(["render", "cluster.ts", "--out", "rendered"], dir);
    expect(rendered.code).toBe(0);
    expect(rendered.stdout).toMatch(/^rendered \d+ files for 3 nodes/);
    expect(readFileSync(join(dir, "rendered/controller02/etc/hosts"), "utf8")).toContain("198.51.100.13 controller03");
    expect(statSync(join(dir, "cluster.secrets.yaml")).mode & 0o777).toBe(0o600);
  });

  it("creates the directory it is given", () => {
    const r = cli(["init", "a/b"], work);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote a\/b\/cluster\.ts/);
    expect(readFileSync(join(work, "a/b/cluster.ts"), "utf8")).toBe(SCAFFOLD);
  });

  it("never overwrites an existing file, not even through a dangling symlink", () => {
    const dir = join(work, "taken");
    mkdirSync(dir);
    writeFileSync(join(dir, "cluster.ts"), "// mine\n");
    const r = cli(["init", "taken"], work);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "error: taken/cluster.ts already exists: init never overwrites a file (move it or choose another dir)\n",
    );
    expect(readFileSync(join(dir, "cluster.ts"), "utf8")).toBe("// mine\n");
    expect(readdirSync(dir)).toEqual(["cluster.ts"]);

    const link = join(work, "link");
    mkdirSync(link);
    symlinkSync(join(work, "elsewhere.ts"), join(link, "cluster.ts"));
    const l = cli(["init"], link);
    expect(l.code).toBe(2);
    expect(l.stderr).toMatch(/^error: cluster\.ts already exists/);
    expect(existsSync(join(work, "elsewhere.ts"))).toBe(false);
    expect(lstatSync(join(link, "cluster.ts")).isSymbolicLink()).toBe(true);
    expect(readdirSync(link)).toEqual(["cluster.ts"]);
  });

  it("reports a directory it cannot create as one line, exit 2", () => {
    writeFileSync(join(work, "plain-file"), "");
    const r = cli(["init", "plain-file/sub"], work);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: cannot write plain-file\/sub\/cluster\.ts .*: (ENOTDIR|EEXIST)\n$/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
