import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { defineConfig } from "tsup";
import { precompiledModule } from "./generators/precompile.ts";

// `npm run build` empties dist first: the two builds run in parallel, so neither may clean it.
// Templates (*.njk) are compiled at build time and bundled, so generators never read files and
// the CLI never parses a template at run time.
const njk = {
  name: "njk-precompile",
  setup(build: { onLoad(o: { filter: RegExp }, cb: (a: { path: string }) => Promise<{ contents: string; loader: "js" }>): void }) {
    build.onLoad({ filter: /\.njk$/ }, async ({ path }) => ({ contents: precompiledModule(await readFile(path, "utf8"), basename(path, ".njk")), loader: "js" }));
  },
};
const common = { format: "esm" as const, target: "node20", platform: "node" as const, esbuildPlugins: [njk] };

export default defineConfig([
  // The library: dependencies stay external so users share one zod/yaml with ha-gen.
  { ...common, entry: { index: "src/index.ts", define: "src/define.ts" }, dts: { entry: { index: "src/index.ts" } }, clean: false, sourcemap: false },
  // The CLI: one self-contained file (but for jiti, loaded only for .ts specs), because loading
  // zod's and the other dependencies' many ESM modules dominated start-up time.
  {
    ...common,
    entry: { cli: "src/cli.ts" },
    clean: false,
    splitting: true,
    noExternal: [/^(?!jiti$).*/],
    banner: { js: 'import { createRequire as __ha_gen_cr } from "node:module"; const require = __ha_gen_cr(import.meta.url);' },
  },
]);
