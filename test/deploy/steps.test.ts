import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy } from "../../deploy/deploy.js";
import { formatEvent } from "../../src/cli/progress.js";
import type { Artifact, PlanStep } from "../../src/core/artifact.js";
import { startSshdLab, type SshdLab } from "../helpers/deploy-sshd.js";
import { file, labTransport, recorder, scriptOn, step } from "../helpers/deploy-fixtures.js";

/**
 * Step execution over real sshd: plan order, serial order, real overlap of parallel steps, stop at
 * the first failure (running parallel nodes finish, nothing later starts), --from resumes, and
 * secrets never reach events, printed lines or the run log. Scripts record into a shared
 * directory (all "nodes" are this machine); --root-steps gives them HA_GEN_ROOT / HA_GEN_NODE.
 */

const NODES = ["a1", "a2", "a3"];
const SECRET = "Sup3r-Secret-Value-42";
let lab: SshdLab;
let shared: string;
let roots: string;

beforeAll(async () => {
  lab = await startSshdLab(NODES, { addressBase: 30 });
  shared = join(lab.dir, "shared");
  roots = join(lab.dir, "roots");
  mkdirSync(shared);
  mkdirSync(roots);
});
afterAll(async () => {
  await lab?.stop();
});

/** Appends "<step> <node>" to the shared journal. */
const record = (id: string) => `echo "${id} $HA_GEN_NODE" >> ${shared}/journal`;
const journal = () =>
  existsSync(join(shared, "journal")) ? readFileSync(join(shared, "journal"), "utf8").trim().split("\n") : [];

function plan(): { steps: PlanStep[]; artifacts: Artifact[] } {
  const s1 = step("s1-serial", NODES, "serial");
  // Each node waits (bounded) until all three have started: passes only if they really overlap.
  const s2 = step("s2-parallel", NODES, "parallel");
  const s3 = step("s3-changes", NODES, "parallel");
  const s4 = step("s4-fails", NODES, "serial");
  const s5 = step("s5-after", NODES, "parallel");
  const artifacts = [
    ...NODES.map((n) =>
      file(n, "/etc/ha-gen/secrets.env", `HACLUSTER_PASS='${SECRET}'\n`, { mode: 0o600, secret: true }),
    ),
    ...scriptOn(s1, record("s1")),
    ...scriptOn(
      s2,
      `touch ${shared}/started.$HA_GEN_NODE
for i in $(seq 1 200); do [ "$(ls ${shared} | grep -c '^started\\.')" -ge 3 ] && break; sleep 0.05; done
[ "$(ls ${shared} | grep -c '^started\\.')" -ge 3 ] || { echo "not all nodes started together" >&2; exit 9; }
${record("s2")}`,
    ),
    ...scriptOn(
      s3,
      `${record("s3")}\nif [ "$HA_GEN_NODE" = a2 ]; then echo "ha-gen:changed restarted fake-service"; fi`,
    ),
    ...scriptOn(
      s4,
      `${record("s4")}
if [ "$HA_GEN_NODE" = a2 ] && [ ! -e ${shared}/fixed ]; then
  # A leaky script: prints the secret it loaded. deploy must redact it everywhere.
  . "$HA_GEN_ROOT/etc/ha-gen/secrets.env"
  for i in $(seq 1 30); do echo "diagnostic line $i"; done
  echo "password is $HACLUSTER_PASS"
  echo "quoted: '$HACLUSTER_PASS'" >&2
  exit 3
fi`,
    ),
    ...scriptOn(s5, record("s5")),
  ];
  return { steps: [s1, s2, s3, s4, s5], artifacts };
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
    secrets: [SECRET],
    onEvent: rec.sink,
    logDir,
    ...extra,
  });
  return { result, rec, logDir };
}

function allLogText(dir: string): string {
  let out = "";
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out += readFileSync(join(e.parentPath, e.name), "utf8");
  }
  return out;
}

