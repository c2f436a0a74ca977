import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The architecture as a test: core (src/core) ← generators ← the rendering API (src/index.ts,
 * src/render.ts) ← deploy ← the CLI (src/cli). Every import points down; generators and deploy use
 * core only; importing "ha-gen" never reaches deploy (so rendering never loads ssh2).
 */

const REPO = resolve(import.meta.dirname, "..");

function filesUnder(dir: string): string[] {
  return readdirSync(join(REPO, dir)).flatMap((e) => {
    const rel = join(dir, e);
    if (statSync(join(REPO, rel)).isDirectory()) return e === "templates" ? [] : filesUnder(rel);
    return rel.endsWith(".ts") && !rel.endsWith(".d.ts") ? [rel] : [];
  });
}

const SOURCES = [...filesUnder("src"), ...filesUnder("generators"), ...filesUnder("deploy")];

const MAX_LINE = 120;

/** Every .ts and .mjs file under `dir`, without the container lab (test/e2e) and the snapshots. */
function testFiles(dir: string): string[] {
  return readdirSync(join(REPO, dir)).flatMap((e) => {
    const rel = join(dir, e);
    if (statSync(join(REPO, rel)).isDirectory())
      return rel === join("test", "e2e") || rel === join("test", "__snapshots__") ? [] : testFiles(rel);
    return rel.endsWith(".ts") || rel.endsWith(".mjs") ? [rel] : [];
  });
}

type Layer = "core" | "generators" | "api" | "deploy" | "cli";
const RANK: Record<Layer, number> = { core: 0, generators: 1, api: 2, deploy: 3, cli: 4 };
/** What each layer may import besides itself. */
const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  core: [],
  generators: ["core"],
  api: ["core", "generators"],
  deploy: ["core"],
  cli: ["core", "generators", "api", "deploy"],
};

function layerOf(file: string): Layer {
  if (file.startsWith("src/core/")) return "core";
  if (file.startsWith("generators/")) return "generators";
  if (file.startsWith("deploy/")) return "deploy";
  if (file.startsWith("src/cli/")) return "cli";
  if (file === "src/index.ts" || file === "src/render.ts") return "api";
  throw new Error(`${file} is in no layer: add it to test/layers.test.ts`);
}

/** Relative imports of a file (static, dynamic and re-exports), resolved to repository paths. */
function importsOf(file: string): string[] {
  const src = readFileSync(join(REPO, file), "utf8");
  const out: string[] = [];
  for (const m of src.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)["'](\.{1,2}\/[^"']+)["']/gm)) {
    const target = relative(REPO, resolve(dirname(join(REPO, file)), m[1]!));
    if (target.endsWith(".njk") || target.endsWith(".json")) continue;
    out.push(target.replace(/\.js$/, ".ts"));
  }
  return out;
}

describe("layers", () => {
  it("every source file is in a layer and imports only the layers below it", () => {
    const wrong: string[] = [];
    for (const file of SOURCES) {
      const from = layerOf(file);
      for (const target of importsOf(file)) {
        const to = layerOf(target);
        if (to !== from && !MAY_IMPORT[from].includes(to)) wrong.push(`${file} (${from}) imports ${target} (${to})`);
        if (RANK[to] > RANK[from]) wrong.push(`${file} (${from}) imports upward: ${target} (${to})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("the rendering entry never reaches deploy, the CLI or an SSH package", () => {
    const seen = new Set<string>();
    const stack = ["src/index.ts"];
    while (stack.length > 0) {
      const f = stack.pop()!;
      if (seen.has(f)) continue;
      seen.add(f);
      const src = readFileSync(join(REPO, f), "utf8");
      expect(src, `${f} loads an SSH package`).not.toMatch(/from\s*["'](ssh2|ssh2-sftp-client|jiti)["']/);
      stack.push(...importsOf(f));
    }
    expect([...seen].filter((f) => !["core", "generators", "api"].includes(layerOf(f)))).toEqual([]);
  });

  it("catches an upward import (the check itself can fail)", () => {
    expect(MAY_IMPORT.core).not.toContain(layerOf("src/cli/main.ts"));
    expect(importsOf("src/render.ts")).toContain("generators/synth.ts");
  });
});

describe("code rules", () => {
  it("no start-up layer of our own, and errors matched by class, never by name", () => {
    const forbidden = [
      /vm\.Script|new Script\(/,
      /cachedData/,
      /fsCache:\s*true/,
      /\b(e|err|error)\.name\s*===/,
      /\.name\s*===\s*"\w*Error"/,
      /from\s*["']node:vm["']/,
    ];
    const hits = SOURCES.flatMap((f) => {
      const src = readFileSync(join(REPO, f), "utf8");
      return forbidden.filter((re) => re.test(src)).map((re) => `${f}: ${re}`);
    });
    expect(hits).toEqual([]);
  });

  it("no line over 120 characters in the sources and the tests (Biome does not split strings and comments)", () => {
    const hits = [...SOURCES, ...testFiles("test")].flatMap((f) =>
      readFileSync(join(REPO, f), "utf8")
        .split(/\r?\n/)
        .flatMap((line, i) => ([...line].length > MAX_LINE ? [`${f}:${i + 1} (${[...line].length})`] : [])),
    );
    expect(hits).toEqual([]);
  });
});
