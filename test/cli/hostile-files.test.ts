import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Render never loses or overwrites the user's own files (spec, the modules it imports, secrets),
 * checks every path before it writes anything, and serializes renders into one directory.
 * Everything runs through the real executable.
 */

const REPO = join(import.meta.dirname, "../..");
const CLI = join(REPO, "dist/cli/bin.js");
const LAB = join(REPO, "examples/lab/cluster.ts");
const cli = (args: string[], cwd = REPO) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const cliAsync = (args: string[]) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
    const c = spawn(process.execPath, [CLI, ...args], { cwd: REPO });
    let stdout = "";
    let stderr = "";
    c.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    c.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    c.on("close", (code) => res({ code, stdout, stderr }));
  });
const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at /);

function listing(dir: string): string[] {
  const out: string[] = [];
  const rec = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) rec(p);
      else out.push(relative(dir, p));
    }
  };
  rec(dir);
  return out.sort();
}

/** The tree holds exactly what its manifest lists (plus the three top-level files), each whole. */
function matchesManifest(out: string): void {
  const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as {
    files: { node: string; path: string; sha256?: string }[];
  };
  const want = [...m.files.map((f) => join(f.node, f.path)), "PLAN.md", "manifest.json", "plan.json"].sort();
  expect(listing(out)).toEqual(want);
  for (const f of m.files) {
    if (f.sha256 === undefined) continue;
    const got = createHash("sha256")
      .update(readFileSync(join(out, f.node, f.path)))
      .digest("hex");
    expect(got, `${f.node}${f.path}`).toBe(f.sha256);
  }
}

let work: string;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error("dist/cli/bin.js missing: run `npm run build` (npm test does)");
  // A fresh clone has no node_modules/.cache until something creates it.
  mkdirSync(join(REPO, "node_modules/.cache"), { recursive: true });
  work = mkdtempSync(join(REPO, "node_modules/.cache/ha-gen-hostile-"));
});
afterAll(() => {
  if (work === undefined) return;
  spawnSync("chattr", ["-R", "-i", work]);
  rmSync(work, { recursive: true, force: true });
});

/** A fresh directory with a copy of the lab spec (it imports only "ha-gen"). */
function project(name: string): { dir: string; spec: string } {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const spec = join(dir, "cluster.ts");
  writeFileSync(spec, readFileSync(LAB, "utf8"));
  return { dir, spec };
}

