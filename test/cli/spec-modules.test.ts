import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Every kind of spec module loads the same on every Node the suite runs on (ES module, CommonJS,
 * TypeScript that needs transforming, node: built-ins, a spec that throws): all go through jiti.
 */

const CLI = join(import.meta.dirname, "../../dist/cli/bin.js");
const NODES = [1, 2, 3].map(
  (i) => `{ hostname: "c${i}", roles: ["controller"], addresses: { management: "10.0.0.${i + 1}" } }`,
);
const NETWORKS = `{ management: { cidr: "10.0.0.0/24", interface: "eth0" } }`;
const SPEC = (nodes = `[${NODES.join(", ")}]`) =>
  `{ networks: ${NETWORKS}, nodes: ${nodes}, vip: { address: "10.0.0.9" } }`;

let work: string;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error("dist/cli/bin.js missing: run `npm run build` (npm test does)");
  work = mkdtempSync(join(tmpdir(), "ha-gen-spec-modules-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function validate(name: string, text: string) {
  writeFileSync(join(work, name), text);
  const r = spawnSync(process.execPath, [CLI, "validate", name], { cwd: work, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("TypeScript spec modules", () => {
  it.each([
    ["plain.ts", `import { defineCluster } from "ha-gen";\nexport default defineCluster(${SPEC()});\n`],
    ["types.ts", `import type { ClusterSpec } from "ha-gen";\nconst s: ClusterSpec = ${SPEC()};\nexport default s;\n`],
    ["enum.ts", `enum Role { C = "controller" }\nconst r: string = Role.C;\nexport default ${SPEC()};\n`],
    ["dirname.ts", `const here: string = __dirname;\nexport default ${SPEC()};\n`],
    ["fn.ts", `export default async () => (${SPEC()});\n`],
    ["promise.ts", `export default Promise.resolve(${SPEC()});\n`],
  ])("%s loads, outside any package that has ha-gen installed", (name, text) => {
    const r = validate(name, text);
    expect(r.stderr).not.toContain("error");
    expect(r.stdout).toBe("ok: 3 nodes, 3 controllers, VIP 10.0.0.9/24\n");
  });

  it("sees the whole public API of ha-gen, the same functions a library user imports", () => {
    const text = `import * as api from "ha-gen";
import { defaultServices, defineCluster, validateSpec, withServices } from "ha-gen";
const services = withServices(defaultServices, {
  remove: ["nova_vncproxy_cluster"],
  update: { glance_api_cluster: { timeoutClient: "6h" } },
  add: [{ name: "heat_api_cluster", port: 8004, httpCheck: true }],
});
const spec = defineCluster({ ...${SPEC()}, haproxy: { services } });
// Every export a library user sees is there (checked against the package's own list below).
console.error("exports:", Object.keys(api).sort().join(","));
if (!validateSpec(spec).ok) throw new Error("library validateSpec refused the spec");
export default spec;
`;
    const r = validate("api.ts", text);
    expect(r.stderr).not.toContain("error:");
    expect(r.stdout).toBe("ok: 3 nodes, 3 controllers, VIP 10.0.0.9/24\n");
    const seen = /exports: (.*)/.exec(r.stderr)?.[1]?.split(",");
    const library = spawnSync(
      process.execPath,
      ["--input-type=module", "-e", 'console.log(Object.keys(await import("ha-gen")).sort().join(","))'],
      { cwd: join(import.meta.dirname, "../.."), encoding: "utf8" },
    );
    expect(library.status).toBe(0);
    expect(seen).toEqual(library.stdout.trim().split(","));
    expect(seen).toEqual(expect.arrayContaining(["defaultServices", "withServices", "renderCluster", "HaGenError"]));
  });

  it("withServices names a service the list does not have: one line, with a did-you-mean", () => {
    const text =
      `import { defaultServices, withServices } from "ha-gen";\n` +
      `const services = withServices(defaultServices, { remove: ["nova_vncproxy_clustr"] });\n` +
      `export default { ...${SPEC()}, haproxy: { services } };\n`;
    const r = validate("typo.ts", text);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'typo.ts: cannot load: withServices: remove: "nova_vncproxy_clustr" is not a service of the list; ' +
        "did you mean nova_vncproxy_cluster?",
    );
  });

  it("a default export that is a Promise which rejects or resolves to nothing: one line, exit 1", () => {
    const rejects = validate("rejects.ts", 'export default Promise.reject(new Error("no inventory"));\n');
    expect(rejects.code).toBe(1);
    expect(rejects.stderr).toBe("error: rejects.ts: the default export (a Promise) rejected: no inventory\n");
    const empty = validate("empty.ts", "export default Promise.resolve(undefined);\n");
    expect(empty.code).toBe(1);
    expect(empty.stderr).toBe("error: empty.ts: the default export (a Promise) resolved to undefined\n");
  });

  it("a local module imported without extension", () => {
    writeFileSync(join(work, "nodes.ts"), `export const nodes = [${NODES.join(", ")}];\n`);
    const r = validate("main.ts", `import { nodes } from "./nodes";\nexport default ${SPEC("nodes")};\n`);
    expect(r.stdout).toMatch(/^ok: 3 nodes/);
  });

  it("a spec that fails while running runs once", () => {
    const r = validate("fails.ts", 'console.error("side effect");\nJSON.parse("{x");\nexport default {};\n');
    expect(r.code).toBe(1);
    expect(r.stderr.match(/side effect/g)).toHaveLength(1);
    expect(r.stderr).toContain("fails.ts: cannot load: ");
  });

  it("syntax errors and CommonJS exports are reported as jiti reports them", () => {
    const syntax = validate("syntax.ts", "export default { oops: ;\n");
    expect(syntax.stderr).toMatch(/syntax\.ts: cannot load: ParseError: .*:1:23\)/);
    expect(validate("cjs.ts", `module.exports = ${SPEC()};\n`).stderr).toContain("cjs.ts: has no default export");
  });
});
