import { readFileSync } from "node:fs";
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parse as parseYaml } from "yaml";
import { InputError } from "./errors.js";
import { cliCache } from "./cli-cache.js";
import { cachedSpecCode, cachedYaml, compileSpecCode, isSelfContained, parseYamlForCache, runSpecCode, storeSpecCode } from "./spec-cache.js";

export { InputError };

async function readText(path: string, what: string): Promise<string> {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new InputError(`${what} ${path} does not exist`, 2);
    throw new InputError(`cannot read ${what} ${path}: ${code ?? String(e)}`, 2);
  }
}

/**
 * Loads a spec as users wrote it: a TypeScript/JavaScript module whose default export is the spec
 * (`export default defineCluster({...})`, loaded with jiti, no build step), or YAML/JSON.
 */
export async function loadSpecFile(path: string): Promise<unknown> {
  const abs = resolve(path);
  const ext = extname(abs).toLowerCase();
  if (ext === ".yaml" || ext === ".yml" || ext === ".json") {
    const text = await readText(abs, "spec file");
    const cache = ext === ".json" ? undefined : cliCache();
    if (cache) {
      const hit = cachedYaml(cache, abs, text);
      if (hit !== undefined) return hit;
      const parsed = parseYamlForCache(cache, abs, text);
      if (parsed !== undefined) return parsed;
    }
    try {
      if (ext === ".json") return JSON.parse(text) as unknown;
      return parseYaml(text) as unknown;
    } catch (e) {
      throw new InputError(`${path}: not valid ${ext === ".json" ? "JSON" : "YAML"}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  if (![".ts", ".mts", ".cts", ".js", ".mjs", ".cjs"].includes(ext)) {
    throw new InputError(`${path}: unsupported spec file type "${ext}" (use .ts, .js, .yaml, .yml or .json)`, 2);
  }
  const source = await readText(abs, "spec file"); // clear error for a missing file before jiti's own
  const cache = cliCache();
  const cached = cache && cachedSpecCode(cache, abs, source);
  const cachedFn = typeof cached === "string" ? compileSpecCode(abs, cached) : undefined;
  if (cachedFn) return defaultExport(path, runSpec(path, abs, cachedFn));
  const { createJiti } = await import("jiti");
  // Specs import defineCluster from "ha-gen": resolve it to this package's dependency-free
  // define.js, so loading a spec does not load the library a second time. The CLI bundle uses the
  // CommonJS copy: an ES module there would start Node's ES module loader for one identity function.
  const self = new URL(import.meta.url.endsWith(".cjs") ? "./define.cjs" : "./define.js", import.meta.url);
  const jiti = createJiti(import.meta.url, { alias: { "ha-gen": self.pathname }, fsCache: true, moduleCache: false, interopDefault: true });
  if (cache && cached !== null) {
    // First run of this spec source in the CLI: compile it once for the fast path (src/spec-cache.ts).
    let code: string | undefined;
    try {
      code = jiti.transform({ source, filename: abs, ts: /\.[mc]?ts$/.test(ext), async: false });
    } catch {
      code = undefined; // jiti.import below reports the problem the way it always has
    }
    const fn = code !== undefined && isSelfContained(code) ? compileSpecCode(abs, code) : undefined;
    if (fn) {
      const exports = runSpec(path, abs, fn);
      storeSpecCode(cache, abs, source, code!);
      return defaultExport(path, exports);
    }
    if (code !== undefined) storeSpecCode(cache, abs, source, null); // needs jiti: do not compile it again
  }
  let mod: unknown;
  try {
    mod = await jiti.import(pathToFileURL(abs).href);
  } catch (e) {
    throw new InputError(`${path}: cannot load: ${(e as Error).message.split("\n")[0]}`);
  }
  return defaultExport(path, mod);
}

function runSpec(path: string, abs: string, fn: (...args: unknown[]) => void): unknown {
  try {
    return runSpecCode(abs, fn);
  } catch (e) {
    throw new InputError(`${path}: cannot load: ${(e as Error).message.split("\n")[0]}`);
  }
}

function defaultExport(path: string, mod: unknown): unknown {
  const spec = mod && typeof mod === "object" && "default" in mod ? (mod as { default: unknown }).default : mod;
  if (spec === undefined || spec === null) throw new InputError(`${path}: has no default export (use \`export default defineCluster({...})\`)`);
  return spec;
}

/** The secrets file's text, or undefined when it does not exist yet. */
export async function readSecretsText(path: string): Promise<string | undefined> {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new InputError(`cannot read secrets file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 2);
  }
}
