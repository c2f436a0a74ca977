import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { EXAMPLES } from "../helpers/examples.js";

/**
 * Random mutations of the example specs through the real executable. Whatever the input: the exit
 * status is 0, 1 or 2, nothing prints a stack trace or an internal error, and every render that is
 * accepted yields step scripts bash can parse and keeps every secret in private files only.
 * CI runs a fixed seed (test/setup/fast-check.ts).
 */

const REPO = join(import.meta.dirname, "../..");
const CLI = join(REPO, "dist/cli/bin.js");
const RUNS = Number(process.env.HA_GEN_FUZZ_RUNS ?? 40);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const hostileString = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 8 }),
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "\uD800",
    "a\nb",
    "$(id)",
    "`id`",
    "'",
    '"',
    "\\",
    "../../etc",
    "CONTROLLER01",
    "localhost",
    "10.0.0.1",
    "plan.json",
    "x".repeat(300),
    "\uFFFE",
    "#;",
  ),
);
const hostileValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  fc.integer({ min: -70000, max: 70000 }),
  fc.constantFrom(0, -1, 65536, 1e308, -0, 0.5),
  fc.boolean(),
  fc.constant(null),
  fc.constant<Json>([]),
  fc.constant<Json>({}),
);

/** Every path to a value in the spec, so a mutation can reach any field. */
function paths(v: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== "object") return [prefix];
  const entries: [string | number, Json][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
  return [prefix, ...entries.flatMap(([k, x]) => paths(x, [...prefix, k]))];
}

type Mutation =
  | { kind: "set"; at: number; value: Json }
  | { kind: "delete"; at: number }
  | { kind: "add"; at: number; key: string; value: Json }
  | { kind: "duplicate-node"; at: number }
  | { kind: "string"; at: number; value: string }
  | { kind: "upper-case-host"; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: hostileValue }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("add" as const),
      at: fc.nat(),
      key: fc.constantFrom("extra", "__proto__", "constructor", "hostname", "port"),
      value: hostileValue,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("duplicate-node" as const), at: fc.nat() }) },
  // Kinds that keep the spec's shape, so more mutants pass validation and reach the generators.
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("string" as const), at: fc.nat(), value: hostileString }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("upper-case-host" as const), at: fc.nat() }) },
);

function apply(spec: Json, muts: readonly Mutation[]): Json {
  const s = structuredClone(spec) as { [k: string]: Json };
  for (const m of muts) {
    if (m.kind === "upper-case-host") {
      // The hostname only: references to it elsewhere keep their case (DNS names ignore case).
      const nodes = (s.nodes ?? []) as { hostname?: Json }[];
      const node = nodes[m.at % Math.max(1, nodes.length)];
      if (node && typeof node.hostname === "string") node.hostname = node.hostname.toUpperCase();
      continue;
    }
    if (m.kind === "string") {
      const strings = paths(s).filter((p) => p.length > 0 && typeof at(s, p) === "string");
      if (strings.length === 0) continue;
      const p = strings[m.at % strings.length]!;
      (at(s, p.slice(0, -1)) as Record<string | number, Json>)[p[p.length - 1]!] = m.value;
      continue;
    }
    const all = paths(s).filter((p) => p.length > 0);
    const path = all[m.at % all.length]!;
    let parent: Json = s;
    for (const k of path.slice(0, -1)) parent = (parent as Record<string, Json>)[k as string]!;
    const key = path[path.length - 1]!;
    const obj = parent as Record<string | number, Json>;
    if (m.kind === "set") obj[key] = m.value;
    else if (m.kind === "delete") {
      if (Array.isArray(obj)) obj.splice(key as number, 1);
      else delete obj[key];
    } else if (m.kind === "add") {
      const target = obj[key];
      if (target && typeof target === "object" && !Array.isArray(target)) {
        Object.defineProperty(target, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
      }
    } else if (Array.isArray(s.nodes) && s.nodes.length > 0) {
      s.nodes.push(structuredClone(s.nodes[m.at % s.nodes.length]!));
    }
  }
  return s;
}

function at(v: Json, path: readonly (string | number)[]): Json {
  let cur = v;
  for (const k of path) cur = (cur as Record<string | number, Json>)[k]!;
  return cur;
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "ha-gen-fuzz-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

let n = 0;
function check(spec: Json): void {
  const id = n++;
  const specPath = join(work, `spec-${id}.json`);
  const out = join(work, `out-${id}`);
  const secrets = join(work, `s-${id}.yaml`);
  writeFileSync(specPath, JSON.stringify(spec));
  const r = spawnSync(process.execPath, [CLI, "render", specPath, "--out", out, "--secrets", secrets], {
    encoding: "utf8",
    timeout: 60_000,
  });
  const where = `spec-${id}.json: ${r.stderr.slice(0, 400)}`;
  expect([0, 1, 2], where).toContain(r.status);
  expect(r.stderr, where).not.toMatch(/\n\s+at |internal error/);
  if (r.status !== 0) return;
  const values = Object.values(parse(readFileSync(secrets, "utf8")) as Record<string, string>);
  const scripts: string[] = [];
  for (const f of files(out)) {
    const content = readFileSync(f, "utf8");
    const rel = relative(out, f);
    if (values.some((v) => content.includes(v))) expect(statSync(f).mode & 0o007, `${rel} holds a secret`).toBe(0);
    if (f.endsWith(".sh")) scripts.push(f);
  }
  const bash = spawnSync("bash", ["-c", 'for f in "$@"; do bash -n "$f" || echo "BAD $f"; done', "bash", ...scripts], {
    encoding: "utf8",
  });
  expect(bash.stdout + bash.stderr, where).toBe("");
  rmSync(out, { recursive: true, force: true });
}

describe("the executable under random spec mutations", () => {
  for (const [name, example] of Object.entries(EXAMPLES)) {
    it(`${name}: exit 0/1/2, no stack trace; accepted renders parse in bash and keep secrets private`, () => {
      const base = JSON.parse(JSON.stringify(example)) as Json;
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (muts) => check(apply(base, muts))),
        { numRuns: RUNS },
      );
    });
  }
});
