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

interface Entry {
  readonly format: "ha-gen-spec-module/1";
  readonly file: string;
  readonly source: string;
  /** CommonJS for the fast path, or null: this source needs jiti (remembered, so it is not recompiled). */
  readonly code: string | null;
}

const entryName = (file: string) => `spec-${fnv1a(file)}.json`;

/**
 * What the cache knows about this exact file and source: its CommonJS, null when it needs jiti, or
 * undefined when nothing (or something stale) is cached.
 */
export function cachedSpecCode(cache: CliCache, file: string, source: string): string | null | undefined {
  const text = cache.read(entryName(file));
  if (text === undefined) return undefined;
  try {
    const e = JSON.parse(text) as Entry;
    // The whole source is compared, not a digest: a stale entry must never stand in for an edit.
    if (e.format !== "ha-gen-spec-module/1" || e.file !== file || e.source !== source) return undefined;
    return typeof e.code === "string" || e.code === null ? e.code : undefined;
  } catch {
    return undefined;
  }
}

export function storeSpecCode(cache: CliCache, file: string, source: string, code: string | null): void {
  const entry: Entry = { format: "ha-gen-spec-module/1", file, source, code };
  cache.write(entryName(file), JSON.stringify(entry));
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

interface YamlEntry {
  readonly format: "ha-gen-spec-yaml/1";
  readonly file: string;
  readonly source: string;
  readonly json: string;
}

const yamlEntryName = (file: string) => `yaml-${fnv1a(file)}.json`;

/** The cached parse of this exact YAML source, or undefined. */
export function cachedYaml(cache: CliCache, file: string, source: string): unknown {
  const text = cache.read(yamlEntryName(file));
  if (text === undefined) return undefined;
  try {
    const e = JSON.parse(text) as YamlEntry;
    if (e.format !== "ha-gen-spec-yaml/1" || e.file !== file || e.source !== source || typeof e.json !== "string") return undefined;
    return JSON.parse(e.json) as unknown;
  } catch {
    return undefined;
  }
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
  if (json !== undefined) {
    const entry: YamlEntry = { format: "ha-gen-spec-yaml/1", file, source, json };
    cache.write(yamlEntryName(file), JSON.stringify(entry));
  }
  return value;
}

interface ValidationEntry {
  readonly format: "ha-gen-validation/1";
  readonly file: string;
  readonly build: string;
  readonly input: string;
  readonly output: string;
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

// One entry per spec file, replaced when its input changes: edits do not pile up entries.
const validationEntryName = (file: string) => `valid-${fnv1a(file)}.json`;

/** The cached result of validating exactly this input (from this spec file) with this build. */
export function cachedValidation(cache: CliCache, file: string, input: string): unknown {
  const text = cache.read(validationEntryName(file));
  if (text === undefined) return undefined;
  try {
    const e = JSON.parse(text) as ValidationEntry;
    if (e.format !== "ha-gen-validation/1" || e.file !== file || e.build !== cache.build || e.input !== input || typeof e.output !== "string") return undefined;
    return JSON.parse(e.output) as unknown;
  } catch {
    return undefined;
  }
}

export function storeValidation(cache: CliCache, file: string, input: string, result: unknown): void {
  const output = exactJson(result);
  if (output === undefined) return;
  const entry: ValidationEntry = { format: "ha-gen-validation/1", file, build: cache.build, input, output };
  cache.write(validationEntryName(file), JSON.stringify(entry));
}
