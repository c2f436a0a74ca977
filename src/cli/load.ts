import { readFileSync } from "node:fs";
import { extname, resolve } from "node:path";
import module, { createRequire, isBuiltin } from "node:module";
import { pathToFileURL } from "node:url";
import { parse as parseYaml } from "yaml";
import { InputError } from "../core/errors.js";

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

interface LoadResult {
  format?: string | null;
  source?: string | ArrayBuffer | Uint8Array | null;
}
interface ResolveResult {
  url: string;
  shortCircuit?: boolean;
}
// node:module's registerHooks (Node >= 22.15), typed by hand: @types/node for Node 20 lacks it.
type RegisterHooks = (hooks: {
  resolve(s: string, c: unknown, next: (s: string, c: unknown) => ResolveResult): ResolveResult;
  load(url: string, c: unknown, next: (url: string, c: unknown) => LoadResult): LoadResult;
}) => { deregister(): void };

/** Thrown by a hook for a spec that Node would not run as jiti does. */
class NeedsJiti extends Error {}

// Raised by Node while it reads the spec, before running it: the spec then goes to jiti, as before.
const BEFORE_RUN = new Set([
  "ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX", // enums, namespaces, parameter properties
  "ERR_INVALID_TYPESCRIPT_SYNTAX",
  "ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING",
  "ERR_UNKNOWN_FILE_EXTENSION",
]);
// CommonJS names (which jiti provides and ES modules lack) and dynamic imports.
const NOT_PLAIN = /\b(?:__dirname|__filename)\b|\brequire\s*[(.]|\b(?:module|exports)\s*[.[]|\bimport\s*\(/;

/**
 * Node (>= 22.15 with type stripping) runs a spec that is one ES module importing only "ha-gen"
 * (resolved to the define module, as with jiti) and node: built-ins, without loading jiti and
 * Babel. Any other spec is left to jiti (undefined is returned): CommonJS, CommonJS names,
 * TypeScript that needs transforming, other imports, or a syntax error, which jiti reports.
 */
async function importNatively(abs: string, define: string): Promise<{ mod: unknown } | undefined> {
  const { registerHooks } = module as { registerHooks?: RegisterHooks };
  if (typeof registerHooks !== "function" || /\.c[jt]s$/i.test(abs)) return undefined;
  if (/\.m?ts$/i.test(abs) && !(process.features as { typescript?: unknown }).typescript) return undefined;
  // The spec's URL as Node resolves it (symbolic links followed) is the one its imports name as parent.
  let specUrl = pathToFileURL(abs).href;
  const requested = specUrl;
  const hooks = registerHooks({
    resolve(s, c, next) {
      if (s === requested) {
        const r = next(s, c);
        specUrl = r.url;
        return r;
      }
      if ((c as { parentURL?: string }).parentURL === specUrl) {
        if (s === "ha-gen") return { url: pathToFileURL(define).href, shortCircuit: true };
        if (!isBuiltin(s)) throw new NeedsJiti();
      }
      return next(s, c);
    },
    load(url, c, next) {
      const r = next(url, c);
      if (url !== specUrl) return r;
      const src = r.source ?? "";
      const text = typeof src === "string" ? src : Buffer.from(src as Uint8Array).toString();
      if ((r.format !== "module" && r.format !== "module-typescript") || NOT_PLAIN.test(text)) throw new NeedsJiti();
      return r;
    },
  });
  try {
    return { mod: (await import(requested)) as unknown };
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    // A SyntaxError without a frame in the spec is Node's, from parsing or linking it; one the
    // spec throws while it runs is the spec's own error.
    const frames = (e instanceof SyntaxError && e.stack ? e.stack : "").split("\n").filter((l) => /^\s+at /.test(l));
    const atLink = e instanceof SyntaxError && !frames.some((l) => l.includes(specUrl));
    if (e instanceof NeedsJiti || atLink || (typeof code === "string" && BEFORE_RUN.has(code))) return undefined;
    throw e;
  } finally {
    hooks.deregister();
  }
}

/**
 * Loads a spec as users wrote it: YAML/JSON, or a TypeScript/JavaScript module whose default
 * export is the spec (`export default defineCluster({...})`), or a function returning it (sync or
 * async), as vite and c12 accept. Modules are loaded with jiti (no build step, no cache on disk),
 * or by Node itself where that runs the spec the same way (importNatively).
 */
export async function loadSpecFile(path: string): Promise<unknown> {
  const abs = resolve(path);
  const ext = extname(abs).toLowerCase();
  if (ext === ".yaml" || ext === ".yml" || ext === ".json") {
    const text = readText(abs, "spec file");
    try {
      if (ext === ".json") return JSON.parse(text) as unknown;
      return parseYaml(text) as unknown;
    } catch (e) {
      throw new InputError(`${path}: not valid ${ext === ".json" ? "JSON" : "YAML"}: ${firstLine(e)}`);
    }
  }
  if (!MODULE_EXTENSIONS.includes(ext)) {
    throw new InputError(`${path}: unsupported spec file type "${ext}" (use .ts, .js, .yaml, .yml or .json)`, 2);
  }
  readText(abs, "spec file"); // a missing file gets our message, not the loader's
  // A spec imports defineCluster from "ha-gen": resolve it to this package's dependency-free
  // define module, so loading a spec does not load the library a second time.
  const define = createRequire(import.meta.url).resolve("ha-gen/define"); // the package's own export
  let mod: unknown;
  try {
    const native = await importNatively(abs, define);
    if (native) mod = native.mod;
    else {
      const { createJiti } = await import("jiti");
      const jiti = createJiti(import.meta.url, {
        alias: { "ha-gen": define },
        fsCache: false, // never write compiled code where another user could replace it
        moduleCache: false,
        interopDefault: false,
      });
      mod = await jiti.import(pathToFileURL(abs).href);
    }
  } catch (e) {
    // jiti's parse errors read "ParseError: <what>\n <file>:<line>:<column>": keep both lines.
    const lines = (e instanceof Error ? e.message : String(e)).split("\n").map((l) => l.trim());
    const where = lines.find((l) => /:\d+:\d+$/.test(l));
    throw new InputError(`${path}: cannot load: ${lines[0]}${where && where !== lines[0] ? ` (at ${where})` : ""}`);
  }
  if (!mod || typeof mod !== "object" || !("default" in mod) || mod.default === undefined || mod.default === null) {
    throw new InputError(`${path}: has no default export (use \`export default defineCluster({...})\`)`);
  }
  let spec: unknown = mod.default;
  if (typeof spec === "function") {
    try {
      spec = await (spec as () => unknown)();
    } catch (e) {
      throw new InputError(`${path}: the default export (a function) threw: ${firstLine(e)}`);
    }
    if (spec === undefined || spec === null) {
      throw new InputError(`${path}: the default export (a function) returned ${String(spec)}`);
    }
  }
  return spec;
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
