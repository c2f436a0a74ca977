import { defineConfig } from "tsup";

// Templates (*.njk) are bundled as strings so generators never read files at run time.
const common = { format: "esm" as const, target: "node20", platform: "node" as const, loader: { ".njk": "text" as const } };

export default defineConfig([
  // The library: dependencies stay external so users share one zod/yaml with ha-gen.
  { ...common, entry: { index: "src/index.ts", define: "src/define.ts" }, dts: { entry: { index: "src/index.ts" } }, clean: true, sourcemap: false },
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
