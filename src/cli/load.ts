import { readFileSync } from "node:fs";
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { types } from "node:util";
import { parse as parseYaml } from "yaml";
import { InputError } from "../core/errors.js";
import { parseJsonStrict } from "../core/json.js";
import { MAX_SPEC_DEPTH } from "../core/spec/plain.js";

const MODULE_EXTENSIONS = [".ts", ".mts", ".cts", ".js", ".mjs", ".cjs"];

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new InputError(`${what} ${path} does not exist`, 2);
    throw new InputError(`cannot read ${what} ${path}: ${code ?? String(e)}`, 2);
  }
}

/** The first line of an error's message: loaders append stacks and code frames below it. */
const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0]!.trim();

/** A loaded spec: its value and every file it was read from (the spec and the modules it imports). */
export interface LoadedSpec {
  readonly value: unknown;
  readonly files: readonly string[];
}

/**
 * Loads a spec as users wrote it: YAML/JSON, or a TypeScript/JavaScript module whose default
 * export is the spec (`export default defineCluster({...})`), a Promise of it, or a function returning
 * it (sync or async), as vite accepts. Modules are loaded with jiti (no build step, no cache on disk).
 */
export async function loadSpec(path: string): Promise<LoadedSpec> {
  const abs = resolve(path);
  const ext = extname(abs).toLowerCase();
  if (ext === ".yaml" || ext === ".yml" || ext === ".json") {
    const text = readText(abs, "spec file");
    try {
      // Strict JSON: a duplicate key is an error, as it is in YAML.
      return { value: ext === ".json" ? parseJsonStrict(text, MAX_SPEC_DEPTH) : parseYaml(text), files: [abs] };
    } catch (e) {
      throw new InputError(`${path}: not valid ${ext === ".json" ? "JSON" : "YAML"}: ${firstLine(e)}`);
    }
  }
  if (!MODULE_EXTENSIONS.includes(ext)) {
    throw new InputError(`${path}: unsupported spec file type "${ext}" (use .ts, .js, .yaml, .yml or .json)`, 2);
  }
  readText(abs, "spec file"); // a missing file gets our message, not the loader's
  const [{ createJiti }, api] = await Promise.all([import("jiti"), import("../index.js")]);
  // A spec's "ha-gen" is the public API a library user imports, the very modules this executable
  // runs (not a second copy, and nothing to resolve: the spec's folder need not have ha-gen).
  const jiti = createJiti(import.meta.url, {
    virtualModules: { "ha-gen": api, "ha-gen/define": { defineCluster: api.defineCluster } },
    fsCache: false, // never write compiled code where another user could replace it
    moduleCache: true, // in memory only: it lists the files the spec was read from
    interopDefault: false,
  });
  const before = new Set(Object.keys(jiti.cache));
  const restore = specOutputToStderr();
  try {
    const { value } = await evaluate(path, jiti, abs);
    // Everything loaded to evaluate the spec: its own modules, and packages it imports.
    const files = Object.keys(jiti.cache).filter((f) => !before.has(f));
    return { value, files: files.includes(abs) ? files : [abs, ...files] };
  } finally {
    restore();
    for (const f of Object.keys(jiti.cache)) if (!before.has(f)) delete jiti.cache[f];
  }
}

/** The spec's value only (tests and tools that do not care which files it came from). */
export async function loadSpecFile(path: string): Promise<unknown> {
  return (await loadSpec(path)).value;
}

/** The spec comes back wrapped: a Proxy returned bare from an async function would be asked for `then`. */
async function evaluate(
  path: string,
  jiti: { import(id: string): Promise<unknown> },
  abs: string,
): Promise<{ value: unknown }> {
  let mod: unknown;
  try {
    mod = await jiti.import(pathToFileURL(abs).href);
  } catch (e) {
    // jiti's parse errors read "ParseError: <what>\n <file>:<line>:<column>": keep both lines.
    const lines = (e instanceof Error ? e.message : String(e)).split("\n").map((l) => l.trim());
    const where = lines.find((l) => /:\d+:\d+$/.test(l));
    throw new InputError(`${path}: cannot load: ${lines[0]}${where && where !== lines[0] ? ` (at ${where})` : ""}`);
  }
  if (!mod || typeof mod !== "object" || !("default" in mod) || mod.default === undefined || mod.default === null) {
    throw new InputError(`${path}: has no default export (use \`export default defineCluster({...})\`)`);
  }
  // The default export as vite takes it: a Promise is awaited (only a real one: a thenable could be
  // a Proxy answering anything), a function (sync or async) is called.
  const settle = async (what: string, failed: string, ended: string, get: () => unknown): Promise<unknown> => {
    let v: unknown;
    try {
      v = await get();
    } catch (e) {
      throw new InputError(`${path}: the default export (${what}) ${failed}: ${firstLine(e)}`);
    }
    if (v === undefined || v === null) throw new InputError(`${path}: the default export (${what}) ${ended} ${v}`);
    return v;
  };
  let spec: unknown = mod.default;
  if (types.isPromise(spec)) {
    const p = spec;
    spec = await settle("a Promise", "rejected", "resolved to", () => p);
  }
  if (typeof spec === "function") spec = await settle("a function", "threw", "returned", spec as () => unknown);
  return { value: spec };
}

/**
 * While a spec module runs, what it prints goes to stderr: stdout carries the command's own output
 * (`plan --format json`, `--json` events), which must stay machine-readable.
 */
function specOutputToStderr(): () => void {
  const methods = ["log", "info", "debug", "dir", "table", "trace"] as const;
  const saved = methods.map((m) => console[m]);
  const write = process.stdout.write;
  const toErr = (...args: unknown[]) => console.error(...args);
  for (const m of methods) console[m] = toErr;
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  return () => {
    methods.forEach((m, i) => {
      console[m] = saved[i]!;
    });
    process.stdout.write = write;
  };
}

/** The secrets file's text, or undefined when it does not exist yet. */
export function readSecretsText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new InputError(`cannot read secrets file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 2);
  }
}
