import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy, type DeployResult } from "../../deploy/deploy.js";
import { lockPath } from "../../deploy/lock.js";
import { rootFor } from "../../deploy/select.js";
import type { Artifact, PlanStep } from "../../src/core/artifact.js";
import { startSshdLab, type SshdLab } from "../helpers/deploy-sshd.js";
import { file, labTransport, recorder, scriptOn, step } from "../helpers/deploy-fixtures.js";

/**
 * The per-node deploy lock against real sshd: of two deploys of the same nodes started together,
 * one runs and the other refuses before pushing anything, naming the run that holds the nodes;
 * the lock goes when a run ends (also after a failure) and when its connection drops (the
 * deploying process is killed); a dry run never takes it and only warns.
 */

const NODES = ["l1", "l2"];
let lab: SshdLab;
let roots: string;
let gate: string;

beforeAll(async () => {
  lab = await startSshdLab(NODES, { addressBase: 40 });
  roots = join(lab.dir, "roots");
  gate = join(lab.dir, "gate");
  mkdirSync(roots);
  mkdirSync(gate);
});
afterAll(async () => {
  await lab?.stop();
});

const root = () => join(roots, "{node}");
const content = (n: string, p: string) => {
  const f = join(roots, n, p);
  return existsSync(f) ? readFileSync(f, "utf8") : undefined;
};

/** A run that pushes its own marker file, then waits (bounded) in a step until `gate/<name>` exists. */
function holdingRun(name: string): { artifacts: Artifact[]; steps: PlanStep[] } {
  const s = step(`wait-${name}`, NODES, "parallel");
  const wait = `for i in $(seq 1 600); do [ -e ${gate}/${name} ] && exit 0; sleep 0.05; done; exit 7`;
  return {
    steps: [s],
    artifacts: [
      ...NODES.map((n) => file(n, "/etc/owner", `${name}\n`)),
      ...NODES.map((n) => file(n, `/etc/mark-${name}`, "x\n")),
      ...scriptOn(s, wait),
    ],
  };
}

async function start(name: string, runId: string, extra: Partial<Parameters<typeof deploy>[0]> = {}) {
  const rec = recorder();
  const r = holdingRun(name);
  const result = deploy({
    artifacts: r.artifacts,
    plan: { steps: r.steps },
    transport: await labTransport(lab),
    root: root(),
    rootSteps: true,
    runId,
    onEvent: rec.sink,
    ...extra,
  });
  return { rec, result };
}

const SINCE = /since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$/;

