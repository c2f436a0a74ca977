import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy } from "../../deploy/deploy.js";
import { recoverGalera } from "../../deploy/recover.js";
import { GALERA_RECOVER_SCRIPT } from "../../src/core/galera-recovery.js";
import { startSshdLab, type SshdLab } from "../helpers/deploy-sshd.js";
import type { DeployEvent } from "../../deploy/events.js";
import { labTransport, recorder, scriptOn, step } from "../helpers/deploy-fixtures.js";

/**
 * `recover galera` orchestration over real sshd: every controller reports (a stand-in
 * galera-recover.sh under --root prints the report line the real one prints, with a seqno the
 * test chooses), the node with the latest transaction bootstraps, the others join one at a time
 * in spec order; a controller that cannot report makes it refuse and change nothing.
 */

const NODES = ["controller01", "controller02", "controller03"];
const UUID = "6b1b1f0e-3a51-11ef-8c5e-0242ac120002";
let lab: SshdLab;
let shared: string;
let roots: string;
const journal = () =>
  existsSync(join(shared, "journal")) ? readFileSync(join(shared, "journal"), "utf8").trim().split("\n") : [];

beforeAll(async () => {
  lab = await startSshdLab(NODES, { addressBase: 90 });
  shared = join(lab.dir, "shared");
  roots = join(lab.dir, "roots");
  mkdirSync(shared);
  for (const n of NODES) {
    const script = join(roots, n, GALERA_RECOVER_SCRIPT);
    mkdirSync(join(script, ".."), { recursive: true });
    writeFileSync(
      script,
      `#!/usr/bin/env bash
set -euo pipefail
case "$1" in
  report)
    [ -e ${shared}/broken.$HA_GEN_NODE ] && { echo "mysqld: cannot read grastate.dat" >&2; exit 1; }
    printf 'ha-gen:galera node=%s uuid=${UUID} seqno=%s safe_to_bootstrap=0 running=no state=stopped\\n' ` +
        `"$HA_GEN_NODE" "$(cat ${shared}/seqno.$HA_GEN_NODE)" ;;
  bootstrap|join) echo "$1 $HA_GEN_NODE" >> ${shared}/journal ;;
  *) exit 2 ;;
esac
`,
      { mode: 0o755 },
    );
  }
});
afterAll(async () => {
  await lab?.stop();
});

function seqnos(values: number[]): void {
  NODES.forEach((n, i) => {
    writeFileSync(join(shared, `seqno.${n}`), String(values[i]));
  });
}

const recover = async (dryRun = false) => {
  const rec = recorder();
  const r = await recoverGalera({
    controllers: NODES,
    transport: await labTransport(lab),
    root: join(roots, "{node}"),
    dryRun,
    onEvent: rec.sink,
  });
  return { r, rec };
};

describe("recover galera", () => {
  it("--dry-run reports every controller and the decision, and runs nothing", async () => {
    seqnos([5, 9, 7]);
    const { r, rec } = await recover(true);
    expect(r.ok).toBe(true);
    expect(r.decision).toMatchObject({
      action: "bootstrap",
      node: "controller02",
      join: ["controller01", "controller03"],
    });
    const ev = rec.of("galera-recovery")[0]!;
    expect(ev.reports.map((x) => x.seqno)).toEqual([5, 9, 7]);
    expect(journal()).toEqual([]);
  });

  it("bootstraps the node with the highest seqno, then joins the others one at a time in spec order", async () => {
    seqnos([5, 9, 7]);
    const { r, rec } = await recover();
    expect(r.ok, JSON.stringify(r.run?.failed)).toBe(true);
    expect(journal()).toEqual(["bootstrap controller02", "join controller01", "join controller03"]);
    const starts = rec.of("node-step-start").map((e) => e.command);
    expect(starts[0]).toMatch(/galera-recover\.sh bootstrap$/);
  });

  it("refuses and changes nothing when a controller cannot report", async () => {
    const before = journal().length;
    seqnos([12, 10, 11]);
    writeFileSync(join(shared, "broken.controller03"), "");
    const { r, rec } = await recover();
    expect(r.ok).toBe(false);
    expect(r.decision.action).toBe("refuse");
    expect(r.decision.reason).toContain("no report from controller03");
    expect(rec.of("galera-recovery")[0]!.reports[2]!.error).toContain("cannot read grastate.dat");
    expect(journal().length).toBe(before);
  });

  it("refuses, reading and changing nothing, while a deploy holds the controllers", async () => {
    rmSync(join(shared, "broken.controller03"), { force: true });
    seqnos([1, 2, 3]);
    const before = journal().length;
    const hold = step("hold", NODES, "parallel");
    const running = deploy({
      artifacts: scriptOn(hold, `until [ -e ${shared}/go ]; do sleep 0.05; done`),
      plan: { steps: [hold] },
      transport: await labTransport(lab),
      root: join(roots, "{node}"),
      rootSteps: true,
      runId: "run-holding",
    });
    const probe = recorder();
    // Wait (bounded) until the deploy holds the locks: a dry recovery then warns about it.
    for (let i = 0; i < 200; i++) {
      probe.events.length = 0;
      await recoverGalera({
        controllers: NODES,
        transport: await labTransport(lab),
        root: join(roots, "{node}"),
        dryRun: true,
        onEvent: probe.sink,
      });
      if (probe.of("warning").some((w) => w.message.includes("run run-holding"))) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const { r, rec } = await recover();
    expect(r.ok).toBe(false);
    expect(r.decision.action).toBe("refuse");
    expect(r.decision.reason).toMatch(/^deploy already running on controller01 \(run run-holding from /);
    expect(rec.of("galera-recovery")).toEqual([]);
    expect(journal().length).toBe(before);
    writeFileSync(join(shared, "go"), "");
    expect((await running).ok).toBe(true);
  });

  /** A recovery whose signal is aborted (Ctrl-C) when `when` first matches one of its events. */
  const interrupted = async (when: (e: DeployEvent) => boolean) => {
    const ac = new AbortController();
    const rec = recorder();
    const r = await recoverGalera({
      controllers: NODES,
      transport: await labTransport(lab),
      root: join(roots, "{node}"),
      onEvent: (e) => {
        rec.sink(e);
        if (!ac.signal.aborted && when(e)) ac.abort();
      },
      signal: ac.signal,
    });
    return { r, rec };
  };

  it("Ctrl-C while connecting: the decision is shown, nothing bootstraps or joins", async () => {
    rmSync(join(shared, "go"), { force: true });
    seqnos([4, 6, 5]);
    const before = journal().length;
    const { r, rec } = await interrupted((e) => e.type === "connect-end");
    expect(rec.of("galera-recovery")[0]).toMatchObject({ action: "bootstrap", bootstrap: "controller02" });
    expect(journal().length).toBe(before);
    expect(rec.of("node-step-start")).toEqual([]);
    expect(r.ok).toBe(false);
    expect(r.run?.interrupted).toBe(true);
  });

  it("Ctrl-C while the bootstrap runs: the bootstrap finishes, no join starts", async () => {
    seqnos([8, 3, 2]);
    const before = journal().length;
    const { r, rec } = await interrupted((e) => e.type === "node-step-start");
    expect(journal().slice(before)).toEqual(["bootstrap controller01"]);
    expect(rec.of("node-step-start").map((e) => e.node)).toEqual(["controller01"]);
    expect(r.ok).toBe(false);
    expect(r.run?.interrupted).toBe(true);
    expect(r.run?.resumeFrom).toBe("recover-galera-join");
  });
});
