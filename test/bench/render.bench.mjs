// Render benchmark (`npm run bench`): in-process render time, CLI end to end against a bare
// `node -e 0`, and scaling to 1000+ nodes. Prints figures; not a timed test.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parse } from "yaml";
import { renderCluster, SECRET_KEYS } from "../../dist/index.js";

const secrets = Object.fromEntries(SECRET_KEYS.map((k) => [k, k === "erlang_cookie" ? "BENCHCOOKIEBENCHCOOKIEBENCHCOOKIE" : `bench-${k}-0123456789`]));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => `${ms.toFixed(2)} ms`;

function timeIt(fn, runs, warmup = 5) {
  for (let i = 0; i < warmup; i++) fn();
  const t = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    fn();
    t.push(performance.now() - s);
  }
  return median(t);
}

const trainHa = parse(readFileSync("examples/train-ha/cluster.yaml", "utf8"));
const inProcess = timeIt(() => renderCluster(trainHa, secrets), 200);
const files = renderCluster(trainHa, secrets).artifacts.length;
console.log(`in-process render of train-ha (${files} files): median ${fmt(inProcess)} (target <= 5 ms)`);

function spawnMedian(args, runs = 15) {
  const t = [];
  for (let i = 0; i < runs + 2; i++) {
    const s = performance.now();
    const r = spawnSync(process.execPath, args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr}`);
    if (i >= 2) t.push(performance.now() - s);
  }
  return median(t);
}
const work = mkdtempSync(join(tmpdir(), "ha-gen-bench-"));
const secretsFile = join(work, "bench.secrets.yaml");
const bare = spawnMedian(["-e", "0"]);
const cliTs = spawnMedian(["dist/cli.cjs", "render", "examples/train-ha/cluster.ts", "--out", join(work, "out"), "--secrets", secretsFile]);
const cliYaml = spawnMedian(["dist/cli.cjs", "render", "examples/train-ha/cluster.yaml", "--out", join(work, "out"), "--secrets", secretsFile]);
console.log(`node -e 0: median ${fmt(bare)}`);
console.log(`ha-gen render cluster.ts:   median ${fmt(cliTs)} = ${(cliTs / bare).toFixed(2)}x node -e 0 (target <= 1.5x)`);
console.log(`ha-gen render cluster.yaml: median ${fmt(cliYaml)} = ${(cliYaml / bare).toFixed(2)}x node -e 0`);

function bigSpec(n) {
  const nodes = [];
  for (let i = 0; i < n; i++) {
    const ip = `10.20.${Math.floor((i + 11) / 250)}.${((i + 11) % 250) + 1}`;
    nodes.push({ hostname: i < 3 ? `controller${i + 1}` : `compute${i}`, roles: [i < 3 ? "controller" : "compute"], addresses: { management: ip } });
  }
  return { networks: { management: { cidr: "10.20.0.0/16", interface: "eth0" } }, nodes, vip: { address: "10.20.0.5" } };
}
for (const n of [250, 500, 1000, 2000]) {
  const spec = bigSpec(n);
  const ms = timeIt(() => renderCluster(spec, secrets), 5, 1);
  const r = renderCluster(spec, secrets);
  const bytes = r.artifacts.reduce((s, a) => s + a.content.length, 0);
  console.log(`${String(n).padStart(5)} nodes: ${fmt(ms).padStart(10)}  ${r.artifacts.length} files, ${(bytes / 1e6).toFixed(2)} MB${n === 1000 ? " (target <= 1 s)" : ""}`);
}
rmSync(work, { recursive: true, force: true });