describe("render never touches its inputs", () => {
  it("refuses (exit 2, nothing written) a secrets file inside an existing render directory", () => {
    const { dir, spec } = project("secrets-in-out");
    const out = join(dir, "out");
    expect(cli(["render", spec, "--out", out, "--secrets", join(dir, "s.yaml")]).code).toBe(0);
    const secrets = join(out, "x.yaml");
    writeFileSync(secrets, readFileSync(join(dir, "s.yaml")), { mode: 0o600 });
    const before = listing(out);
    const r = cli(["render", spec, "--out", out, "--secrets", secrets]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `error: --out ${out} holds the secrets file ${secrets}: keep secrets outside the output directory\n`,
    );
    expect(listing(out)).toEqual(before);
  });

  it("refuses a spec, or a module it imports, inside the output directory", () => {
    const { dir } = project("spec-in-out");
    const out = join(dir, "out");
    mkdirSync(join(out, "lib"), { recursive: true });
    writeFileSync(join(out, "manifest.json"), '{"format":"ha-gen-manifest/1","files":[]}\n');
    writeFileSync(join(out, "lib/base.ts"), `export { default } from ${JSON.stringify(LAB)};\n`);
    const spec = join(dir, "cluster.ts");
    writeFileSync(spec, 'import base from "./out/lib/base.ts";\nexport default base;\n');
    const r = cli(["render", spec, "--out", out, "--secrets", join(dir, "s.yaml")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`holds ${join(out, "lib/base.ts")}, an input of this render`);
    expect(existsSync(join(dir, "s.yaml"))).toBe(false);
    const moved = join(out, "cluster.ts");
    writeFileSync(moved, readFileSync(LAB, "utf8"));
    const r2 = cli(["render", moved, "--out", out, "--secrets", join(dir, "s.yaml")]);
    expect(r2.code).toBe(2);
    expect(readFileSync(moved, "utf8")).toBe(readFileSync(LAB, "utf8"));
  });

  it("refuses --secrets naming the spec itself, leaving the spec as it was", () => {
    const { spec } = project("secrets-is-spec");
    const text = readFileSync(spec, "utf8");
    const r = cli(["render", spec, "--out", join(work, "never"), "--secrets", spec]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --secrets .* is the spec or a module it imports/);
    expect(readFileSync(spec, "utf8")).toBe(text);
    expect(existsSync(join(work, "never"))).toBe(false);
  });

  it("a secrets path inside a new --out: refused before anything is written", () => {
    const { dir, spec } = project("secrets-in-new-out");
    const out = join(dir, "fresh");
    const r = cli(["render", spec, "--out", out, "--secrets", join(out, "s.yaml")]);
    expect(r.code).toBe(2);
    expect(existsSync(out)).toBe(false);
    // Nothing was left behind that would refuse the next, correct render.
    expect(cli(["render", spec, "--out", out, "--secrets", join(dir, "s.yaml")]).code).toBe(0);
  });

  it("writes through a symlinked secrets file: the link stays, its target gets the keys, 0600", () => {
    const { dir, spec } = project("symlinked-secrets");
    const real = join(dir, "vault/real.yaml");
    mkdirSync(join(dir, "vault"));
    writeFileSync(real, "admin_pass: keepthisvalue1\n", { mode: 0o600 });
    const link = join(dir, "s.yaml");
    symlinkSync("vault/real.yaml", link);
    const r = cli(["render", spec, "--out", join(dir, "out"), "--secrets", link]);
    expect(r.code, r.stderr).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe("vault/real.yaml");
    const text = readFileSync(real, "utf8");
    expect(text).toContain("admin_pass: keepthisvalue1\n");
    expect(text).toContain("rabbit_pass: ");
    expect(statSync(real).mode & 0o777).toBe(0o600);
  });

  it("never removes a file it did not write; reports it and leaves it", () => {
    const { dir, spec } = project("foreign-files");
    const out = join(dir, "out");
    const secrets = join(dir, "s.yaml");
    expect(cli(["render", spec, "--out", out, "--secrets", secrets]).code).toBe(0);
    writeFileSync(join(out, "controller01/NOTES.txt"), "mine\n");
    const r = cli(["render", spec, "--out", out, "--secrets", secrets]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("holds 1 file(s) no render wrote; left untouched: controller01/NOTES.txt");
    expect(readFileSync(join(out, "controller01/NOTES.txt"), "utf8")).toBe("mine\n");
  });
});

describe("output directory lock", () => {
  it(
    "two renders at once into one directory: each either finishes or refuses clearly; " +
      "the tree matches its manifest",
    async () => {
      const { dir, spec } = project("concurrent");
      const out = join(dir, "out");
      const secrets = join(dir, "s.yaml");
      expect(cli(["render", spec, "--out", out, "--secrets", secrets]).code).toBe(0);
      const other = join(dir, "other.ts");
      writeFileSync(other, `import base from ${JSON.stringify(LAB)};\nexport default { ...base, name: "other" };\n`);
      const runs = await Promise.all([
        cliAsync(["render", spec, "--out", out, "--secrets", secrets]),
        cliAsync(["render", other, "--out", out, "--secrets", secrets]),
        cliAsync(["render", spec, "--out", out, "--secrets", secrets]),
      ]);
      for (const r of runs) {
        noStack(r.stderr);
        expect([0, 2]).toContain(r.code);
        if (r.code === 2) expect(r.stderr).toMatch(/is being written by another ha-gen render \(pid \d+ on /);
      }
      expect(runs.some((r) => r.code === 0)).toBe(true);
      matchesManifest(out);
      expect(readdirSync(dir).filter((n) => n.includes(".ha-gen-lock"))).toEqual([]);
    },
  );

  it("a live holder is named and refused after a short wait; a dead holder's lock is taken over", () => {
    const { dir, spec } = project("held");
    const out = join(dir, "out");
    const lock = join(dir, ".out.ha-gen-lock");
    writeFileSync(lock, `${JSON.stringify({ pid: process.pid, host: hostname(), since: "2026-01-01T00:00:00Z" })}\n`);
    const r = cli(["render", spec, "--out", out, "--secrets", join(dir, "s.yaml")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`is being written by another ha-gen render (pid ${process.pid} on ${hostname()}`);
    expect(existsSync(join(dir, "s.yaml"))).toBe(false);
    const dead = spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" });
    writeFileSync(lock, `${JSON.stringify({ pid: Number(dead.stdout), host: hostname(), since: "x" })}\n`);
    expect(cli(["render", spec, "--out", out, "--secrets", join(dir, "s.yaml")]).code).toBe(0);
    expect(existsSync(lock)).toBe(false);
  });
});

describe("environment failures are one line", () => {
  it("an output directory that cannot be written: exit 2, named, no stack trace", () => {
    const { dir, spec } = project("readonly");
    const out = join(dir, "out");
    const secrets = join(dir, "s.yaml");
    expect(cli(["render", spec, "--out", out, "--secrets", secrets]).code).toBe(0);
    writeFileSync(spec, readFileSync(spec, "utf8").replace('name: "ha-gen-lab"', 'name: "ha-gen-lab2"'));
    const ro = spawnSync("chattr", ["-R", "+i", out]);
    if (ro.status !== 0)
      throw new Error("chattr +i failed: this test needs e2fsprogs and a file system with attributes");
    try {
      const r = cli(["render", spec, "--out", out, "--secrets", secrets]);
      noStack(r.stderr);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^error: cannot write --out .* EPERM\n$/m);
    } finally {
      spawnSync("chattr", ["-R", "-i", out]);
    }
  });

  it("what a spec prints goes to stderr: plan --format json stays JSON", () => {
    const { dir } = project("chatty");
    const spec = join(dir, "chatty.ts");
    writeFileSync(
      spec,
      `import base from ${JSON.stringify(LAB)};\nconsole.log("hello from the spec");\n` +
        `process.stdout.write("raw write\\n");\nexport default () => { console.info("in fn"); return base; };\n`,
    );
    const r = cli(["plan", spec, "--format", "json"]);
    expect(r.code).toBe(0);
    expect(() => JSON.parse(r.stdout)).not.toThrow();
    expect(r.stderr).toContain("hello from the spec");
    expect(r.stderr).toContain("raw write");
    expect(r.stderr).toContain("in fn");
  });
});

describe("hostile spec values: one issue naming the place, exit 1", () => {
  const cases: [string, string, RegExp][] = [
    ["cycle.ts", "const s: any = { ...base }; s.self = s; export default s;", /self: refers to itself \(a cycle\)/],
    ["bigint.ts", "export default { ...base, vip: { address: 1n } };", /vip\.address: is a BigInt/],
    [
      "getter.ts",
      'export default { ...base, get vip() { throw new Error("getter boom"); } };',
      /vip: cannot be read: getter boom/,
    ],
    [
      "deep.ts",
      "let d: any = {}; const r = d; for (let i = 0; i < 50000; i++) { d.x = {}; d = d.x; } export default r;",
      /is nested deeper than 64 levels/,
    ],
    [
      "proxy.ts",
      'export default new Proxy({}, { ownKeys() { throw new Error("trap"); }, get() { throw new Error("get"); } });',
      /\(spec\): cannot be read: trap/,
    ],
  ];
  for (const [name, body, want] of cases) {
    it(name, () => {
      const spec = join(work, name);
      writeFileSync(spec, `import base from ${JSON.stringify(LAB)};\n${body}\n`);
      const r = cli(["validate", spec]);
      noStack(r.stderr);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: the cluster spec has 1 problem\(s\):\n {2}\S/);
      expect(r.stderr).toMatch(want);
      expect(r.stderr.trim().split("\n")).toHaveLength(2);
    });
  }

  it("JSON nested 6000 deep, and JSON with a duplicate key (YAML refuses those too)", () => {
    const spec = join(work, "deep.json");
    writeFileSync(spec, `{"nodes": ${"[".repeat(6000)}1${"]".repeat(6000)}}`);
    const r = cli(["validate", spec]);
    noStack(r.stderr);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: ${spec}: not valid JSON: line 1, column 74: nested deeper than 64 levels\n`);
    const dup = join(work, "dup.json");
    writeFileSync(dup, '{\n  "name": "a",\n  "name": "b"\n}\n');
    const d = cli(["validate", dup]);
    expect(d.code).toBe(1);
    expect(d.stderr).toBe(
      `error: ${dup}: not valid JSON: line 3, column 3: duplicate key "name" (first at line 2, column 3)\n`,
    );
  });
});

describe("deploy options are checked before anything is loaded or contacted", () => {
  const deploy = (...extra: string[]) =>
    cli(["deploy", LAB, "--secrets", join(work, "never.yaml"), "--known-hosts", join(work, "kh"), ...extra]);
  it("timeouts past what a timer can hold, and numbers that are not whole numbers: exit 2 with the bounds", () => {
    for (const [opt, value, want] of [
      ["--step-timeout", "2147484", "--step-timeout must be a whole number from 1 to 604800 seconds (7 days)"],
      ["--connect-timeout", "99999999", "--connect-timeout must be a whole number from 1 to 3600 seconds"],
      ["--connect-retries", "abc", "--connect-retries must be a whole number from 0 to 20"],
      ["--concurrency", "0", "--concurrency must be a whole number from 1 to 1024"],
      ["--step-timeout", "1.5", "--step-timeout must be a whole number"],
    ] as const) {
      const r = deploy(opt, value);
      noStack(r.stderr);
      expect(r.code, `${opt} ${value}`).toBe(2);
      expect(r.stderr).toContain(`error: ${want}`);
    }
    expect(existsSync(join(work, "never.yaml"))).toBe(false);
  });

  it("--install-key: a missing file, or a private key, is refused in one line", () => {
    const missing = deploy("--install-key", join(work, "nope.pub"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`error: --install-key ${join(work, "nope.pub")}: ENOENT\n`);
    const priv = join(work, "id_test");
    writeFileSync(priv, "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n");
    const r = deploy("--install-key", priv);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("is not one OpenSSH public key line");
    expect(r.stderr).not.toContain("BEGIN");
  });

  it("a rendered directory whose manifest names a node outside it, or a truncated plan.json: exit 1, named", () => {
    const { dir, spec } = project("tampered");
    const out = join(dir, "out");
    const secrets = join(dir, "s.yaml");
    expect(cli(["render", spec, "--out", out, "--secrets", secrets]).code).toBe(0);
    const manifest = readFileSync(join(out, "manifest.json"), "utf8");
    writeFileSync(join(out, "manifest.json"), manifest.replace('"node": "controller01"', '"node": "../../.."'));
    let r = cli(["deploy", out, "--secrets", secrets]);
    noStack(r.stderr);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /manifest\.json: not an ha-gen file of this version: files\[0\]\.node: is not a valid node name/,
    );
    writeFileSync(join(out, "manifest.json"), manifest);
    const plan = readFileSync(join(out, "plan.json"), "utf8");
    writeFileSync(join(out, "plan.json"), plan.slice(0, plan.length / 2));
    r = cli(["deploy", out, "--secrets", secrets]);
    noStack(r.stderr);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/plan\.json: not valid JSON/);
    writeFileSync(join(out, "plan.json"), plan);
    writeFileSync(join(out, "controller01/etc/hosts"), "edited by hand\n");
    r = cli(["deploy", out, "--secrets", secrets]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("controller01/etc/hosts differs from");
  });
});
