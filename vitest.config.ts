import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename } from "node:path";
import { defineConfig } from "vitest/config";
import { precompiledModule } from "./src/core/template-precompile.ts";

// Same *.njk compilation as the tsup build, so tests run the templates the bundle ships.
const njk = {
  name: "njk-precompile",
  enforce: "pre" as const,
  load(id: string) {
    if (!id.endsWith(".njk")) return null;
    return precompiledModule(readFileSync(id, "utf8"), basename(id, ".njk"));
  },
};

export default defineConfig({
  plugins: [njk],
  // Examples import "ha-gen" as users do; tests resolve it to the sources.
  resolve: {
    alias: {
      "ha-gen/deploy": new URL("./deploy/index.ts", import.meta.url).pathname,
      "ha-gen/define": new URL("./src/core/define.ts", import.meta.url).pathname,
      "ha-gen": new URL("./src/index.ts", import.meta.url).pathname,
    },
  },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/setup/env.ts", "test/setup/fast-check.ts"],
    exclude: ["test/e2e/**", "node_modules/**"],
    // CI must never write snapshots: a missing or stale snapshot fails the run.
    update: false,
    // Most of the suite waits on real daemons, sshd and child processes rather than the CPU, so one
    // worker more than the cores (vitest's default of cores - 1 left 1 worker on 2 cores: 733 s
    // instead of 347 s for the same suite).
    maxWorkers: availableParallelism() + 1,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
