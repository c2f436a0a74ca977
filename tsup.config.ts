import { defineConfig } from "tsup";

// Templates (*.njk) are bundled as strings so generators never read files at run time.
export default defineConfig({
  entry: { index: "src/index.ts", cli: "src/cli.ts" },
  format: ["esm"],
  target: "node20",
  platform: "node",
  dts: { entry: { index: "src/index.ts" } },
  clean: true,
  splitting: true,
  sourcemap: false,
  loader: { ".njk": "text" },
});
