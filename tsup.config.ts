import { chmod, readFile } from "node:fs/promises";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "tsup";
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

export default defineConfig({
  format: "esm",
  target: "node20",
  platform: "node",
  entry: {
    index: "src/index.ts",
    deploy: "deploy/index.ts",
    define: "src/core/define.ts",
    "cli/bin": "src/cli/bin.ts",
    "cli/main": "src/cli/main.ts",
  },
  dts: { entry: { index: "src/index.ts", deploy: "deploy/index.ts", define: "src/core/define.ts" } },
  esbuildPlugins: [templates],
  // Runtime dependencies stay external (users share one zod/yaml with ha-gen); nunjucks is bundled.
  noExternal: ["nunjucks"],
  splitting: true,
  clean: true,
  sourcemap: false,
  async onSuccess() {
    await chmod("dist/cli/bin.js", 0o755);
  },
});
