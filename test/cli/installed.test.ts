import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The package as npm installs it: exactly the files `npm pack` ships, under node_modules/ha-gen,
 * run through its bin link the way `npx ha-gen` does, with a spec that imports "ha-gen".
 */

const REPO = join(import.meta.dirname, "../..");
let app: string;

beforeAll(() => {
  app = mkdtempSync(join(tmpdir(), "ha-gen-installed-"));
  const pack = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: REPO, encoding: "utf8" });
  if (pack.status !== 0) throw new Error(`npm pack failed: ${pack.stderr}`);
  const files = (JSON.parse(pack.stdout) as { files: { path: string; mode: number }[] }[])[0]!.files;
  const pkgDir = join(app, "node_modules/ha-gen");
  for (const f of files) {
    mkdirSync(dirname(join(pkgDir, f.path)), { recursive: true });
    copyFileSync(join(REPO, f.path), join(pkgDir, f.path));
    chmodSync(join(pkgDir, f.path), f.mode & 0o777);
  }
  // Runtime dependencies as npm would hoist them (linked from this checkout's install).
  const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
    bin: Record<string, string>;
  };
  const seen = new Set<string>();
  const link = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const target = join(app, "node_modules", name);
    mkdirSync(dirname(target), { recursive: true });
    if (!existsSync(target)) symlinkSync(join(REPO, "node_modules", name), target);
    const deps =
      (
        JSON.parse(readFileSync(join(REPO, "node_modules", name, "package.json"), "utf8")) as {
          dependencies?: Record<string, string>;
        }
      ).dependencies ?? {};
    for (const d of Object.keys(deps)) if (existsSync(join(REPO, "node_modules", d))) link(d);
  };
  for (const d of Object.keys(pkg.dependencies)) link(d);
  mkdirSync(join(app, "node_modules/.bin"));
  symlinkSync(join("../ha-gen", pkg.bin["ha-gen"]!), join(app, "node_modules/.bin/ha-gen"));
  writeFileSync(
    join(app, "cluster.ts"),
    readFileSync(join(REPO, "examples/lab/cluster.ts"), "utf8"), // imports { defineCluster } from "ha-gen"
  );
});
afterAll(() => rmSync(app, { recursive: true, force: true }));

describe("installed package", () => {
  it("`ha-gen` from node_modules/.bin renders a TypeScript spec that imports ha-gen", () => {
    const bin = join(app, "node_modules/.bin/ha-gen");
    const env = { ...process.env, XDG_CACHE_HOME: join(app, "cache") };
    const r = spawnSync(bin, ["render", "cluster.ts", "--out", "out"], { cwd: app, encoding: "utf8", env });
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^rendered \d+ files for 3 nodes/);
    expect(readFileSync(join(app, "out/controller01/etc/hosts"), "utf8")).toContain("198.51.100.12 controller02");
    expect(spawnSync(bin, ["--version"], { cwd: app, encoding: "utf8", env }).stdout).toBe(
      `${(JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string }).version}\n`,
    );
  });

  it("a spec using more of the API than defineCluster (examples/overrides) renders through the bin", () => {
    writeFileSync(join(app, "overrides.ts"), readFileSync(join(REPO, "examples/overrides/cluster.ts"), "utf8"));
    const bin = join(app, "node_modules/.bin/ha-gen");
    const env = { ...process.env, XDG_CACHE_HOME: join(app, "cache") };
    const r = spawnSync(bin, ["render", "overrides.ts", "--out", "out-overrides"], { cwd: app, encoding: "utf8", env });
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(app, "out-overrides/controller01/etc/haproxy/haproxy.cfg"), "utf8")).toContain(
      "listen heat_api_cluster\n",
    );
  });

  it("the library entry imports as ESM with its types beside it", () => {
    const r = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        'import { defineCluster, renderCluster } from "ha-gen"; ' +
          "console.log(typeof defineCluster, typeof renderCluster);",
      ],
      { cwd: app, encoding: "utf8" },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("function function\n");
    const exp = (
      JSON.parse(readFileSync(join(app, "node_modules/ha-gen/package.json"), "utf8")) as {
        exports: Record<string, { import: { types: string } }>;
      }
    ).exports;
    expect(existsSync(join(app, "node_modules/ha-gen", exp["."]!.import.types))).toBe(true);
  });

  it("rendering never loads SSH code; the rollout API is the subpath ha-gen/deploy", () => {
    // A second app whose ssh2 packages throw when loaded: rendering must not touch them.
    const poisoned = mkdtempSync(join(tmpdir(), "ha-gen-no-ssh-"));
    try {
      mkdirSync(join(poisoned, "node_modules"));
      symlinkSync(join(app, "node_modules/ha-gen"), join(poisoned, "node_modules/ha-gen"));
      for (const d of ["zod", "yaml", "jiti", "ini"])
        symlinkSync(join(app, "node_modules", d), join(poisoned, "node_modules", d));
      for (const d of ["ssh2", "ssh2-sftp-client"]) {
        mkdirSync(join(poisoned, "node_modules", d));
        writeFileSync(join(poisoned, "node_modules", d, "package.json"), JSON.stringify({ name: d, main: "index.js" }));
        writeFileSync(join(poisoned, "node_modules", d, "index.js"), `throw new Error("${d} was loaded");\n`);
      }
      const render =
        'import { renderCluster, SECRET_KEYS } from "ha-gen"; ' +
        'import spec from "ha-gen/package.json" with { type: "json" };' +
        "console.log(typeof renderCluster, SECRET_KEYS.length > 0, spec.name);";
      const r = spawnSync(process.execPath, ["--input-type=module", "-e", render], { cwd: poisoned, encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("function true ha-gen\n");
      // And no file the entry loads mentions them (ssh2 is loaded lazily, so a run alone would not show it).
      const dist = join(app, "node_modules/ha-gen/dist");
      const seen = new Set<string>();
      const visit = (f: string) => {
        if (seen.has(f)) return;
        seen.add(f);
        const text = readFileSync(join(dist, f), "utf8");
        expect(text, f).not.toMatch(/ssh2/);
        for (const m of text.matchAll(/from\s*"\.\/([^"]+)"/g)) visit(m[1]!);
      };
      visit("index.js");
      expect(seen.size).toBeGreaterThan(1);
      expect(readFileSync(join(dist, "deploy.js"), "utf8")).toMatch(/ssh2-sftp-client/);
      const rollout =
        'import { deploy, SshTransport } from "ha-gen/deploy"; console.log(typeof deploy, typeof SshTransport);';
      const d = spawnSync(process.execPath, ["--input-type=module", "-e", rollout], { cwd: app, encoding: "utf8" });
      expect(d.stderr).toBe("");
      expect(d.stdout).toBe("function function\n");
    } finally {
      rmSync(poisoned, { recursive: true, force: true });
    }
  });
});
