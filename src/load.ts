import { readFileSync } from "node:fs";
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parse as parseYaml } from "yaml";
import { InputError } from "./errors.js";

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
  await readText(abs, "spec file"); // clear error for a missing file before jiti's own
  const { createJiti } = await import("jiti");
  // Specs import defineCluster from "ha-gen": resolve it to this package's dependency-free
  // define.js, so loading a spec does not load the library a second time. The CLI bundle uses the
  // CommonJS copy: an ES module there would start Node's ES module loader for one identity function.
  const self = new URL(import.meta.url.endsWith(".cjs") ? "./define.cjs" : "./define.js", import.meta.url);
  const jiti = createJiti(import.meta.url, { alias: { "ha-gen": self.pathname }, fsCache: true, moduleCache: false, interopDefault: true });
  let mod: unknown;
  try {
    mod = await jiti.import(pathToFileURL(abs).href);
  } catch (e) {
    throw new InputError(`${path}: cannot load: ${(e as Error).message.split("\n")[0]}`);
  }
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
