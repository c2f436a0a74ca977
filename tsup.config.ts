import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "tsup";
import { precompiledModule } from "./generators/precompile.ts";

// `npm run build` empties dist first: the two builds run in parallel, so neither may clean it.
// Templates (*.njk) are compiled at build time and bundled, so generators never read files and
// the CLI never parses a template at run time.
interface Build {
  onLoad(o: { filter: RegExp }, cb: (a: { path: string }) => Promise<{ contents: string; loader: "js" }>): void;
  onResolve(o: { filter: RegExp }, cb: (a: { path: string; importer: string }) => { path: string; external?: boolean } | undefined): void;
}
const njk = {
  name: "njk-precompile",
  setup(build: Build) {
    build.onLoad({ filter: /\.njk$/ }, async ({ path }) => ({ contents: precompiledModule(await readFile(path, "utf8"), basename(path, ".njk")), loader: "js" }));
  },
};

// The CLI bundle needs only nunjucks' runtime (templates arrive precompiled): its slim build is a
// quarter of the full package. `ha-gen deploy`/`recover` live in their own bundle, loaded only by them.
const cliOnly = {
  name: "cli-only",
  setup(build: Build) {
    build.onResolve({ filter: /^nunjucks$/ }, () => ({ path: fileURLToPath(new URL("./node_modules/nunjucks/browser/nunjucks-slim.js", import.meta.url)) }));
    build.onResolve({ filter: /\/deploy\/cli\.js$/ }, ({ importer }) => (importer.endsWith("src/cli.ts") ? { path: "./cli-deploy.cjs", external: true } : undefined));
  },
};

/** Writes cli-main.cjs's digest into the executable, which names its code cache by it (src/bin.ts). */
async function stampDigest(): Promise<void> {
  const main = await readFile("dist/cli-main.cjs");
  const digest = createHash("sha256").update(main).digest("hex");
  const bin = await readFile("dist/cli.cjs", "utf8");
  if (!bin.includes("__HA_GEN_MAIN_DIGEST__")) throw new Error("dist/cli.cjs lacks the digest placeholder");
  await writeFile("dist/cli.cjs", bin.replace("__HA_GEN_MAIN_DIGEST__", digest), { mode: 0o755 });
}

export default defineConfig([
  // The library: dependencies stay external so users share one zod/yaml with ha-gen.
  {
    format: "esm",
    target: "node20",
    platform: "node",
    esbuildPlugins: [njk],
    entry: { index: "src/index.ts", define: "src/define.ts" },
    dts: { entry: { index: "src/index.ts" } },
    clean: false,
    sourcemap: false,
  },
  // The CLI: self-contained CommonJS files (but for jiti and ssh2, loaded only when needed):
  // loading many ES modules and compiling them on each start dominated its start-up time.
  {
    format: "cjs",
    target: "node20",
    platform: "node",
    esbuildPlugins: [njk, cliOnly],
    entry: { cli: "src/bin.ts", "cli-main": "src/cli.ts", "cli-deploy": "deploy/cli.ts", define: "src/define.ts" },
    outExtension: () => ({ js: ".cjs" }),
    clean: false,
    splitting: false,
    shims: true,
    noExternal: [/^(?!(jiti|ssh2)$).*/],
    // Keep `import()` of jiti and of the deploy bundle as require(): the main bundle runs in a
    // vm.Script (src/bin.ts), where a dynamic import() has no module loader to call.
    esbuildOptions(o) {
      o.supported = { ...o.supported, "dynamic-import": false };
      // Less to read and deserialize at each start; names stay, so a bug's stack trace stays readable.
      o.minifyWhitespace = true;
      o.minifySyntax = true;
    },
    onSuccess: stampDigest,
  },
]);