describe("deploy steps over real sshd", () => {
  let first: Awaited<ReturnType<typeof run>>;

  it(
    "runs steps in plan order, serial steps node by node, " + "parallel steps together, and stops at the first failure",
    async () => {
      first = await run();
      const { result, rec } = first;
      expect(result.ok).toBe(false);
      const j = journal();
      // s1 serial in node order; s2 and s3 on every node; s4 stopped at a2 (a3 never started); s5 never ran.
      expect(j.slice(0, 3)).toEqual(["s1 a1", "s1 a2", "s1 a3"]);
      expect(j.slice(3, 6).sort()).toEqual(["s2 a1", "s2 a2", "s2 a3"]);
      expect(j.slice(6, 9).sort()).toEqual(["s3 a1", "s3 a2", "s3 a3"]);
      expect(j.slice(9)).toEqual(["s4 a1", "s4 a2"]);
      expect(result.failed).toMatchObject({ step: "s4-fails", node: "a2", code: 3 });
      expect(result.failed!.tail).toContain("diagnostic line 30");
      expect(result.failed!.tail).toContain("password is [redacted]");
      expect(result.resumeFrom).toBe("s4-fails");
      expect(rec.of("step-start").map((e) => e.step)).toEqual(["s1-serial", "s2-parallel", "s3-changes", "s4-fails"]);
      // changed/unchanged per step and node, from the scripts' `ha-gen:changed` lines.
      const s3 = rec.of("node-step-end").filter((e) => e.step === "s3-changes");
      expect(s3.find((e) => e.node === "a2")!.changes).toEqual(["restarted fake-service"]);
      expect(s3.filter((e) => e.node !== "a2").every((e) => e.changes.length === 0)).toBe(true);
      // The failure report names node, step, exit status and a way to resume.
      const printed = rec.events
        .flatMap((e) => formatEvent(e, { resumeCommand: (s) => `ha-gen deploy x --from ${s}` }))
        .join("\n");
      expect(printed).toContain("FAILED: s4-fails on a2: exit status 3");
      expect(printed).toContain("resume with: ha-gen deploy x --from s4-fails");
    },
  );

  it("keeps secrets out of events, printed output and the run log, which records every step", async () => {
    const { rec, logDir } = first;
    const printed = rec.events.flatMap((e) => formatEvent(e)).join("\n");
    const logs = allLogText(logDir);
    for (const text of [JSON.stringify(rec.events), printed, logs]) {
      expect(text).not.toContain(SECRET);
      expect(text).toContain("[redacted]");
    }
    // Per node, per step: command, exit status, output and timing.
    const a2log = readFileSync(join(logDir, "a2", "04-s4-fails.log"), "utf8");
    expect(a2log).toMatch(/command: timeout .*bash -- .*s4-fails\.sh/);
    expect(a2log).toContain("exit:    3");
    expect(a2log).toContain("out| diagnostic line 1");
    expect(a2log).toMatch(/duration: \d+\.\d\ds/);
    expect(existsSync(join(logDir, "a3", "04-s4-fails.log"))).toBe(false);
    expect(readFileSync(join(logDir, "a1", "01-s1-serial.log"), "utf8")).toContain("exit:    0");
  });

  it("--from resumes at the failed step without rerunning the earlier ones", async () => {
    writeFileSync(join(shared, "fixed"), "");
    const before = journal().length;
    const { result, rec } = await run({ from: "s4-fails" });
    expect(result.ok).toBe(true);
    const j = journal().slice(before);
    expect(j.slice(0, 3)).toEqual(["s4 a1", "s4 a2", "s4 a3"]);
    expect(j.slice(3).sort()).toEqual(["s5 a1", "s5 a2", "s5 a3"]);
    expect(rec.of("step-start").map((e) => e.step)).toEqual(["s4-fails", "s5-after"]);
    // Files were pushed again first (none changed).
    expect(rec.of("push-end").every((e) => e.changed.length === 0)).toBe(true);
  });

  it("a failing parallel step lets running nodes finish and starts nothing after it", async () => {
    const p1 = step("p1-parallel-fail", NODES, "parallel");
    const p2 = step("p2-never", NODES, "parallel");
    const artifacts = [
      // a1 fails only once a2 and a3 are running; they finish after a1 failed.
      ...scriptOn(
        p1,
        `touch ${shared}/p1.$HA_GEN_NODE
if [ "$HA_GEN_NODE" = a1 ]; then
  for i in $(seq 1 200); do [ -e ${shared}/p1.a2 ] && [ -e ${shared}/p1.a3 ] && break; sleep 0.05; done
  touch ${shared}/p1.a1-failed; exit 5
fi
for i in $(seq 1 200); do [ -e ${shared}/p1.a1-failed ] && break; sleep 0.05; done
echo "p1 $HA_GEN_NODE finished" >> ${shared}/journal`,
      ),
      ...scriptOn(p2, record("p2")),
    ];
    const rec = recorder();
    const before = journal().length;
    const transport = await labTransport(lab);
    const root = join(roots, "{node}");
    const plan = { steps: [p1, p2] };
    const result = await deploy({ artifacts, plan, transport, root, rootSteps: true, onEvent: rec.sink });
    expect(result.ok).toBe(false);
    expect(result.failed).toMatchObject({ step: "p1-parallel-fail", node: "a1", code: 5 });
    expect(journal().slice(before).sort()).toEqual(["p1 a2 finished", "p1 a3 finished"]);
    expect(
      rec
        .of("node-step-end")
        .filter((e) => e.step === "p1-parallel-fail")
        .map((e) => [e.node, e.code])
        .sort(),
    ).toEqual([
      ["a1", 5],
      ["a2", 0],
      ["a3", 0],
    ]);
    expect(rec.of("step-start").map((e) => e.step)).toEqual(["p1-parallel-fail"]);
  });

  it("--only and --nodes narrow the run; steps never run under --root without --root-steps", async () => {
    const before = journal().length;
    const { result, rec } = await run({ only: ["s5-after"], nodes: ["a3"] });
    expect(result.ok).toBe(true);
    expect(rec.of("push-end")).toEqual([]);
    expect(journal().slice(before)).toEqual(["s5 a3"]);
    const noSteps = await run({ rootSteps: false });
    expect(noSteps.result.ok).toBe(true);
    expect(noSteps.rec.of("step-start")).toEqual([]);
    expect(noSteps.rec.of("warning")[0]!.message).toContain("--root: files only");
    await expect(run({ rootSteps: false, from: "s1-serial" })).rejects.toThrow(/--root/);
    await expect(run({ only: ["nope"] })).rejects.toThrow(/unknown step "nope"/);
  });
});
