import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  parseErrorResult,
  parsePlanJson,
  parseRenderResult,
  parseValidateResult,
  planFileSchema,
} from "../../src/core/formats.js";
import { specJsonSchema } from "../../src/core/json-schema.js";

/**
 * The automation conventions of the command line, through the built executable: one --json on
 * every command whose documents parse with the schemas of src/core/formats.ts (errors too, with
 * the exit status of the text mode), one-line usage errors with a did-you-mean, and warnings
 * acknowledged in the spec (safety.acknowledge) kept off the terminal but listed in the plan.
 */

const CLI = join(import.meta.dirname, "../../dist/cli/bin.js");
const cli = (args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const LAB = "examples/lab/cluster.ts";
const TRAIN = "examples/train-ha/cluster.ts";
const STONITH = "warning [stonith-disabled]: pacemaker.properties.stonith-enabled: is false";

let work: string;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error("dist/cli/bin.js missing: run `npm run build` (npm test does)");
  work = mkdtempSync(join(tmpdir(), "ha-gen-conv-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A YAML spec: the lab's three controllers plus `extra` lines at the top level. */
function yamlSpec(name: string, extra: string): string {
  const p = join(work, `${name}.yaml`);
  writeFileSync(
    p,
    [
      "networks: { management: { cidr: 198.51.100.0/24, interface: eth0 } }",
      "nodes:",
      ...[1, 2, 3].map(
        (i) => `  - { hostname: c${i}, roles: [controller], addresses: { management: 198.51.100.${10 + i} } }`,
      ),
      "vip: { address: 198.51.100.10 }",
      extra,
      "",
    ].join("\n"),
  );
  return p;
}

describe("usage mistakes: one line with a did-you-mean, exit 2", () => {
  it.each([
    [["rendr", LAB], "error: unknown command 'rendr' (did you mean 'render'?); see 'ha-gen --help'\n"],
    [
      ["deploy", LAB, "--dry-rn"],
      "error: unknown option '--dry-rn' (did you mean '--dry-run'?); see 'ha-gen deploy --help'\n",
    ],
    [
      ["recover", "galer", LAB],
      "error: unknown command 'galer' (did you mean 'galera'?); see 'ha-gen recover --help'\n",
    ],
    [["validate"], "error: missing required argument 'spec'; see 'ha-gen validate --help'\n"],
    [["frobnicate"], "error: unknown command 'frobnicate'; see 'ha-gen --help'\n"],
  ])("%j", (args, expected) => {
    const r = cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(expected);
    expect(r.stdout).toBe("");
  });
});

describe("--json on every command", () => {
  it("validate --json: the ha-gen-validate/1 document, warnings with ids, nothing on stderr", () => {
    const r = cli(["validate", TRAIN, "--json"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const doc = parseValidateResult(r.stdout, "stdout");
    expect(doc.nodes).toHaveLength(9);
    expect(doc.controllers).toEqual(["controller01", "controller02", "controller03"]);
    expect(doc.vip).toBe("10.15.253.88/12");
    expect(doc.warnings.map((w) => [w.id, w.acknowledged ?? false])).toEqual([["stonith-disabled", false]]);
  });

  it("an invalid spec: ha-gen-error/1 with every problem, exit 1 as without --json", () => {
    const spec = yamlSpec("bad", "galera: { maxConections: 10 }\nntp: { server: c9 }");
    const text = cli(["validate", spec]);
    const r = cli(["validate", spec, "--json"]);
    expect(r.code).toBe(1);
    expect(text.code).toBe(1);
    const doc = parseErrorResult(r.stdout, "stdout");
    expect(doc).toMatchObject({ ok: false, exitCode: 1, code: "SPEC_INVALID" });
    expect(doc.issues?.map((i) => i.path).sort()).toEqual(["galera.maxConections", "ntp.server"]);
    expect(doc.issues?.find((i) => i.path === "ntp.server")).toMatchObject({ value: "c9" });
    // The same lines as the text mode prints.
    for (const i of doc.issues ?? []) expect(text.stderr).toContain(i.text);
  });

  it("errors of every kind keep their exit status: missing file 2, usage 2", () => {
    const missing = cli(["plan", join(work, "nope.ts"), "--json"]);
    expect(missing.code).toBe(2);
    expect(parseErrorResult(missing.stdout, "stdout")).toMatchObject({ code: "INPUT_INVALID", exitCode: 2 });
    const usage = cli(["render", LAB, "--json", "--ot", "x"]);
    expect(usage.code).toBe(2);
    const doc = parseErrorResult(usage.stdout, "stdout");
    expect(doc).toMatchObject({ code: "USAGE", exitCode: 2 });
    expect(doc.message).toContain("did you mean '--out'?");
    // deploy's --json is an event stream: its error is one line.
    const d = cli(["deploy", join(work, "nope.ts"), "--json"]);
    expect(d.code).toBe(2);
    expect(d.stdout.split("\n")).toHaveLength(2);
    expect(parseErrorResult(d.stdout, "stdout").code).toBe("INPUT_INVALID");
  });

  it("plan --json prints plan.json; --format json still works, with a deprecation warning", () => {
    const r = cli(["plan", LAB, "--json"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const plan = parsePlanJson(r.stdout, "stdout");
    expect(plan.steps.length).toBeGreaterThan(5);
    const old = cli(["plan", LAB, "--format", "json"]);
    expect(old.code).toBe(0);
    expect(old.stdout).toBe(r.stdout);
    expect(old.stderr).toContain("`plan --format json` is deprecated");
  });

  it("render --json: the ha-gen-render/1 document, names of generated secrets but never values", () => {
    const out = join(work, "out");
    const secrets = join(work, "lab.secrets.yaml");
    const r = cli(["render", LAB, "--out", out, "--secrets", secrets, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const doc = parseRenderResult(r.stdout, "stdout");
    expect(doc).toMatchObject({ out, nodes: ["controller01", "controller02", "controller03"], removed: 0 });
    expect(doc.written).toBe(doc.files + 3);
    expect(doc.generatedSecrets).toContain("mariadb_root_pass");
    const values = Object.values(parse(readFileSync(secrets, "utf8")) as Record<string, string>);
    expect(values.length).toBeGreaterThanOrEqual(19);
    for (const v of values) expect(r.stdout).not.toContain(v);
    const again = parseRenderResult(cli(["render", LAB, "--out", out, "--secrets", secrets, "--json"]).stdout, "x");
    expect(again).toMatchObject({ written: 0, unchanged: doc.files + 3, generatedSecrets: [] });
  });

  it("schema --json is the JSON Schema (the output is always JSON)", () => {
    const r = cli(["schema", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(specJsonSchema());
  });
});

describe("safety.acknowledge", () => {
  it("an acknowledged warning is not printed but stays in PLAN.md and plan.json, marked", () => {
    const plain = cli(["validate", TRAIN]);
    expect(plain.stderr).toContain(STONITH);
    const spec = yamlSpec("acked", "safety: { acknowledge: [stonith-disabled] }");
    const v = cli(["validate", spec]);
    expect(v.code).toBe(0);
    expect(v.stderr).toBe("");
    const md = cli(["plan", spec]);
    expect(md.stderr).toBe("");
    expect(md.stdout).toContain("## Warnings\n\n- `stonith-disabled` (acknowledged): pacemaker.properties.stonith-");
    const json = planFileSchema.parse(JSON.parse(cli(["plan", spec, "--json"]).stdout));
    expect(json.warnings).toEqual([expect.objectContaining({ id: "stonith-disabled", acknowledged: true })]);
    const unacked = planFileSchema.parse(JSON.parse(cli(["plan", yamlSpec("un", ""), "--json"]).stdout));
    expect(unacked.warnings).toEqual([expect.objectContaining({ id: "stonith-disabled", acknowledged: false })]);
  });

  it("an unknown id is a validation error with a did-you-mean (exit 1)", () => {
    const r = cli(["validate", yamlSpec("typo", "safety: { acknowledge: [stonith-disable] }")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "safety.acknowledge[0]: stonith-disable is not a warning id; did you mean stonith-disabled?",
    );
  });
});
