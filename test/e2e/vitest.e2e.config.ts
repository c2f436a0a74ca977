import { readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

// The container lab (`npm run test:e2e`, root + Linux): kept out of the default `vitest run`.
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
  root: new URL("../..", import.meta.url).pathname,
  resolve: { alias: { "ha-gen": new URL("../../src/core/define.js", import.meta.url).pathname } },
  test: {
    include: ["test/e2e/**/*.e2e.test.ts"],
    // Refuses before anything is created when not root/Linux or when the lab subnet is in use;
    // tears down before and after the run, also when a test worker dies.
    globalSetup: ["test/e2e/lab/global-setup.ts"],
    // One lab per machine: files never run in parallel, tests inside a file run in order.
    fileParallelism: false,
    sequence: { concurrent: false },
    update: false,
    testTimeout: 30 * 60_000,
    hookTimeout: 45 * 60_000,
    teardownTimeout: 120_000,
    reporters: ["verbose"],
  },
});
