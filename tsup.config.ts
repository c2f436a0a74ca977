import { execFileSync } from "node:child_process";
import { chmod, cp, readFile, rm, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Options } from "tsup";
import { precompiledModule } from "./src/core/template-precompile.ts";

// Templates (*.njk) are compiled at build time and bundled, so generators never read files and
// nothing parses a template at run time; nunjucks' slim runtime (a quarter of the package) is all
// that precompiled templates need, so that is what is bundled.
interface Build {
  onLoad(o: { filter: RegExp }, cb: (a: { path: string }) => Promise<{ contents: string; loader: "js" }>): void;
  onResolve(o: { filter: RegExp }, cb: (a: { path: string }) => { path: string }): void;
}
const templates = {
  name: "njk-precompile",
  setup(build: Build) {
    build.onLoad({ filter: /\.njk$/ }, async ({ path }) => ({
      contents: precompiledModule(await readFile(path, "utf8"), basename(path, ".njk")),
      loader: "js",
    }));
    const slim = fileURLToPath(new URL("./node_modules/nunjucks/browser/nunjucks-slim.js", import.meta.url));
    build.onResolve({ filter: /^nunjucks$/ }, () => ({ path: slim }));
  },
};

const common: Options = {
  format: "esm",
  target: "node20",
  platform: "node",
  esbuildPlugins: [templates],
  splitting: true,
  sourcemap: false,
};

/**
 * Declarations come from tsc, one file per module with its declaration map (a bundled .d.ts cannot
 * have one), into dist/types for `import`. `require` gets the same tree in dist/types-cjs, whose
 * package.json says commonjs: TypeScript reads a .d.ts as ESM or CJS by its nearest package.json,
 * and CommonJS users must get CJS types (attw checks both). The maps point at the shipped sources.
 */
async function declarations(): Promise<void> {
  await rm("dist/types", { recursive: true, force: true });
  await rm("dist/types-cjs", { recursive: true, force: true });
  const tsc = fileURLToPath(new URL("./node_modules/typescript/bin/tsc", import.meta.url));
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { stdio: "inherit" });
  await cp("dist/types", "dist/types-cjs", { recursive: true });
  await writeFile("dist/types-cjs/package.json", '{ "type": "commonjs" }\n');
}

export default defineConfig([
  {
    ...common,
    // CommonJS too, for `require("ha-gen")`; splitting keeps one copy of each class (HaGenError)
    // shared by the entries of each format, so `instanceof` holds across ha-gen and ha-gen/deploy.
    format: ["esm", "cjs"],
    shims: true, // import.meta.url in the CJS build (deploy loads ssh2 through createRequire)
    sourcemap: true,
    entry: { index: "src/index.ts", deploy: "deploy/index.ts", define: "src/core/define.ts" },
    // Runtime dependencies stay external (users share one zod/yaml with ha-gen); nunjucks is bundled.
    noExternal: ["nunjucks"],
    clean: ["!cli/**"], // dist/cli is the other build's
    onSuccess: declarations,
  },
  {
    // The executable bundles zod and yaml too: Node resolves, reads and links each of their ~170
    // files on every start otherwise. It shares no module with the library build: a spec's "ha-gen"
    // is this bundle's own copy of the public API (src/index.ts); jiti stays external, loaded only
    // when needed.
    ...common,
    entry: { bin: "src/cli/bin.ts", main: "src/cli/main.ts" },
    outDir: "dist/cli",
    noExternal: ["nunjucks", "zod", "yaml", "ini"],
    // yaml and ini are CommonJS; yaml requires node:process; an ES module has no require of its own.
    banner: {
      js:
        'import { createRequire as __createRequire } from "node:module";\n' +
        "const require = __createRequire(import.meta.url);",
    },
    clean: true,
    async onSuccess() {
      await chmod("dist/cli/bin.js", 0o755);
    },
  },
]);
