#!/usr/bin/env node
// Runs the unit suite (vitest, vitest.config.ts) under each Node major besides the one running
// `npm test`. Expects a build (dist/) from `npm run build`; the build does not depend on the Node.
//   node .ci/node-matrix.mjs                      22 and 24, whole unit suite
//   node .ci/node-matrix.mjs --node 24 test/cli   one major, some test files (args go to vitest)
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureNode } from "./node-versions.mjs";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
let args = process.argv.slice(2);
let majors = ["22", "24"];
if (args[0] === "--node") {
  majors = (args[1] ?? "").split(",").filter(Boolean);
  args = args.slice(2);
}
if (!existsSync(join(repo, "dist/cli/bin.js"))) {
  console.error("dist/cli/bin.js is missing: run `npm run build` first");
  process.exit(2);
}

const results = [];
for (const major of majors) {
  const bin = ensureNode(major);
  const version = spawnSync(bin, ["--version"], { encoding: "utf8" }).stdout.trim();
  console.log(`\n=== unit suite on node ${version} (${bin}) ===`);
  const t0 = performance.now();
  // This node first on PATH: tests spawn process.execPath, but `#!/usr/bin/env node` scripts
  // (the installed bin link, npm) would otherwise run the machine's node.
  const r = spawnSync(bin, [join(repo, "node_modules/vitest/vitest.mjs"), "run", ...args], {
    cwd: repo,
    stdio: "inherit",
    env: { ...process.env, PATH: `${dirname(bin)}${delimiter}${process.env.PATH ?? ""}` },
  });
  const seconds = (performance.now() - t0) / 1000;
  results.push({ version, status: r.status ?? 1, seconds, signal: r.signal });
}

console.log("\n=== node matrix ===");
for (const r of results) {
  const how = r.status === 0 ? "passed" : `FAILED (exit ${r.signal ?? r.status})`;
  console.log(`node ${r.version}: ${how} in ${r.seconds.toFixed(1)} s`);
}
process.exit(results.every((r) => r.status === 0) ? 0 : 1);
