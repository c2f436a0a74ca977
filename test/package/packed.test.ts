import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The package as a user gets it: the tarball `npm pack` makes, installed by npm into an empty
 * project, then used as ES module and as CommonJS, type-checked by tsc --strict for both module
 * kinds, and run through `npm exec ha-gen`. Runs offline: the app's lockfile pins each dependency
 * to the tarball this checkout's `npm ci` put in the npm cache.
 *
 * The app lives in the system temporary directory, not under node_modules/.cache: from there Node
 * and tsc would walk up into this checkout's node_modules and hide a dependency the package lacks.
 */

const REPO = join(import.meta.dirname, "../..");
const TSC = join(REPO, "node_modules/typescript/bin/tsc");
const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  bin: Record<string, string>;
  engines: Record<string, string>;
  license: string;
};
let work: string;
let app: string;

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  [k: string]: unknown;
}

/**
 * A package-lock for the app: ha-gen from the tarball, and every package it needs (plus
 * @types/node, for the type check) exactly as this checkout's lockfile resolved it.
 */
function appLock(tarball: string, integrity: string): object {
  const repoLock = JSON.parse(readFileSync(join(REPO, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockEntry>;
  };
  const all = repoLock.packages;
  // Node's lookup: the requiring package's own node_modules, then each enclosing one.
  const resolveFrom = (from: string, name: string): string | undefined => {
    for (let base = from; ; ) {
      const key = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
      if (all[key]) return key;
      if (!base) return undefined;
      const i = base.lastIndexOf("/node_modules/");
      base = i < 0 ? "" : base.slice(0, i);
    }
  };
  const types = all["node_modules/@types/node"]!.version!;
  const packages: Record<string, LockEntry> = {};
  const queue: [string, string, boolean][] = [...Object.keys(pkg.dependencies), "@types/node"].map((n) => [
    "",
    n,
    false,
  ]);
  while (queue.length > 0) {
    const [from, name, optional] = queue.shift()!;
    const key = resolveFrom(from, name);
    if (!key) {
      if (optional) continue;
      throw new Error(`package-lock.json has no ${name} for ${from || "the root"}`);
    }
    if (packages[key]) continue;
    const { dev, devOptional, peer, ...entry } = all[key]!;
    packages[key] = entry;
    for (const d of Object.keys(entry.dependencies ?? {})) queue.push([key, d, false]);
    for (const d of Object.keys(entry.optionalDependencies ?? {})) queue.push([key, d, true]);
    for (const d of Object.keys(entry.peerDependencies ?? {})) queue.push([key, d, true]);
  }
  return {
    name: "app",
    lockfileVersion: 3,
    requires: true,
    packages: {
      "": { name: "app", dependencies: { [pkg.name]: `file:${tarball}`, "@types/node": types } },
      [`node_modules/${pkg.name}`]: {
        version: pkg.version,
        resolved: `file:${tarball}`,
        integrity,
        license: pkg.license,
        dependencies: pkg.dependencies,
        bin: pkg.bin,
        engines: pkg.engines,
      },
      ...packages,
    },
  };
}

const run = (cmd: string, args: readonly string[], opts: SpawnSyncOptions = {}) => {
  const r = spawnSync(cmd, args, { cwd: app, encoding: "utf8", ...opts });
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
};

beforeAll(() => {
  if (!existsSync(join(REPO, "dist/index.cjs")))
    throw new Error("dist is missing: run `npm run build` (npm test does)");
  work = mkdtempSync(join(tmpdir(), "ha-gen-packed-"));
  const pack = spawnSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], {
    cwd: REPO,
    encoding: "utf8",
  });
  if (pack.status !== 0) throw new Error(`npm pack failed: ${pack.stderr}`);
  const { filename, integrity } = (JSON.parse(pack.stdout) as { filename: string; integrity: string }[])[0]!;
  app = join(work, "app");
  mkdirSync(app);
  const lock = appLock(`../${filename}`, integrity) as { packages: Record<string, { dependencies?: object }> };
  writeFileSync(
    join(app, "package.json"),
    `${JSON.stringify({ name: "app", private: true, dependencies: lock.packages[""]!.dependencies }, null, 2)}\n`,
  );
  writeFileSync(join(app, "package-lock.json"), `${JSON.stringify(lock, null, 2)}\n`);
  // --ignore-scripts: ssh2's optional native build needs a compiler, and ha-gen runs without it.
  const ci = run("npm", ["ci", "--offline", "--ignore-scripts", "--no-audit", "--no-fund"]);
  if (ci.status !== 0) {
    const hint = /ENOTCACHED/.test(ci.stderr) ? " (a dependency is not in the npm cache: run `npm ci` here first)" : "";
    throw new Error(`npm ci of the packed tarball failed${hint}:\n${ci.stderr}`);
  }
  // npm and tsc each take tens of seconds on a loaded 2-core machine; generous bounds, not figures.
}, 300_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

// The lab's spec, as plain data (a script run by node cannot import a .ts file).
const SPEC = {
  name: "packed",
  os: "debian12",
  networks: { management: { cidr: "198.51.100.0/24", interface: "eth0" } },
  nodes: [11, 12, 13].map((n) => ({
    hostname: `controller0${n - 10}`,
    roles: ["controller"],
    addresses: { management: `198.51.100.${n}` },
  })),
  vip: { address: "198.51.100.10" },
  ntp: { upstream: [] },
};

// Renders SPEC through each entry and reports what a test can compare across module kinds.
const USE = (load: string) => `
${load}
const spec = define.defineCluster(${JSON.stringify(SPEC)});
const { state } = ha.fillSecrets(undefined, (k) => "x".repeat(12) + k.length);
const r = ha.renderCluster(spec, state.secrets);
const hosts = r.artifacts.find((a) => a.node === "controller01" && a.path === "/etc/hosts");
console.log(JSON.stringify({
  files: r.artifacts.length,
  steps: r.plan.steps.length,
  hosts: hosts && hosts.content,
  sameErrors: deploy.UsageError === ha.UsageError,
  entries: [typeof ha.validateSpec, typeof deploy.deploy, typeof deploy.SshTransport, typeof deploy.recoverGalera],
  resolved: [RESOLVE("ha-gen"), RESOLVE("ha-gen/deploy"), RESOLVE("ha-gen/define")],
}));
`;

describe("the packed tarball, installed by npm into an empty project", () => {
  it("works with require() and with import, each getting its own build of every entry", () => {
    writeFileSync(
      join(app, "use.cjs"),
      USE(
        'const ha = require("ha-gen"); const deploy = require("ha-gen/deploy");\n' +
          'const define = require("ha-gen/define");\n' +
          "const RESOLVE = (s) => require.resolve(s);",
      ),
    );
    writeFileSync(
      join(app, "use.mjs"),
      USE(
        'import * as ha from "ha-gen"; import * as deploy from "ha-gen/deploy";\n' +
          'import * as define from "ha-gen/define";\n' +
          "const RESOLVE = (s) => import.meta.resolve(s);",
      ),
    );
    const outcome = (file: string) => {
      const r = run(process.execPath, [file]);
      expect(r.stderr, file).toBe("");
      expect(r.status, file).toBe(0);
      return JSON.parse(r.stdout) as { resolved: string[]; [k: string]: unknown };
    };
    const cjs = outcome("use.cjs");
    const esm = outcome("use.mjs");
    expect(cjs.resolved.map((p) => relative(app, p))).toEqual([
      "node_modules/ha-gen/dist/index.cjs",
      "node_modules/ha-gen/dist/deploy.cjs",
      "node_modules/ha-gen/dist/define.cjs",
    ]);
    expect(esm.resolved.map((u) => relative(app, new URL(u).pathname))).toEqual([
      "node_modules/ha-gen/dist/index.js",
      "node_modules/ha-gen/dist/deploy.js",
      "node_modules/ha-gen/dist/define.js",
    ]);
    // Both builds render the same cluster, and each shares one error class between its entries.
    const { resolved: _c, ...c } = cjs;
    const { resolved: _e, ...e } = esm;
    expect(c).toEqual(e);
    expect(c).toMatchObject({ sameErrors: true, entries: ["function", "function", "function", "function"] });
    expect(c.files).toBeGreaterThan(50);
    expect(c.hosts).toContain("198.51.100.12 controller02");
  });

  it("its types resolve under tsc --strict from ES modules and from CommonJS, and catch a wrong spec", () => {
    const body = (imports: string) => `${imports}
const spec: ClusterSpecInput = defineCluster(${JSON.stringify(SPEC)});
const v: ValidationResult = validateSpec(spec);
if (!v.ok) throw new Error(v.errors.map(formatIssue).join("\\n"));
const state: SecretsFileState = fillSecrets(undefined).state;
const r: RenderResult = renderCluster(spec, state.secrets);
export const paths: string[] = r.artifacts.map((a: Artifact) => a.path);
export const run = (o: DeployOptions) => deploy(o);
export const err: HaGenError = new UsageError("x");
export const hosts: Promise<KnownHostsFile> = KnownHostsFile.load("known_hosts");
export const same: typeof define = defineCluster;
`;
    const names = "defineCluster, validateSpec, formatIssue, fillSecrets, renderCluster, HaGenError";
    const typeNames = "ClusterSpecInput, ValidationResult, SecretsFileState, RenderResult, Artifact";
    writeFileSync(
      join(app, "typed.mts"),
      body(
        `import { ${names}, type ${typeNames.replaceAll(", ", ", type ")} } from "ha-gen";\n` +
          'import { deploy, KnownHostsFile, UsageError, type DeployOptions } from "ha-gen/deploy";\n' +
          'import { defineCluster as define } from "ha-gen/define";',
      ),
    );
    writeFileSync(
      join(app, "typed.cts"),
      body(
        `import { ${names}, type ${typeNames.replaceAll(", ", ", type ")} } from "ha-gen";\n` +
          'import { deploy, KnownHostsFile, UsageError, type DeployOptions } from "ha-gen/deploy";\n' +
          'import deployModule = require("ha-gen/deploy");\n' +
          "export const viaRequire: typeof deploy = deployModule.deploy;\n" +
          'import { defineCluster as define } from "ha-gen/define";',
      ),
    );
    // A spec with a wrong value, in each module kind: the types must refuse it.
    const wrong = (imp: string) =>
      `${imp}\nexport default defineCluster({ ...${JSON.stringify(SPEC)}, os: "centos9" });\n`;
    writeFileSync(join(app, "wrong.mts"), wrong('import { defineCluster } from "ha-gen";'));
    writeFileSync(join(app, "wrong.cts"), wrong('import { defineCluster } from "ha-gen/define";'));
    // What `ha-gen init` writes is a typed spec too.
    expect(run("npm", ["exec", "--offline", "--", "ha-gen", "init", "init"]).status).toBe(0);
    // One tsc run (it takes seconds): the typed files must check clean, the wrong ones must not.
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          noEmit: true,
          skipLibCheck: false,
          types: ["node"],
        },
        files: ["typed.mts", "typed.cts", "wrong.mts", "wrong.cts", "init/cluster.ts"],
      }),
    );
    const r = run(process.execPath, [TSC, "-p", "tsconfig.json", "--listFiles", "--pretty", "false"]);
    const errors = r.stdout.split("\n").filter((l) => / error TS\d+:/.test(l));
    expect(errors.map((l) => l.slice(0, l.indexOf("("))).sort()).toEqual(["wrong.cts", "wrong.mts"]);
    for (const l of errors) expect(l).toMatch(/"centos9"/);
    // Each module kind was checked against its own declarations (the CJS copy says "type": "commonjs").
    const listed = r.stdout.split("\n").map((f) => relative(join(app, "node_modules/ha-gen"), resolve(app, f)));
    for (const f of ["src/index.d.ts", "deploy/index.d.ts", "src/core/define.d.ts"]) {
      expect(listed).toContain(`dist/types/${f}`);
      expect(listed).toContain(`dist/types-cjs/${f}`);
    }
  }, 300_000);

  it("ships its declaration maps with the sources they point to, the LICENSE and deploy/README.md", () => {
    const root = join(app, "node_modules/ha-gen");
    expect(readFileSync(join(root, "LICENSE"), "utf8")).toMatch(/Apache License\s+Version 2\.0/);
    const maps: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (e.name.endsWith(".d.ts.map")) maps.push(join(d, e.name));
      }
    };
    walk(join(root, "dist"));
    expect(maps.length).toBeGreaterThan(20);
    for (const m of maps) {
      const { sources } = JSON.parse(readFileSync(m, "utf8")) as { sources: string[] };
      for (const s of sources) expect(existsSync(resolve(dirname(m), s)), `${relative(root, m)} → ${s}`).toBe(true);
    }
    // Each JavaScript entry names a source map that is shipped beside it.
    for (const f of ["index.js", "index.cjs", "deploy.js", "deploy.cjs", "define.js", "define.cjs"]) {
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(root, "dist", f), "utf8"))?.[1];
      expect(url && existsSync(join(root, "dist", url)), f).toBe(true);
    }
    // --help points at deploy/README.md; in the installed package that path must exist.
    const help = run("npm", ["exec", "--offline", "--", "ha-gen", "--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("deploy/README.md");
    expect(readFileSync(join(root, "deploy/README.md"), "utf8")).toMatch(/^# /);
  });

  it("`npm exec ha-gen --version` runs the installed executable, which renders what `ha-gen init` wrote", () => {
    const r = run("npm", ["exec", "--offline", "--", "ha-gen", "--version"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`${pkg.version}\n`);
    expect(run("npm", ["exec", "--offline", "--", "ha-gen", "init", "quick"]).status).toBe(0);
    const rendered = run("npm", ["exec", "--offline", "--", "ha-gen", "render", "quick/cluster.ts", "--out", "out"]);
    expect(rendered.status).toBe(0);
    expect(rendered.stdout).toMatch(/^rendered \d+ files for 3 nodes/);
    expect(existsSync(join(app, "out/controller01/etc/haproxy/haproxy.cfg"))).toBe(true);
  });
});
