import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy } from "../../deploy/deploy.js";
import { formatEvent } from "../../src/cli/progress.js";
import type { Artifact, PlanStep } from "../../src/core/artifact.js";
import { startSshdLab, type SshdLab } from "../helpers/deploy-sshd.js";
import { labTransport, recorder, scriptOn, step } from "../helpers/deploy-fixtures.js";

/**
 * A rolling step over real sshd: the start pass runs on every node at once (a barrier that only
 * passes when all three run together), then the restart pass runs one node at a time in the
 * plan's order (not the node list's alphabetical one), never two at once (a "restarting" marker
 * that a second node would find), and stops at the first node whose script reports it unhealthy:
 * the next node's restart never starts. Resuming with --from runs both passes again.
 */

const NODES = ["r1", "r2", "r3"];
/** Plan order of the rolling step: the writer-last order a generator would choose. */
const ORDER = ["r2", "r3", "r1"];
let lab: SshdLab;
let shared: string;
let roots: string;

beforeAll(async () => {
  lab = await startSshdLab(NODES, { addressBase: 140 });
  shared = join(lab.dir, "shared");
  roots = join(lab.dir, "roots");
  mkdirSync(shared);
  mkdirSync(roots);
});
afterAll(async () => {
  await lab?.stop();
});

const journal = () =>
  existsSync(join(shared, "journal")) ? readFileSync(join(shared, "journal"), "utf8").trim().split("\n") : [];

function plan(): { steps: PlanStep[]; artifacts: Artifact[] } {
  const roll = step("40-roll", ORDER, "rolling");
  const after = step("50-after", NODES, "parallel");
  const artifacts = [
    ...scriptOn(
      roll,
      `j=${shared}/journal
case "\${HA_GEN_ROLL:-}" in
  start)
    touch ${shared}/started.$HA_GEN_NODE
    for i in $(seq 1 200); do [ "$(ls ${shared} | grep -c '^started\\.')" -ge 3 ] && break; sleep 0.05; done
    [ "$(ls ${shared} | grep -c '^started\\.')" -ge 3 ] || { echo "start pass not on all nodes at once" >&2; exit 9; }
    echo "start $HA_GEN_NODE" >> "$j"
    ;;
  restart)
    if ls ${shared}/restarting.* >/dev/null 2>&1; then echo "two nodes restarting at once" >&2; exit 8; fi
    touch ${shared}/restarting.$HA_GEN_NODE
    echo "restart-begin $HA_GEN_NODE" >> "$j"
    sleep 0.5
    echo "ha-gen:changed restarted fake-service"
    if [ "$HA_GEN_NODE" = r3 ] && [ ! -e ${shared}/healthy ]; then
      echo "r3 did not become healthy in its cluster" >&2
      exit 4
    fi
    rm -f ${shared}/restarting.$HA_GEN_NODE
    echo "restart-end $HA_GEN_NODE" >> "$j"
    ;;
  *) echo "HA_GEN_ROLL is '\${HA_GEN_ROLL:-}'" >&2; exit 7 ;;
esac`,
    ),
    ...scriptOn(after, `echo "after $HA_GEN_NODE" >> ${shared}/journal`),
  ];
  return { steps: [roll, after], artifacts };
}

async function run(extra: Partial<Parameters<typeof deploy>[0]> = {}) {
  const rec = recorder();
  const { steps, artifacts } = plan();
  const logDir = join(lab.dir, "logs", String(Date.now()));
  const result = await deploy({
    artifacts,
    plan: { steps },
    transport: await labTransport(lab),
    root: join(roots, "{node}"),
    rootSteps: true,
    onEvent: rec.sink,
    logDir,
    ...extra,
  });
  return { result, rec, logDir };
}

const reset = () => {
  for (const f of readdirSync(shared)) rmSync(join(shared, f), { force: true });
};

describe("a rolling step over real sshd", () => {
  const title =
    "starts on every node at once, restarts one node at a time in plan order, stops at the first unhealthy node";
  it(title, async () => {
    reset();
    const { result, rec, logDir } = await run();
    expect(result.ok).toBe(false);
    const j = journal();
    expect(j.slice(0, 3).sort()).toEqual(["start r1", "start r2", "start r3"]);
    // r2 restarted and was healthy before r3 began; r3 failed; r1 (the writer, last) never restarted.
    expect(j.slice(3)).toEqual(["restart-begin r2", "restart-end r2", "restart-begin r3"]);
    expect(result.failed).toMatchObject({ step: "40-roll", node: "r3", code: 4 });
    expect(result.resumeFrom).toBe("40-roll");
    expect(result.stepResults.map((r) => `${r.pass} ${r.node} ${r.code}`).slice(3)).toEqual([
      "restart r2 0",
      "restart r3 4",
    ]);
    // Events name the pass; the plain view shows it.
    const ends = rec.of("node-step-end");
    expect(ends.filter((e) => e.pass === "start")).toHaveLength(3);
    expect(ends.filter((e) => e.pass === "restart").map((e) => e.node)).toEqual(["r2", "r3"]);
    expect(rec.of("step-start")[0]).toMatchObject({ step: "40-roll", mode: "rolling", nodes: ORDER });
    const printed = rec.events.flatMap((e) => formatEvent(e, {}));
    expect(printed).toContain(
      `step 40-roll: test step 40-roll (rolling: start all, restart one at a time on ${ORDER.join(", ")})`,
    );
    expect(printed.some((l) => l.startsWith("  r3 (restart): FAILED (exit 4)"))).toBe(true);
    // Each pass has its own log file per node.
    const logs = readdirSync(logDir, { recursive: true }).map(String);
    expect(logs).toEqual(
      expect.arrayContaining([join("r2", "01-40-roll-start.log"), join("r2", "01-40-roll-restart.log")]),
    );
    // The next step never ran.
    expect(j.some((l) => l.startsWith("after"))).toBe(false);
  });

  it("--from the rolling step, once healthy, runs both passes again and goes on", async () => {
    reset();
    writeFileSync(join(shared, "healthy"), "");
    const { result } = await run({ from: "40-roll" });
    expect(result.ok, JSON.stringify(result.failed)).toBe(true);
    const j = journal();
    expect(j.slice(3, 9)).toEqual(ORDER.flatMap((n) => [`restart-begin ${n}`, `restart-end ${n}`]));
    expect(j.slice(9).sort()).toEqual(["after r1", "after r2", "after r3"]);
  });
});
