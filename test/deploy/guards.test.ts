import { existsSync, mkdirSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy } from "../../deploy/deploy.js";
import { startSshdLab, type SshdLab } from "../helpers/deploy-sshd.js";
import { labTransport, recorder, scriptOn, step } from "../helpers/deploy-fixtures.js";

/**
 * The Galera bootstrap guard probed over real SSH: with nothing listening on Galera's port the
 * bootstrap step runs; with a Galera node seemingly running (port 4567 open, not Primary) deploy
 * refuses the step, runs nothing after it, and points to `ha-gen recover galera`.
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

function plan() {
  const boot = step("30-galera-bootstrap", ["g1"], "serial");
  const after = step("31-galera-join", ["g2"], "serial");
  return { steps: [boot, after], artifacts: [...scriptOn(boot, `touch ${shared}/bootstrapped`), ...scriptOn(after, `touch ${shared}/joined`)] };
}

async function run(dryRun = false) {
  const rec = recorder();
  const { steps, artifacts } = plan();
  const result = await deploy({
    artifacts,
    plan: { steps },
    transport: await labTransport(lab),
    root: join(lab.dir, "roots", "{node}"),
    rootSteps: true,
    guards: { galeraNodes: ["g1", "g2"] },
    onEvent: rec.sink,
    dryRun,
  });
  return { result, rec };
}

describe("galera bootstrap guard over SSH", () => {
  it("refuses to bootstrap while a Galera node runs without being Primary", async () => {
    // Something listens on Galera's replication port, as a running non-Primary node would.
    let server: Server | undefined;
    try {
      server = await new Promise<Server>((res, rej) => {
        const s = createServer();
        s.once("error", rej);
        s.listen(4567, "127.0.0.1", () => res(s));
      });
    } catch (e) {
      throw new Error(`port 4567 is in use on this machine; the guard test needs it free: ${(e as Error).message}`);
    }
    try {
      const dry = await run(true);
      expect(dry.result.ok).toBe(true);
      expect(dry.rec.of("warning").map((w) => w.message).join("\n")).toContain("30-galera-bootstrap would be refused");
      const { result, rec } = await run();
      expect(result.ok).toBe(false);
      expect(result.failed!.step).toBe("30-galera-bootstrap");
      expect(result.failed!.message).toContain("ha-gen recover galera");
      expect(result.resumeFrom).toBe("30-galera-bootstrap");
      expect(rec.of("step-start")).toEqual([]);
      expect(existsSync(join(shared, "bootstrapped"))).toBe(false);
      expect(existsSync(join(shared, "joined"))).toBe(false);
    } finally {
      await new Promise((r) => server!.close(r));
    }
  });

  it("bootstraps when no Galera node runs", async () => {
    const { result, rec } = await run();
    expect(result.ok, JSON.stringify(result.failed)).toBe(true);
    expect(rec.of("step-start").map((s) => s.step)).toEqual(["30-galera-bootstrap", "31-galera-join"]);
    expect(existsSync(join(shared, "bootstrapped"))).toBe(true);
  });
});
