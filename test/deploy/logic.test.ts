import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { resumeCommand } from "../../src/cli/commands/deploy.js";
import { unifiedDiff } from "../../deploy/diff.js";
import { decideGuard, probeNodes } from "../../deploy/guards.js";
import { COROSYNC_CONF, GALERA_PORT, SECRETS_ENV } from "../../src/core/os.js";
import { guardProblem } from "../../src/core/formats.js";
import { formatEvent } from "../../src/cli/progress.js";
import { LineRedactor, REDACTED, Redactor } from "../../deploy/redact.js";
import { rootFor, selectRun } from "../../deploy/select.js";
import { step } from "../helpers/deploy-fixtures.js";
import { artifactAt, renderExample } from "../helpers/examples.js";

/** Pure logic of deploy: diff (checked by GNU patch), redaction, run selection, guard decisions, resume hint. */

const tmp = mkdtempSync(join(tmpdir(), "ha-gen-logic-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Applies our diff with GNU patch and returns the result. */
function patched(before: string | undefined, after: string): string {
  const f = join(tmp, "target");
  writeFileSync(f, before ?? "");
  const d = unifiedDiff(before, after, "target");
  const r = spawnSync("patch", ["-s", "-f", "-p1", "-d", tmp], {
    input: d.replace("--- /dev/null", "--- a/target"),
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`patch rejected:\n${d}\n${r.stdout}${r.stderr}`);
  return readFileSync(f, "utf8");
}

describe("unifiedDiff", () => {
  it("prints the hunks diff -u prints", () => {
    const before = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n";
    const after = "a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\n";
    const ours = unifiedDiff(before, after, "x");
    writeFileSync(join(tmp, "b"), before);
    writeFileSync(join(tmp, "a"), after);
    const gnu = spawnSync("diff", ["-u", "--label", "a/x", "--label", "b/x", join(tmp, "b"), join(tmp, "a")], {
      encoding: "utf8",
    }).stdout;
    expect(ours).toBe(gnu);
    expect(unifiedDiff("same\n", "same\n", "x")).toBe("");
  });

  it(
    "is applied by GNU patch to give exactly the new content " + "(random edits, missing final newlines, new files)",
    () => {
      const line = fc.constantFrom("alpha", "beta", "gamma", "", " x", "delta");
      const text = fc
        .tuple(fc.array(line, { maxLength: 25 }), fc.boolean())
        .map(([ls, nl]) => (ls.length ? ls.join("\n") + (nl ? "\n" : "") : ""));
      fc.assert(
        fc.property(text, text, (a, b) => {
          if (a === b) return;
          expect(patched(a, b)).toBe(b);
        }),
        { numRuns: 150 },
      );
      expect(patched(undefined, "brand\nnew\n")).toBe("brand\nnew\n");
    },
  );
});

describe("Redactor", () => {
  it("removes raw, shell-quoted, JSON-escaped and backslash-escaped forms, longest first", () => {
    const r = new Redactor(["pa'ss\"word$1", "abcdefgh", "abcdefghij", "x"]);
    expect(r.redact("raw pa'ss\"word$1 end")).toBe(`raw ${REDACTED} end`);
    expect(r.redact(`sh 'pa'\\''ss"word$1'`)).toBe(`sh ${REDACTED}`);
    expect(r.redact(JSON.stringify({ v: "pa'ss\"word$1" }))).toBe(`{"v":"${REDACTED}"}`);
    expect(r.redact("escaped pa\\'ss\\\"word\\$1")).toBe(`escaped ${REDACTED}`);
    expect(r.redact("abcdefghij")).toBe(REDACTED);
    expect(r.redact("x marks")).toBe("x marks"); // too short to be a secret: not redacted everywhere
  });

  it("redacts a secret split across streamed chunks", () => {
    const out: string[] = [];
    const lr = new LineRedactor(new Redactor(["topsecret99"]), (l) => out.push(l));
    lr.push("the value: tops");
    lr.push("ecret99 and\nnext line top");
    lr.push("secret99");
    lr.flush();
    expect(out).toEqual([`the value: ${REDACTED} and`, `next line ${REDACTED}`]);
  });
});

describe("selectRun", () => {
  const steps = [
    step("10-a", ["n1", "n2"], "parallel"),
    step("20-b", ["n1"], "serial"),
    step("30-c", ["n2", "n3"], "serial"),
  ];
  const nodes = ["n1", "n2", "n3"];
  it("runs push and every step by default", () => {
    const s = selectRun(steps, nodes, {});
    expect([s.push, s.steps.map((x) => x.id)]).toEqual([true, ["10-a", "20-b", "30-c"]]);
  });
  it("--from pushes and resumes at the step; --only picks steps, push only when named", () => {
    expect(selectRun(steps, nodes, { from: "20-b" }).steps.map((x) => x.id)).toEqual(["20-b", "30-c"]);
    expect(selectRun(steps, nodes, { from: "20-b" }).push).toBe(true);
    const only = selectRun(steps, nodes, { only: ["30-c", "10-a"] });
    expect([only.push, only.steps.map((x) => x.id)]).toEqual([false, ["10-a", "30-c"]]);
    expect(selectRun(steps, nodes, { only: ["push"] }).steps).toEqual([]);
  });
  it("--nodes narrows steps and drops those left without nodes", () => {
    const s = selectRun(steps, nodes, { nodes: ["n3"] });
    expect(s.steps.map((x) => [x.id, x.nodes])).toEqual([["30-c", ["n3"]]]);
    expect(s.notes.join("\n")).toContain("10-a has no node among --nodes");
  });
  it("rejects unknown steps and nodes, and --from with --only", () => {
    expect(() => selectRun(steps, nodes, { from: "nope" })).toThrow(/unknown step "nope".*push, 10-a, 20-b, 30-c/);
    expect(() => selectRun(steps, nodes, { nodes: ["n9"] })).toThrow(/unknown node "n9"/);
    expect(() => selectRun(steps, nodes, { from: "10-a", only: ["push"] })).toThrow(/either --from or --only/);
  });
  it("--root runs no step unless --root-steps; asking for steps under --root is an error", () => {
    expect(selectRun(steps, nodes, { root: true }).steps).toEqual([]);
    expect(selectRun(steps, nodes, { root: true, only: ["push"] }).steps).toEqual([]);
    expect(() => selectRun(steps, nodes, { root: true, from: "10-a" })).toThrow(/--root-steps/);
    expect(selectRun(steps, nodes, { root: true, rootSteps: true }).steps).toHaveLength(3);
    expect(rootFor("/srv/img/{node}/", "n1")).toBe("/srv/img/n1");
    expect(rootFor(undefined, "n1")).toBe("");
  });
});

describe("guards", () => {
  it("are set by the generators on the bootstrap and cluster-setup steps only, with their paths and port", () => {
    const r = renderExample("lab");
    const nodes = ["controller01", "controller02", "controller03"];
    const galeraProbe = { secretsEnv: SECRETS_ENV, rootPasswordVar: "MARIADB_ROOT_PASS", port: GALERA_PORT };
    expect(r.plan.steps.filter((s) => s.guard).map((s) => [s.id, s.guard])).toEqual([
      ["20-galera-bootstrap", { kind: "galera-bootstrap", nodes, probe: galeraProbe }],
      ["61-pacemaker-cluster", { kind: "pacemaker-cluster", nodes, probe: { corosyncConf: COROSYNC_CONF } }],
    ]);
    // The probe's password variable is one the secrets file of every probed node defines.
    for (const n of nodes) expect(artifactAt(r, n, SECRETS_ENV).content).toMatch(/^MARIADB_ROOT_PASS=/m);
    for (const s of r.plan.steps) {
      if (s.guard) expect(guardProblem(JSON.parse(JSON.stringify(s.guard)))).toBeUndefined();
    }
  });
  it("probe the whole plan step's nodes and the guard's, and refuse guards this version cannot check", () => {
    const guard = { kind: "pacemaker-cluster", nodes: ["c2", "c3"], probe: { corosyncConf: "/x" } } as const;
    expect(probeNodes({ nodes: ["c1", "c2"] }, guard)).toEqual(["c1", "c2", "c3"]);
    expect(guardProblem({ ...guard, kind: "etcd-init" })).toMatch(/unknown guard kind "etcd-init"/);
    const noPort = { kind: "galera-bootstrap", nodes: [], probe: { secretsEnv: "/s", rootPasswordVar: "P" } };
    expect(guardProblem(noPort)).toMatch(/guard\.probe\.port: /);
    expect(guardProblem({ ...guard, nodes: "c1" })).toMatch(/nodes/);
  });
  it(
    "Galera bootstrap: run, told the cluster exists, when a node is Primary; refused when one runs " + "non-Primary",
    () => {
      // Only a NEW cluster is prevented: the step still restarts or starts the first controller into the running one.
      const p = decideGuard("galera-bootstrap", [
        { node: "c1", state: "none" },
        { node: "c2", state: "primary" },
      ]);
      expect([p.action, p.env]).toEqual(["run", { HA_GEN_CLUSTER_EXISTS: "1" }]);
      const r = decideGuard("galera-bootstrap", [
        { node: "c1", state: "none" },
        { node: "c3", state: "running" },
      ]);
      expect([r.action, r.reason]).toEqual(["refuse", expect.stringContaining("ha-gen recover galera")]);
      expect(decideGuard("galera-bootstrap", [{ node: "c1", state: "unknown" }]).action).toBe("refuse");
      const fresh = decideGuard("galera-bootstrap", [
        { node: "c1", state: "none" },
        { node: "c2", state: "none" },
      ]);
      expect([fresh.action, fresh.env]).toEqual(["run", undefined]);
    },
  );
  it("never re-creates an existing pacemaker cluster: the step runs told it exists (it may only start it)", () => {
    const exists = { action: "run", env: { HA_GEN_CLUSTER_EXISTS: "1" } };
    const configured = [
      { node: "c1", state: "none" },
      { node: "c2", state: "configured" },
    ];
    expect(decideGuard("pacemaker-cluster", configured)).toMatchObject(exists);
    expect(decideGuard("pacemaker-cluster", [{ node: "c1", state: "member" }])).toMatchObject(exists);
    const none = decideGuard("pacemaker-cluster", [{ node: "c1", state: "none" }]);
    expect([none.action, none.env]).toEqual(["run", undefined]);
    expect(decideGuard("pacemaker-cluster", [{ node: "c1", state: "unreachable" }]).action).toBe("refuse");
  });
});

describe("reporting", () => {
  it("builds the resume command from the original argv, replacing --from/--only and quoting", () => {
    const ids = ["10-a", "20-b", "30-c", "40-d"];
    expect(resumeCommand(["ha-gen", "deploy", "my spec.ts", "--nodes=c1"], "20-b", ids)).toBe(
      "ha-gen deploy 'my spec.ts' --nodes=c1 --from 20-b",
    );
    expect(resumeCommand(["ha-gen", "deploy", "s.ts", "--from=10-a"], "20-b", ids)).toBe(
      "ha-gen deploy s.ts --from 20-b",
    );
    // --only keeps to the listed steps from the failed one on (deploy runs them in plan order).
    expect(resumeCommand(["ha-gen", "deploy", "s.ts", "--only", "push,40-d,10-a,20-b"], "20-b", ids)).toBe(
      "ha-gen deploy s.ts --only 40-d,20-b",
    );
    // A failed push is retried with the same command.
    expect(resumeCommand(["ha-gen", "deploy", "s.ts", "--only", "push"], "push", ids)).toBe(
      "ha-gen deploy s.ts --only push",
    );
  });
  it("says so when a run changed nothing", () => {
    const lines = formatEvent({
      type: "run-end",
      ok: true,
      dryRun: false,
      ms: 900,
      filesChanged: 0,
      filesUnchanged: 66,
      stepsRun: 2,
      stepsChanged: 0,
    });
    expect(lines[0]).toBe("done in 0.9s: no changes (66 file(s) unchanged, 2 step(s) run, none changed anything)");
  });
});
