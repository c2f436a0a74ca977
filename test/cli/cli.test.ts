import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  chmodSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadSpecFile } from "../../src/cli/load.js";
import { specJsonSchema } from "../../src/core/json-schema.js";
import { EXAMPLES } from "../helpers/examples.js";

// Runs the built CLI as users do (`npm test` builds first).
const CLI = join(import.meta.dirname, "../../dist/cli/bin.js");
const cli = (args: string[], cwd = process.cwd()) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

function walk(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const rec = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) rec(p);
      else out.set(relative(dir, p), createHash("sha256").update(readFileSync(p)).digest("hex"));
    }
  };
  rec(dir);
  return out;
}

let work: string;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error("dist/cli/bin.js missing: run `npm run build` (npm test does)");
  work = mkdtempSync(join(tmpdir(), "ha-gen-cli-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("ha-gen render", () => {
  it("renders the guide's cluster into per-node trees, byte-stable, with private secrets", () => {
    const out = join(work, "out");
    const secrets = join(work, "s.secrets.yaml");
    const first = cli(["render", "examples/train-ha/cluster.ts", "--out", out, "--secrets", secrets]);
    expect(first.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(first.code).toBe(0);
    expect(statSync(secrets).mode & 0o777).toBe(0o600);
    const nodes = [
      "controller01",
      "controller02",
      "controller03",
      "compute01",
      "compute02",
      "compute03",
      "cephnode01",
      "cephnode02",
      "cephnode03",
    ];
    for (const n of nodes) expect(existsSync(join(out, n, "etc/hosts"))).toBe(true);
    for (const f of ["plan.json", "PLAN.md", "manifest.json"]) expect(existsSync(join(out, f))).toBe(true);

    // No secret value is printed, and every file that holds one is private.
    const values = Object.values(parse(readFileSync(secrets, "utf8")) as Record<string, string>);
    expect(values.length).toBeGreaterThanOrEqual(19);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as {
      files: { node: string; path: string; secret: boolean }[];
    };
    for (const [rel] of walk(out)) {
      const content = readFileSync(join(out, rel), "utf8");
      const holdsSecret = values.some((v) => content.includes(v));
      const mode = statSync(join(out, rel)).mode & 0o777;
      if (holdsSecret) {
        expect(mode & 0o007, `${rel} holds a secret but is world-accessible`).toBe(0);
        const [node, ...rest] = rel.split("/");
        expect(
          manifest.files.find((f) => f.node === node && f.path === `/${rest.join("/")}`)?.secret,
          `${rel} not marked secret`,
        ).toBe(true);
      }
    }
    for (const v of values) {
      expect(first.stdout).not.toContain(v);
      expect(first.stderr).not.toContain(v);
    }

    // Same input, same bytes; the secrets file is not rewritten.
    const before = walk(out);
    const secretsBefore = readFileSync(secrets, "utf8");
    const second = cli(["render", "examples/train-ha/cluster.ts", "--out", out, "--secrets", secrets]);
    expect(second.code).toBe(0);
    expect(walk(out)).toEqual(before);
    expect(readFileSync(secrets, "utf8")).toBe(secretsBefore);
    expect(second.stderr).not.toContain("generated");
  });

  it("fills only missing secrets and never changes existing ones", () => {
    const secrets = join(work, "partial.secrets.yaml");
    writeFileSync(secrets, "rabbit_pass: kept-value-0123\ncustom_key: mine\n", { mode: 0o600 });
    const r = cli(["render", "examples/lab/cluster.ts", "--out", join(work, "lab"), "--secrets", secrets]);
    expect(r.code).toBe(0);
    const doc = parse(readFileSync(secrets, "utf8")) as Record<string, string>;
    expect(doc.rabbit_pass).toBe("kept-value-0123");
    expect(doc.custom_key).toBe("mine");
    expect(Object.keys(doc).length).toBe(20);
    expect(r.stderr).toContain("generated 18 secret(s)");
  });

  it("tightens a secrets file that others can read", () => {
    const secrets = join(work, "loose.secrets.yaml");
    cli(["render", "examples/lab/cluster.ts", "--out", join(work, "lab2"), "--secrets", secrets]);
    chmodSync(secrets, 0o644);
    const r = cli(["render", "examples/lab/cluster.ts", "--out", join(work, "lab2"), "--secrets", secrets]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("was readable by others; its mode is now 0600");
    expect(statSync(secrets).mode & 0o777).toBe(0o600);
  });

  it("rejects an invalid spec with every problem, exit 1, and writes nothing", () => {
    const spec = join(work, "bad.yaml");
    writeFileSync(
      spec,
      "networks: { management: { cidr: 10.0.0.0/24, interface: eth0 } }\nnodes: []\nvip: { address: 10.0.1.1 }\n",
    );
    const out = join(work, "bad-out");
    const secrets = join(work, "bad.secrets.yaml");
    const r = cli(["render", spec, "--out", out, "--secrets", secrets]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("nodes: [] needs at least one node");
    expect(r.stderr).toContain("vip.address: 10.0.1.1 is outside the management network 10.0.0.0/24");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(secrets)).toBe(false);
  });

  it("leaves an existing output directory untouched when the render fails", () => {
    const out = join(work, "keep");
    const secrets = join(work, "keep.secrets.yaml");
    expect(cli(["render", "examples/lab/cluster.ts", "--out", out, "--secrets", secrets]).code).toBe(0);
    const before = walk(out);
    const spec = join(work, "typo.yaml");
    writeFileSync(spec, readFileSync("examples/train-ha/cluster.yaml", "utf8").replace("vip:", "vpi:"));
    const r = cli(["render", spec, "--out", out, "--secrets", secrets]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("vpi: is not a known setting; did you mean vip?");
    expect(walk(out)).toEqual(before);
    expect(readdirSync(work).filter((f) => f.includes(".ha-gen-"))).toEqual([]);
  });

  it("refuses to replace a directory that is not an earlier render (exit 2, no secrets written)", () => {
    const home = join(work, "not-ours");
    mkdirSync(home);
    writeFileSync(join(home, "notes.txt"), "precious\n");
    const secrets = join(work, "not-ours.secrets.yaml");
    const r = cli(["render", "examples/lab/cluster.ts", "--out", home, "--secrets", secrets]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `error: --out ${home} is not empty and holds no ha-gen manifest.json: ` +
        `refusing to replace it (choose a new or empty directory)\n`,
    );
    expect(readdirSync(home)).toEqual(["notes.txt"]);
    expect(existsSync(secrets)).toBe(false);
  });

  it("re-rendering unchanged input touches no file", () => {
    const out = join(work, "again");
    const secrets = join(work, "again.secrets.yaml");
    expect(cli(["render", "examples/lab/cluster.ts", "--out", out, "--secrets", secrets]).code).toBe(0);
    const mtimes = () =>
      [...walk(out).keys()].map((f) => `${f} ${statSync(join(out, f)).mtimeMs} ${statSync(join(out, f)).ino}`);
    const before = mtimes();
    const r = cli(["render", "examples/lab/cluster.ts", "--out", out, "--secrets", secrets]);
    expect(r.stdout).toMatch(/\(0 written, \d+ unchanged; \d+ secret files, not world-readable\)\n$/);
    expect(mtimes()).toEqual(before);
  });

  it("reports a bad secrets value by key, never echoing it", () => {
    const secrets = join(work, "badsecret.secrets.yaml");
    writeFileSync(secrets, 'haproxy_stats_pass: "has space$and-dollar"\nerlang_cookie: short\n', { mode: 0o600 });
    const r = cli(["render", "examples/lab/cluster.ts", "--out", join(work, "x"), "--secrets", secrets]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("erlang_cookie: must be at least 8 characters");
    expect(r.stderr).toContain("haproxy_stats_pass: must not contain quotes or $");
    expect(r.stderr).not.toContain("has space$and-dollar");
    expect(r.stderr).not.toContain("short\n");
  });
});

describe("other commands and exit codes", () => {
  it("validate: 0 with a summary for a good spec, 1 for a bad one", () => {
    const ok = cli(["validate", "examples/train-ha/cluster.yaml"]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe("ok: 9 nodes, 3 controllers, VIP 10.15.253.88/12\n");
    const spec = join(work, "even.yaml");
    writeFileSync(
      spec,
      "networks: { management: { cidr: 10.0.0.0/24, interface: eth0 } }\n" +
        "nodes: [{ hostname: a, roles: [controller], addresses: { management: 10.0.0.2 } }]\n" +
        "vip: { address: 10.0.0.2 }\n",
    );
    const bad = cli(["validate", spec]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("nodes[0].addresses.management: 10.0.0.2 is the VIP");
  });

  it("usage errors exit 2; help exits 0", () => {
    expect(cli(["frobnicate"]).code).toBe(2);
    expect(cli(["render"]).code).toBe(2);
    expect(cli(["render", join(work, "missing.ts")]).code).toBe(2);
    expect(cli(["render", "README.md"]).code).toBe(2);
    for (const args of [
      ["--help"],
      ["render", "--help"],
      ["validate", "--help"],
      ["plan", "--help"],
      ["schema", "--help"],
      ["deploy", "--help"],
      ["recover", "--help"],
      ["recover", "galera", "--help"],
    ]) {
      const r = cli(args);
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.stdout).toContain("Usage: ha-gen");
      for (const line of r.stdout.split("\n")) expect(line.length, line).toBeLessThanOrEqual(80);
    }
  });

  it("a spec module that throws is reported without a stack trace", () => {
    const spec = join(work, "throws.ts");
    writeFileSync(spec, 'throw new Error("boom in spec");\nexport default {};\n');
    const r = cli(["validate", spec]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("boom in spec");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("a TypeScript spec with a syntax error: one line naming the file, line and column, exit 1", () => {
    const spec = join(work, "syntax.ts");
    writeFileSync(spec, 'export default {\n  name: "x",\n  nodes: [ ,, }\n');
    const r = cli(["validate", spec]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`^error: ${spec}: cannot load: .*Unexpected token.* \\(at ${spec}:3:\\d+\\)\n$`),
    );
  });

  it("a spec with no default export: one clear line, exit 1", () => {
    const spec = join(work, "nodefault.ts");
    writeFileSync(spec, "export const cluster = {};\n");
    const r = cli(["validate", spec]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: ${spec}: has no default export (use \`export default defineCluster({...})\`)\n`);
  });

  it("a default export that is a function, sync or async, is called and its result is the spec", () => {
    const lab = resolve("examples/lab/cluster.ts");
    for (const [name, body] of [
      ["sync.ts", `export default () => ({ ...base, name: "from-sync" });`],
      [
        "async.ts",
        `export default async () => { await new Promise((r) => setTimeout(r, 5)); ` +
          `return { ...base, name: "from-async" }; };`,
      ],
    ] as const) {
      const spec = join(work, name);
      writeFileSync(spec, `import base from ${JSON.stringify(lab)};\n${body}\n`);
      const r = cli(["plan", spec, "--format", "json"]);
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { cluster: string }).cluster).toBe(
        name === "sync.ts" ? "from-sync" : "from-async",
      );
    }
    const throwing = join(work, "fnthrows.ts");
    writeFileSync(throwing, 'export default () => { throw new Error("no cluster today"); };\n');
    const r = cli(["validate", throwing]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: ${throwing}: the default export (a function) threw: no cluster today\n`);
  });

  it("plan prints the ordered steps and no secret", () => {
    const r = cli(["plan", "examples/train-ha/cluster.ts", "--format", "json"]);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as { steps: { id: string }[] };
    const ids = plan.steps.map((s) => s.id);
    expect(ids).toEqual([...ids].sort());
    expect(r.stdout).not.toContain("placeholder");
  });

  it("schema prints the JSON Schema that the YAML example points editors to", () => {
    const r = cli(["schema"]);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(schema).toEqual(specJsonSchema());
    expect(JSON.parse(readFileSync("examples/train-ha/cluster.schema.json", "utf8"))).toEqual(schema);
  });
});

describe("examples", () => {
  it("cluster.yaml is the same cluster as cluster.ts", async () => {
    expect(await loadSpecFile("examples/train-ha/cluster.yaml")).toEqual(EXAMPLES["train-ha"]);
  });
});
