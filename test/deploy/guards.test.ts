import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy } from "../../deploy/deploy.js";
import type { PlanStep } from "../../src/core/artifact.js";
import { startSshdLab, type SshdLab } from "../helpers/deploy-sshd.js";
import { labTransport, recorder, scriptOn, step } from "../helpers/deploy-fixtures.js";

/**
 * The Galera bootstrap guard probed over real SSH: with nothing listening on Galera's port the
 * bootstrap step runs; with a Galera node seemingly running (its port open, not Primary) deploy
 * refuses the step, runs nothing after it, and points to `ha-gen recover galera`. The port and the
 * secrets file are the guard's data, so the test uses a free port and a file of its own.
 */

let lab: SshdLab;
let shared: string;

beforeAll(async () => {
  lab = await startSshdLab(["g1", "g2"], { addressBase: 80 });
  shared = join(lab.dir, "shared");
  mkdirSync(shared);
});
afterAll(async () => {
  await lab?.stop();
});

function plan(port: number) {
  const boot: PlanStep = {
    ...step("30-galera-bootstrap", ["g1"], "serial"),
    guard: {
      kind: "galera-bootstrap",
      nodes: ["g1", "g2"],
      probe: { secretsEnv: join(lab.dir, "no-secrets.env"), rootPasswordVar: "MARIADB_ROOT_PASS", port },
    },
  };
  const after = step("31-galera-join", ["g2"], "serial");
  return {
    steps: [boot, after],
    artifacts: [...scriptOn(boot, `touch ${shared}/bootstrapped`), ...scriptOn(after, `touch ${shared}/joined`)],
  };
}

async function run(port: number, dryRun = false) {
  const rec = recorder();
  const { steps, artifacts } = plan(port);
  const result = await deploy({
    artifacts,
    plan: { steps },
    transport: await labTransport(lab),
    root: join(lab.dir, "roots", "{node}"),
    rootSteps: true,
    onEvent: rec.sink,
    dryRun,
  });
  return { result, rec };
}

describe("galera bootstrap guard over SSH", () => {
  /** The port the first test listened on, free again for the second. */
  let port = 0;

  it("refuses to bootstrap while a Galera node runs without being Primary", async () => {
    // Something listens on Galera's replication port, as a running non-Primary node would.
    const server = await new Promise<Server>((res, rej) => {
      const s = createServer();
      s.once("error", rej);
      s.listen(0, "127.0.0.1", () => res(s));
    });
    port = (server.address() as AddressInfo).port;
    try {
      const dry = await run(port, true);
      expect(dry.result.ok).toBe(true);
      expect(
        dry.rec
          .of("warning")
          .map((w) => w.message)
          .join("\n"),
      ).toContain("30-galera-bootstrap would be refused");
      const { result, rec } = await run(port);
      expect(result.ok).toBe(false);
      expect(result.failed!.step).toBe("30-galera-bootstrap");
      expect(result.failed!.message).toContain("ha-gen recover galera");
      expect(result.resumeFrom).toBe("30-galera-bootstrap");
      expect(rec.of("step-start")).toEqual([]);
      expect(existsSync(join(shared, "bootstrapped"))).toBe(false);
      expect(existsSync(join(shared, "joined"))).toBe(false);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("bootstraps when no Galera node runs", async () => {
    const { result, rec } = await run(port);
    expect(result.ok, JSON.stringify(result.failed)).toBe(true);
    expect(rec.of("step-start").map((s) => s.step)).toEqual(["30-galera-bootstrap", "31-galera-join"]);
    expect(existsSync(join(shared, "bootstrapped"))).toBe(true);
  });
});

describe("pacemaker cluster guard over SSH", () => {
  async function runSetup(corosyncConf: string) {
    const rec = recorder();
    const setup: PlanStep = {
      ...step("61-pacemaker-cluster", ["g1"], "serial"),
      guard: { kind: "pacemaker-cluster", nodes: ["g1", "g2"], probe: { corosyncConf } },
    };
    const record = `printf '%s\\n' "\${HA_GEN_CLUSTER_EXISTS:-unset}" > ${shared}/cluster-exists`;
    const result = await deploy({
      artifacts: scriptOn(setup, record),
      plan: { steps: [setup] },
      transport: await labTransport(lab),
      root: join(lab.dir, "roots", "{node}"),
      rootSteps: true,
      onEvent: rec.sink,
    });
    return { result, rec, seen: readFileSync(join(shared, "cluster-exists"), "utf8").trim() };
  }

  it("an existing cluster (corosync.conf lists its nodes) still runs the step, told the cluster exists", async () => {
    const conf = join(lab.dir, "corosync.conf");
    const node = (a: string) => `  node {\n    ring0_addr: ${a}\n  }\n`;
    writeFileSync(conf, `nodelist {\n${node("10.0.0.1")}${node("10.0.0.2")}}\n`);
    const { result, rec, seen } = await runSetup(conf);
    expect(result.ok, JSON.stringify(result.failed)).toBe(true);
    expect(rec.of("step-skip")).toEqual([]);
    expect(seen).toBe("1");
  });

  it("no cluster anywhere: the step runs without it", async () => {
    const { result, seen } = await runSetup(join(lab.dir, "no-corosync.conf"));
    expect(result.ok, JSON.stringify(result.failed)).toBe(true);
    expect(seen).toBe("unset");
  });
});
