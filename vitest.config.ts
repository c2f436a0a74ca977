import { readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

// Mirror tsup's text loader for *.njk so tests run the same template strings the bundle ships.
const njkAsText = {
  name: "njk-as-text",
  enforce: "pre" as const,
  load(id: string) {
    if (!id.endsWith(".njk")) return null;
    return `export default ${JSON.stringify(readFileSync(id, "utf8"))};`;
  },
};

export default defineConfig({
  plugins: [njkAsText],
  // Examples import "ha-gen" as users do; tests resolve it to the sources.
  resolve: { alias: { "ha-gen": new URL("./src/index.ts", import.meta.url).pathname } },
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/e2e/**", "node_modules/**"],
    // CI must never write snapshots: a missing or stale snapshot fails the run.
    update: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