describe("deploy lock over real sshd", () => {
  it("of two deploys started together one runs, the other refuses having pushed nothing", async () => {
    const a = await start("a", "run-a");
    const b = await start("b", "run-b");
    // Whichever won waits at its gate, so the first to return is the one refused.
    const first = await Promise.race([a.result.then(() => a), b.result.then(() => b)]);
    const [loser, winner, winnerName, winnerRun] = first === a ? [a, b, "b", "run-b"] : [b, a, "a", "run-a"];
    const refused: DeployResult = await loser.result;
    expect(refused.ok).toBe(false);
    expect(refused.failed?.step).toBe("lock");
    const who = `(run ${winnerRun} from root@${hostname()}, `;
    expect(refused.failed?.message).toContain(`deploy already running on l1 ${who}`);
    expect(refused.failed?.message).toMatch(SINCE);
    expect(refused.filesChanged).toBe(0);
    expect(loser.rec.of("push-start")).toEqual([]);
    expect(loser.rec.of("node-step-start")).toEqual([]);
    const loserName = winnerName === "a" ? "b" : "a";
    for (const n of NODES) expect(content(n, `etc/mark-${loserName}`)).toBeUndefined();
    expect(loser.rec.of("run-end")[0]?.failed?.message).toBe(refused.failed?.message);

    writeFileSync(join(gate, winnerName), "");
    const won = await winner.result;
    expect(won.ok, JSON.stringify(won.failed)).toBe(true);
    for (const n of NODES) expect(content(n, "etc/owner")).toBe(`${winnerName}\n`);

    // Released when the winner returned: the other runs at once.
    writeFileSync(join(gate, loserName), "");
    const again = await (await start(loserName, `run-${loserName}-2`)).result;
    expect(again.ok, JSON.stringify(again.failed)).toBe(true);
    for (const n of NODES) expect(content(n, "etc/owner")).toBe(`${loserName}\n`);
  });

  it("a dry run during a deploy only warns, and takes no lock", async () => {
    const held = await start("c", "run-c");
    const deadline = Date.now() + 30_000;
    while (held.rec.of("node-step-start").length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const dry = await start("d", "run-d", { dryRun: true });
    const r = await dry.result;
    expect(r.ok).toBe(true);
    const warnings = dry.rec.of("warning").map((w) => w.message);
    expect(warnings.some((w) => w.startsWith("deploy already running on l1, l2 (run run-c from root@"))).toBe(true);
    writeFileSync(join(gate, "c"), "");
    expect((await held.result).ok).toBe(true);
    // A fresh tree's dry run leaves no lock file on the node either.
    const fresh = join(lab.dir, "fresh", "{node}");
    const dry2 = await start("e", "run-e", { dryRun: true, root: fresh });
    expect((await dry2.result).ok).toBe(true);
    for (const n of NODES) expect(existsSync(lockPath(rootFor(fresh, n)))).toBe(false);
  });

  it("a failed run releases the lock when it returns", async () => {
    const s = step("boom", NODES, "parallel");
    const failed = await deploy({
      artifacts: scriptOn(s, "exit 3"),
      plan: { steps: [s] },
      transport: await labTransport(lab),
      root: root(),
      rootSteps: true,
    });
    expect(failed.failed?.step).toBe("boom");
    writeFileSync(join(gate, "f"), "");
    const next = await (await start("f", "run-f")).result;
    expect(next.ok, JSON.stringify(next.failed)).toBe(true);
  });

  it("the lock vanishes when the deploying process dies and its connections drop", async () => {
    const dist = new URL("../../dist/deploy.js", import.meta.url).pathname;
    if (!existsSync(dist)) throw new Error("dist/deploy.js is missing: build first (npx tsup)");
    const r = holdingRun("killed");
    const script = join(lab.dir, "holder.mjs");
    writeFileSync(
      script,
      `import { deploy, SshTransport, KnownHostsFile, loadSshConfig, resolveSshHost } from ${JSON.stringify(dist)};
const config = loadSshConfig(${JSON.stringify(lab.sshConfig)}, true);
const transport = new SshTransport({ resolve: (n) => resolveSshHost(config, n), defaultUser: "root",
  knownHosts: await KnownHostsFile.load(${JSON.stringify(lab.knownHosts)}), acceptNewHostKeys: false });
await deploy({ artifacts: ${JSON.stringify(r.artifacts)}, plan: { steps: ${JSON.stringify(r.steps)} }, transport,
  root: ${JSON.stringify(root())}, rootSteps: true, runId: "run-killed",
  onEvent: (e) => process.stdout.write(JSON.stringify(e) + "\\n") });
`,
    );
    const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const deadline = Date.now() + 30_000;
    while ((out.match(/"node-step-start"/g) ?? []).length < 2 && Date.now() < deadline && child.exitCode === null) {
      await new Promise((res) => setTimeout(res, 50));
    }
    expect((out.match(/"node-step-start"/g) ?? []).length, out + err).toBe(2);
    const busy = await (await start("g", "run-g")).result;
    expect(busy.failed?.message).toContain("deploy already running on l1 (run run-killed from root@");
    child.kill("SIGKILL");
    // Its sshd sessions end and the holder's next heartbeat fails: free within a few seconds.
    writeFileSync(join(gate, "h"), "");
    const t0 = Date.now();
    let result: DeployResult | undefined;
    while (Date.now() - t0 < 15_000) {
      result = await (await start("h", "run-h")).result;
      if (result.failed?.step !== "lock") break;
      await new Promise((res) => setTimeout(res, 250));
    }
    expect(result?.ok, JSON.stringify(result?.failed)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(15_000);
  });
});
