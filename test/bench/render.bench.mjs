// Render benchmark (`npm run bench`, after the build): in-process render time and scaling to
// 1000+ nodes, then the CLI end to end against a bare `node -e 0` on each Node at hand (this one,
// and those fetched by .ci/node-versions.mjs). Prints figures; not a timed test.
//   node test/bench/render.bench.mjs [--rounds N] [--warmup N] [--cli another/build/cli/bin.js]
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { parse } from "yaml";
import { presentNodes } from "../../.ci/node-versions.mjs";
import { renderCluster, SECRET_KEYS } from "../../dist/index.js";

const { values: opts } = parseArgs({
  options: {
    rounds: { type: "string", default: "21" },
    warmup: { type: "string", default: "3" },
    cli: { type: "string" },
  },
});
const ROUNDS = Math.max(21, Number(opts.rounds));
const WARMUP = Math.max(1, Number(opts.warmup));
const repo = new URL("../..", import.meta.url).pathname;
const cli = opts.cli ? resolve(opts.cli) : join(repo, "dist/cli/bin.js");

const secrets = Object.fromEntries(
  SECRET_KEYS.map((k) => [k, k === "erlang_cookie" ? "BENCHCOOKIEBENCHCOOKIEBENCHCOOKIE" : `bench-${k}-0123456789`]),
);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
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

const trainHa = parse(readFileSync(join(repo, "examples/train-ha/cluster.yaml"), "utf8"));
const inProcess = timeIt(() => renderCluster(trainHa, secrets), 200);
const files = renderCluster(trainHa, secrets).artifacts.length;
console.log(`in-process render of train-ha (${files} files): median ${fmt(inProcess)} (target <= 5 ms)`);

function bigSpec(n) {
  const nodes = [];
  for (let i = 0; i < n; i++) {
    const ip = `10.20.${Math.floor((i + 11) / 250)}.${((i + 11) % 250) + 1}`;
    const [hostname, role] = i < 3 ? [`controller${i + 1}`, "controller"] : [`compute${i}`, "compute"];
    nodes.push({ hostname, roles: [role], addresses: { management: ip } });
  }
  const networks = { management: { cidr: "10.20.0.0/16", interface: "eth0" } };
  return { networks, nodes, vip: { address: "10.20.0.5" } };
}
for (const n of [250, 500, 1000, 2000]) {
  const spec = bigSpec(n);
  const ms = timeIt(() => renderCluster(spec, secrets), 5, 1);
  const r = renderCluster(spec, secrets);
  const bytes = r.artifacts.reduce((s, a) => s + a.content.length, 0);
  const size = `${r.artifacts.length} files, ${(bytes / 1e6).toFixed(2)} MB`;
  const target = n === 1000 ? " (target <= 1 s)" : "";
  console.log(`${String(n).padStart(5)} nodes: ${fmt(ms).padStart(10)}  ${size}${target}`);
}

// The CLI against a bare start of the same node. The machine's speed drifts by tens of percent
// over seconds, so each round runs every command once, in turn, and the figures are medians over
// the rounds; the ratio is also taken per round (against that round's `node -e 0`).
const TARGETS = { 20: 3.0, 24: 2.5 };
const benchRoot = join(repo, "test/bench/.work");
mkdirSync(benchRoot, { recursive: true });

function benchNode(bin) {
  const version = spawnSync(bin, ["--version"], { encoding: "utf8" }).stdout.trim();
  const major = Number(version.slice(1).split(".")[0]);
  // A fresh cache home: the compile cache (Node >= 22.1) is written by the warm-up rounds.
  const work = mkdtempSync(join(benchRoot, `node${major}-`));
  const env = { ...process.env, XDG_CACHE_HOME: join(work, "cache"), NODE_COMPILE_CACHE: undefined };
  const out = join(work, "out");
  const secretsFile = join(work, "s.yaml");
  const example = (f) => join(repo, "examples/train-ha", f);
  const render = (spec) => [cli, "render", example(spec), "--out", out, "--secrets", secretsFile];
  // Every timed round must find the output as the first warm-up round left it.
  const unchanged = (r, timed) => !timed || /\(0 written, \d+ unchanged/.test(r.stdout);
  const cases = [
    { label: "node -e 0", args: ["-e", "0"] },
    {
      label: "render cluster.ts, output unchanged",
      args: render("cluster.ts"),
      check: unchanged,
      target: TARGETS[major],
    },
    { label: "render cluster.yaml, output unchanged", args: render("cluster.yaml"), check: unchanged },
    { label: "validate cluster.yaml", args: [cli, "validate", example("cluster.yaml")] },
    { label: "--help", args: [cli, "--help"] },
  ];
  const times = cases.map(() => []);
  for (let i = 0; i < WARMUP + ROUNDS; i++) {
    const timed = i >= WARMUP;
    cases.forEach((c, k) => {
      const s = performance.now();
      const r = spawnSync(bin, c.args, { cwd: repo, encoding: "utf8", env });
      const d = performance.now() - s;
      if (r.status !== 0 || (c.check && !c.check(r, timed))) {
        throw new Error(`node ${version} ${c.args.join(" ")}: exit ${r.status}\n${r.stdout}${r.stderr}`);
      }
      if (timed) times[k].push(d);
    });
  }
  let cacheFiles = 0;
  try {
    cacheFiles = readdirSync(join(work, "cache/ha-gen/compile-cache"), { recursive: true }).length;
  } catch {}
  rmSync(work, { recursive: true, force: true });

  const cache = cacheFiles ? `${cacheFiles} entries` : "none";
  console.log(`\nnode ${version}: ${ROUNDS} rounds after ${WARMUP} warm-up, compile cache ${cache}`);
  const bare = median(times[0]);
  cases.forEach((c, k) => {
    let line = `  ${c.label.padEnd(38)} median ${fmt(median(times[k])).padStart(10)}`;
    if (k > 0) {
      const ofMedians = median(times[k]) / bare;
      const perRound = median(times[k].map((t, i) => t / times[0][i]));
      const met = perRound <= c.target ? "met" : "NOT met";
      const verdict = c.target === undefined ? "" : ` (target <= ${c.target.toFixed(1)}x ${met})`;
      line += `  ${ofMedians.toFixed(2)}x node -e 0, per-round median ${perRound.toFixed(2)}x${verdict}`;
    }
    console.log(line);
  });
}

const nodes = [process.execPath, ...presentNodes().map((n) => n.bin)];
const seen = new Set();
for (const bin of nodes) {
  const v = spawnSync(bin, ["--version"], { encoding: "utf8" }).stdout.trim();
  if (seen.has(v)) continue;
  seen.add(v);
  benchNode(bin);
}
