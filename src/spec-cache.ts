import { dirname } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { Script } from "node:vm";
import { parseDocument } from "yaml";
import type { CliCache } from "./cli-cache.js";
import * as define from "./define.js";
import { fnv1a } from "./fnv.js";

/**
 * The CLI's compile cache for specs, kept in the CLI's private cache directory (src/bin.ts). Each
 * entry holds the spec's exact source and is used only for that source, so an edit is always seen.
 *
 * - TypeScript/JavaScript: a spec whose only import is "ha-gen" is compiled to CommonJS once (by
 *   jiti's own transform); later runs evaluate that code directly, so neither jiti nor its compiler
 *   is loaded (jiti's start-up was ~25 ms of every `ha-gen render spec.ts`). Anything else (other
 *   imports, top-level await, dynamic import, import.meta) goes through jiti as before.
 * - YAML: the parsed value, as JSON, when parsing gave no warning and JSON holds it exactly
 *   (no .inf, .nan or -0); parsing the spec was ~7 ms of every `ha-gen render spec.yaml`.
 * - Validation: for a valid spec, the resolved spec and its warnings, keyed by this ha-gen build
 *   and the exact loaded value (not the source: a TypeScript spec may read its environment), when
 *   JSON holds both exactly; building and running the zod schema was ~13 ms of every run.
 *
 * Secrets files are never cached: their values must not be copied anywhere.
 */

/**
 * One cache entry: what kind it is, the spec file it belongs to (one entry per file and kind, so
 * edits replace it instead of piling up), the exact text it was made from, and the result. It is
 * used only when all of these match; `build` ties a result to the ha-gen build that computed it.
 */
interface Entry {
  readonly format: string;
  readonly file: string;
  readonly build?: string;
  readonly key: string;
  readonly value: unknown;
}

type Kind = "spec" | "yaml" | "valid";
const entryName = (kind: Kind, file: string) => `${kind}-${fnv1a(file)}.json`;
const entryFormat = (kind: Kind) => `ha-gen-${kind}-cache/1`;

/** The stored value for exactly this file and key (and build, when given), or undefined. */
function readEntry(cache: CliCache, kind: Kind, file: string, key: string, build?: string): unknown {
  const text = cache.read(entryName(kind, file));
  if (text === undefined) return undefined;
  try {
    const e = JSON.parse(text) as Entry;
    // The whole key is compared, not a digest: a stale entry must never stand in for an edit.
    return e.format === entryFormat(kind) && e.file === file && e.key === key && e.build === build ? e.value : undefined;
  } catch {
    return undefined;
  }
}

function writeEntry(cache: CliCache, kind: Kind, file: string, key: string, value: unknown, build?: string): void {
  const entry: Entry = { format: entryFormat(kind), file, build, key, value };
  cache.write(entryName(kind, file), JSON.stringify(entry));
}

/** The exact JSON text of a value, or undefined when JSON would change it. */
export function exactJson(value: unknown): string | undefined {
  const json = JSON.stringify(value);
  if (json === undefined) return undefined;
  try {
    return isDeepStrictEqual(JSON.parse(json), value) ? json : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the cache knows about this exact spec module source: its CommonJS, null when it needs jiti
 * (remembered, so it is not recompiled), or undefined when nothing is cached.
 */
export function cachedSpecCode(cache: CliCache, file: string, source: string): string | null | undefined {
  const v = readEntry(cache, "spec", file, source);
  return typeof v === "string" || v === null ? v : undefined;
}

export function storeSpecCode(cache: CliCache, file: string, source: string, code: string | null): void {
  writeEntry(cache, "spec", file, source, code);
}

/** True when compiled spec code needs nothing but "ha-gen" and plain CommonJS evaluation. */
export function isSelfContained(code: string): boolean {
  const requires = code.match(/\brequire\s*\(/g)?.length ?? 0;
  const haGen = code.match(/\brequire\("ha-gen"\)/g)?.length ?? 0;
  return requires === haGen && !/\bimport\s*\(|\bimport\.meta\b|\bjiti/.test(code);
}

/** Compiles spec code as a CommonJS function; undefined when it does not compile (jiti then decides). */
export function compileSpecCode(file: string, code: string): ((...args: unknown[]) => void) | undefined {
  try {
    return new Script(`(function (exports, require, module, __filename, __dirname) {${code}\n})`, { filename: file }).runInThisContext() as (...args: unknown[]) => void;
  } catch {
    return undefined;
  }
}

/** Runs compiled spec code; errors thrown by the spec itself propagate. Returns module.exports. */
export function runSpecCode(file: string, fn: (...args: unknown[]) => void): unknown {
  const mod = { exports: {} as Record<string, unknown> };
  const req = (id: string): unknown => {
    if (id === "ha-gen") return define;
    throw new Error(`a cached spec module may import only "ha-gen", not ${JSON.stringify(id)}`);
  };
  fn.call(mod.exports, mod.exports, req, mod, file, dirname(file));
  return mod.exports;
}

/** The cached parse of this exact YAML source, or undefined. */
export function cachedYaml(cache: CliCache, file: string, source: string): unknown {
  const json = readEntry(cache, "yaml", file, source);
  return typeof json === "string" ? (JSON.parse(json) as unknown) : undefined;
}

/**
 * Parses YAML for the cache: the value when the document parsed without errors or warnings, else
 * undefined (the caller then parses as always, which reports them). Stores it when JSON holds it.
 */
export function parseYamlForCache(cache: CliCache, file: string, source: string): unknown {
  const doc = parseDocument(source);
  if (doc.errors.length > 0 || doc.warnings.length > 0) return undefined;
  const value = doc.toJS() as unknown;
  if (value === undefined) return undefined;
  const json = exactJson(value);
  if (json !== undefined) writeEntry(cache, "yaml", file, source, json);
  return value;
}

/** The cached result of validating exactly this input (from this spec file) with this build. */
export function cachedValidation(cache: CliCache, file: string, input: string): unknown {
  const json = readEntry(cache, "valid", file, input, cache.build);
  return typeof json === "string" ? (JSON.parse(json) as unknown) : undefined;
}

export function storeValidation(cache: CliCache, file: string, input: string, result: unknown): void {
  const json = exactJson(result);
  if (json !== undefined) writeEntry(cache, "valid", file, input, json, cache.build);
}
