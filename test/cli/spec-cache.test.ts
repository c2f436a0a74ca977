import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isSelfContained } from "../../src/spec-cache.js";

/**
 * TypeScript specs in the CLI: compiled once, then evaluated from the user's cache without loading
 * jiti; every edit is seen; anything beyond a plain `import ... from "ha-gen"` still goes through jiti.
 */

const CLI = join(import.meta.dirname, "../../dist/cli.cjs");
const REPO = join(import.meta.dirname, "../..");
let work: string;
let cache: string;
let probe: string;

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error("dist/cli.cjs missing: run `npm run build` (npm test does)");
  work = mkdtempSync(join(tmpdir(), "ha-gen-specmod-"));
  cache = join(work, "cache");
  // Reports on stderr whether jiti was loaded in the process.
  probe = join(work, "probe.cjs");
  writeFileSync(probe, 'process.on("exit", () => process.stderr.write(`jiti loaded: ${Object.keys(require.cache).some((f) => f.includes("/jiti/"))}\\n`));\n');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function validate(spec: string) {
  const r = spawnSync(process.execPath, ["-r", probe, CLI, "validate", spec], { encoding: "utf8", env: { ...process.env, HA_GEN_CACHE_DIR: cache } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, jiti: /jiti loaded: true/.test(r.stderr) };
}
const entries = (kind: string) => (existsSync(cache) ? readdirSync(cache).filter((f) => f.startsWith(`${kind}-`)) : []);
const specEntries = () => entries("spec");
/** The path of the cache entry of this kind for a spec file, if any. */
const entryFor = (kind: string, file: string) => entries(kind).map((f) => join(cache, f)).find((f) => (JSON.parse(readFileSync(f, "utf8")) as { file: string }).file === file);

describe("spec modules in the CLI", () => {
  it("compiles a spec once, then evaluates it without jiti; an edit is picked up at once", () => {
    const spec = join(work, "cluster.ts");
    writeFileSync(spec, readFileSync(join(REPO, "examples/lab/cluster.ts"), "utf8"));
    const first = validate(spec);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe("ok: 3 nodes, 3 controllers, VIP 198.51.100.10/24\n");
    expect(first.jiti).toBe(true);
    expect(specEntries()).toHaveLength(1);
    expect(statSync(join(cache, specEntries()[0]!)).mode & 0o777).toBe(0o600);
    const second = validate(spec);
    expect([second.code, second.stdout, second.jiti]).toEqual([0, first.stdout, false]);
    // Same length, different VIP: the cached code must not stand in for the edited source.
    writeFileSync(spec, readFileSync(spec, "utf8").replace('vip: { address: "198.51.100.10" }', 'vip: { address: "198.51.100.20" }'));
    const edited = validate(spec);
    expect(edited.code, edited.stderr).toBe(0);
    expect(edited.stdout).toBe("ok: 3 nodes, 3 controllers, VIP 198.51.100.20/24\n");
  });

  it("a spec that imports its own modules still goes through jiti (remembered, so it is compiled once)", () => {
    const dir = join(work, "split");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "nodes.ts"), 'export const nodes = ["controller01", "controller02", "controller03"].map((hostname, i) => ({ hostname, roles: ["controller" as const], addresses: { management: `198.51.100.${11 + i}` } }));\n');
    writeFileSync(
      join(dir, "cluster.ts"),
      'import { defineCluster } from "ha-gen";\nimport { nodes } from "./nodes.ts";\nexport default defineCluster({ os: "debian12", networks: { management: { cidr: "198.51.100.0/24", interface: "eth0" } }, nodes, vip: { address: "198.51.100.10" }, ntp: { upstream: [], server: "controller01" } });\n',
    );
    const before = specEntries().length;
    for (let i = 0; i < 2; i++) {
      const r = validate(join(dir, "cluster.ts"));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe("ok: 3 nodes, 3 controllers, VIP 198.51.100.10/24\n");
      expect(r.jiti).toBe(true);
    }
    expect(specEntries()).toHaveLength(before + 1);
    const entry = JSON.parse(readFileSync(entryFor("spec", join(dir, "cluster.ts"))!, "utf8")) as { value: string | null };
    expect(entry.value).toBeNull();
  });

  it("a spec that throws is reported without a stack trace and not cached", () => {
    const spec = join(work, "throws.ts");
    writeFileSync(spec, 'import { defineCluster } from "ha-gen";\nthrow new Error("boom in spec");\nexport default defineCluster({} as never);\n');
    const before = specEntries().length;
    for (let i = 0; i < 2; i++) {
      const r = validate(spec);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${spec}: cannot load: boom in spec`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(specEntries()).toHaveLength(before);
  });

  it("a tampered cache entry whose source does not match is ignored", () => {
    const spec = join(work, "tamper.ts");
    writeFileSync(spec, readFileSync(join(REPO, "examples/lab/cluster.ts"), "utf8"));
    const clean = validate(spec);
    const entry = entryFor("spec", spec)!;
    const e = JSON.parse(readFileSync(entry, "utf8")) as { key: string; value: string };
    writeFileSync(entry, JSON.stringify({ ...e, key: `${e.key} `, value: 'throw new Error("tampered")' }), { mode: 0o600 });
    const r = validate(spec);
    expect(r.stdout).toBe(clean.stdout);
    expect(r.stderr).not.toContain("tampered");
  });
});

describe("YAML specs in the CLI", () => {

  it("keeps the parse of an exact source, and only of that source", () => {
    const spec = join(work, "cluster.yaml");
    writeFileSync(spec, readFileSync(join(REPO, "examples/train-ha/cluster.yaml"), "utf8"));
    const first = validate(spec);
    expect(first.stdout).toBe("ok: 9 nodes, 3 controllers, VIP 10.15.253.88/12\n");
    const entry = entryFor("yaml", spec)!;
    expect(statSync(entry).mode & 0o777).toBe(0o600);
    // The cached value is what the next run uses (shown by planting a different VIP in it) ...
    const e = JSON.parse(readFileSync(entry, "utf8")) as { value: string };
    writeFileSync(entry, JSON.stringify({ ...e, value: e.value.replace("10.15.253.88", "10.15.253.77") }), { mode: 0o600 });
    expect(validate(spec).stdout).toBe("ok: 9 nodes, 3 controllers, VIP 10.15.253.77/12\n");
    // ... and any edit of the source (here one that keeps its length) bypasses it.
    writeFileSync(spec, readFileSync(spec, "utf8").replace("10.15.253.88", "10.15.253.99"));
    expect(validate(spec).stdout).toBe("ok: 9 nodes, 3 controllers, VIP 10.15.253.99/12\n");
  });

  it("is not used for YAML that JSON cannot hold exactly, or that parses with warnings or errors", () => {
    const base = readFileSync(join(REPO, "examples/train-ha/cluster.yaml"), "utf8");
    const cases: [string, string, string][] = [
      ["inf.yaml", base.replace(/^vip:/m, "memcached:\n  port: .inf\nvip:"), "memcached.port: Infinity"],
      ["tag.yaml", base.replace(/^vip:/m, "x: !custom 1\nvip:"), "x:"],
      ["broken.yaml", `${base}\nnodes: [`, "not valid YAML"],
    ];
    for (const [name, text, expected] of cases) {
      const spec = join(work, name);
      writeFileSync(spec, text);
      const r1 = validate(spec);
      const r2 = validate(spec);
      expect(r1.code, name).toBe(1);
      expect(r1.stderr, name).toContain(expected);
      const norm = (t: string) => t.replace(/jiti loaded: \w+\n/, "").replace(/\(node:\d+\)/g, "(node)");
      expect([r2.code, r2.stdout, norm(r2.stderr)]).toEqual([r1.code, r1.stdout, norm(r1.stderr)]);
      expect(entryFor("yaml", spec), name).toBeUndefined();
    }
  });
});

describe("validation results in the CLI", () => {
  const run = (args: string[], env: Record<string, string> = {}) => {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, HA_GEN_CACHE_DIR: cache, ...env } });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  it("a cached result gives exactly the output of a fresh validation, warnings included", () => {
    for (const spec of ["examples/train-ha/cluster.yaml", "examples/train-ha/cluster.ts", "examples/lab/cluster.ts"]) {
      const off = run(["validate", spec], { HA_GEN_CACHE_DIR: "" });
      expect(off.code).toBe(0);
      expect(off.stderr).toContain("warning: pacemaker.properties.stonith-enabled");
      run(["validate", spec]);
      expect(entryFor("valid", join(REPO, spec)), spec).toBeDefined();
      expect(run(["validate", spec])).toEqual(off);
      expect(run(["plan", spec, "--format", "json"])).toEqual(run(["plan", spec, "--format", "json"], { HA_GEN_CACHE_DIR: "" }));
    }
    // A render from cached results writes the same tree as one without any cache.
    const secrets = join(work, "render.secrets.yaml");
    expect(run(["render", "examples/train-ha/cluster.ts", "--out", join(work, "r-off"), "--secrets", secrets], { HA_GEN_CACHE_DIR: "" }).code).toBe(0);
    expect(run(["render", "examples/train-ha/cluster.ts", "--out", join(work, "r-on"), "--secrets", secrets]).code).toBe(0);
    const tree = (d: string) => spawnSync("sh", ["-c", `cd ${d} && find . -type f | sort | xargs sha256sum`], { encoding: "utf8" }).stdout;
    expect(tree(join(work, "r-on"))).toBe(tree(join(work, "r-off")));
    expect(tree(join(work, "r-on")).split("\n").length).toBeGreaterThan(150);
  });

  it("is used only for the same loaded value and the same ha-gen build", () => {
    const spec = join(work, "env.ts");
    // A TypeScript spec may read its environment: the cache key is the loaded value, not the source.
    writeFileSync(spec, readFileSync(join(REPO, "examples/lab/cluster.ts"), "utf8").replace('vip: { address: "198.51.100.10" }', 'vip: { address: process.env.LAB_VIP ?? "198.51.100.10" }'));
    expect(run(["validate", spec], { LAB_VIP: "198.51.100.30" }).stdout).toBe("ok: 3 nodes, 3 controllers, VIP 198.51.100.30/24\n");
    expect(run(["validate", spec], { LAB_VIP: "198.51.100.40" }).stdout).toBe("ok: 3 nodes, 3 controllers, VIP 198.51.100.40/24\n");
    expect(run(["validate", spec], { LAB_VIP: "198.51.100.40" }).stdout).toBe("ok: 3 nodes, 3 controllers, VIP 198.51.100.40/24\n");
    // The entry is what a matching run uses (shown by planting another VIP in its result) ...
    const entry = entryFor("valid", spec)!;
    const e = JSON.parse(readFileSync(entry, "utf8")) as { build: string; value: string };
    writeFileSync(entry, JSON.stringify({ ...e, value: e.value.replace("198.51.100.40", "198.51.100.50") }), { mode: 0o600 });
    expect(run(["validate", spec], { LAB_VIP: "198.51.100.40" }).stdout).toBe("ok: 3 nodes, 3 controllers, VIP 198.51.100.50/24\n");
    // ... and never by another build of ha-gen.
    writeFileSync(entry, JSON.stringify({ ...e, build: "0".repeat(64), value: e.value.replace("198.51.100.40", "198.51.100.50") }), { mode: 0o600 });
    expect(run(["validate", spec], { LAB_VIP: "198.51.100.40" }).stdout).toBe("ok: 3 nodes, 3 controllers, VIP 198.51.100.40/24\n");
  });

  it("an invalid spec is validated every time, with the same messages", () => {
    const spec = join(work, "invalid.yaml");
    writeFileSync(spec, `${readFileSync(join(REPO, "examples/train-ha/cluster.yaml"), "utf8")}vpi: { address: 10.15.253.88 }\n`);
    const first = run(["validate", spec]);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain("vpi: is not a known setting; did you mean vip?");
    expect(run(["validate", spec])).toEqual(first);
    expect(entryFor("valid", spec)).toBeUndefined();
  });
});

describe("isSelfContained", () => {
  it("accepts code whose only dependency is ha-gen, and nothing else", () => {
    expect(isSelfContained('"use strict";var _haGen = require("ha-gen");exports.default = (0, _haGen.defineCluster)({});')).toBe(true);
    expect(isSelfContained("exports.default = { nodes: [] };")).toBe(true);
    expect(isSelfContained('var _haGen = require("ha-gen");var _n = require("./nodes.ts");')).toBe(false);
    expect(isSelfContained('var fs = require ("node:fs");')).toBe(false);
    expect(isSelfContained('const m = await import("./x.mjs");')).toBe(false);
    expect(isSelfContained("const u = import.meta.url;")).toBe(false);
  });
});

