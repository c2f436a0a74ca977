import { chmod, readFile } from "node:fs/promises";
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

export default defineConfig([
  {
    ...common,
    entry: { index: "src/index.ts", deploy: "deploy/index.ts", define: "src/core/define.ts" },
    dts: { entry: { index: "src/index.ts", deploy: "deploy/index.ts", define: "src/core/define.ts" } },
    // Runtime dependencies stay external (users share one zod/yaml with ha-gen); nunjucks is bundled.
    noExternal: ["nunjucks"],
    clean: ["!cli/**"], // dist/cli is the other build's
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
