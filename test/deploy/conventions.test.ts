import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MANIFEST_FORMAT, PLAN_FORMAT, parseDeployEvents, parseErrorResult } from "../../src/core/formats.js";
import { startSshdLab, type SshdLab } from "../helpers/deploy-sshd.js";

/**
 * The automation conventions of `ha-gen deploy`, through the built CLI against real sshd on
 * loopback: Ctrl-C (SIGINT/SIGTERM) stops a run cleanly — the running step finishes, the next one
 * does not start, the message names the `--from` to resume, the nodes' lock is free again and exit
 * is 130; a second Ctrl-C exits at once; `--detailed-exitcode` (0 / 2 / 1); the non-TTY heartbeat.
 * The input is a rendered directory written here: two steps, the first sleeping between markers.
 */

const CLI = new URL("../../dist/cli/bin.js", import.meta.url).pathname;
const NODES = ["i1", "i2"];
let lab: SshdLab;
let dir: string;

interface Child {
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  stdout(): string;
  kill(sig: NodeJS.Signals): void;
}

function start(args: readonly string[], env: Record<string, string> = {}): Child {
  const { SSH_AUTH_SOCK: _agent, ...base } = process.env;
  const p = spawn(process.execPath, [CLI, ...args], { env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const t = setTimeout(() => p.kill("SIGKILL"), 90_000);
  const done = new Promise<Awaited<Child["done"]>>((res, rej) => {
    p.on("error", rej);
    p.on("close", (code, signal) => {
      clearTimeout(t);
      res({ code, signal, stdout, stderr });
    });
  });
  return { done, stdout: () => stdout, kill: (sig) => p.kill(sig) };
}

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

/**
 * A rendered directory: step 01-slow on both nodes one at a time (marks start, sleeps `slowS`,
 * marks end), then 02-next (marks). Markers land in the node's --root tree ($HA_GEN_ROOT).
 */
function rendered(name: string, slowS: number, fail = false): string {
  const out = join(lab.dir, name);
  const script = (body: string) => `#!/usr/bin/env bash\nset -euo pipefail\n${body}\n`;
  const scripts = {
    "01-slow": script(`touch "$HA_GEN_ROOT/slow-start"; sleep ${slowS}; touch "$HA_GEN_ROOT/slow-end"`),
    "02-next": script(fail ? "echo broken >&2; exit 3" : 'touch "$HA_GEN_ROOT/next-ran"'),
  };
  const files = NODES.flatMap((node) => [
    ...Object.entries(scripts).map(([id, content]) => ({ node, path: `/usr/local/lib/t/${id}.sh`, content })),
    { node, path: "/etc/t.conf", content: `${name}\n` },
  ]);
  for (const f of files) {
    mkdirSync(join(out, f.node, "usr/local/lib/t"), { recursive: true });
    mkdirSync(join(out, f.node, "etc"), { recursive: true });
    writeFileSync(join(out, f.node, f.path), f.content);
  }
  const step = (id: string) => ({
    id,
    title: `test ${id}`,
    guideSection: "-",
    nodes: NODES,
    mode: "serial",
    script: `/usr/local/lib/t/${id}.sh`,
    verifies: [],
  });
  const plan = { format: PLAN_FORMAT, cluster: "t", os: "debian12", steps: [step("01-slow"), step("02-next")] };
  writeFileSync(join(out, "plan.json"), JSON.stringify(plan));
  const manifest = {
    format: MANIFEST_FORMAT,
    files: files.map((f) => ({
      node: f.node,
      path: f.path,
      mode: f.path.endsWith(".sh") ? "0755" : "0644",
      owner: "root",
      group: "root",
      secret: false,
      family: "test",
      sha256: sha(f.content),
    })),
  };
  writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest));
  return out;
}

const args = (input: string, root: string, ...more: string[]) => [
  "deploy",
  input,
  "--secrets",
  join(lab.dir, "s.yaml"),
  "--ssh-config",
  lab.sshConfig,
  "--known-hosts",
  lab.knownHosts,
  "--root",
  join(lab.dir, root, "{node}"),
  "--root-steps",
  "--no-log",
  ...more,
];
const marker = (root: string, node: string, m: string) => existsSync(join(lab.dir, root, node, m));

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error("dist/cli/bin.js is missing: run `npm run build` (npm test does)");
  lab = await startSshdLab(NODES, { addressBase: 140 });
  dir = lab.dir;
  writeFileSync(join(dir, "s.yaml"), "test_only_secret: abcdefgh12345678\n", { mode: 0o600 });
});
afterAll(async () => {
  await lab?.stop();
});

describe("Ctrl-C during deploy", () => {
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    it(`${sig}: the running step finishes, the next does not start, --from is named, exit 130`, async () => {
      const root = `root-${sig}`;
      const input = rendered(`in-${sig}`, 2);
      const c = start(args(input, root));
      await until("01-slow to start on i1", () => marker(root, "i1", "slow-start"));
      c.kill(sig);
      const r = await c.done;
      expect(r.code, r.stdout + r.stderr).toBe(130);
      expect(r.stderr).toContain(`${sig}: stopping after the running work finishes`);
      // The step that ran on i1 finished there; nothing later started anywhere.
      expect(marker(root, "i1", "slow-end")).toBe(true);
      expect(marker(root, "i2", "slow-start")).toBe(false);
      for (const n of NODES) expect(marker(root, n, "next-ran")).toBe(false);
      expect(r.stdout).toContain("INTERRUPTED: interrupted during step 01-slow: it ran on i1 only");
      const resume = /^resume with: (.*)$/m.exec(r.stdout)?.[1];
      expect(resume).toMatch(/ --from 01-slow$/);
      // The lock is free at once: resuming runs (the step is idempotent, so it runs on both again).
      const again = await start(args(input, root, "--from", "01-slow")).done;
      expect(again.code, again.stdout + again.stderr).toBe(0);
      for (const n of NODES) expect(marker(root, n, "next-ran")).toBe(true);
    });
  }

  it("between steps: resumes from the step that did not start", async () => {
    const root = "root-between";
    const input = rendered("in-between", 1);
    const c = start(args(input, root));
    // i2 runs 01-slow last: interrupt while it runs, so the step completes and 02-next is next.
    await until("01-slow to start on i2", () => marker(root, "i2", "slow-start"));
    c.kill("SIGINT");
    const r = await c.done;
    expect(r.code).toBe(130);
    for (const n of NODES) expect(marker(root, n, "slow-end")).toBe(true);
    for (const n of NODES) expect(marker(root, n, "next-ran")).toBe(false);
    expect(r.stdout).toMatch(/^resume with: .* --from 02-next$/m);
  });

  it("--json: the run-end event says interrupted, with the step to resume from", async () => {
    const root = "root-json-int";
    const input = rendered("in-json-int", 2);
    const c = start(args(input, root, "--json"));
    await until("01-slow to start on i1", () => marker(root, "i1", "slow-start"));
    c.kill("SIGINT");
    const r = await c.done;
    expect(r.code).toBe(130);
    const end = parseDeployEvents(r.stdout, "stdout").at(-1);
    expect(end).toMatchObject({ type: "run-end", ok: false, interrupted: true, resumeFrom: "01-slow" });
  });

  it("a second Ctrl-C exits at once; the nodes' deploy lock goes with the connection", async () => {
    const root = "root-twice";
    const input = rendered("in-twice", 20);
    const c = start(args(input, root));
    await until("01-slow to start on i1", () => marker(root, "i1", "slow-start"));
    const t0 = Date.now();
    c.kill("SIGINT");
    await until("the first interrupt to be seen", () => true, 1);
    await new Promise((r) => setTimeout(r, 300));
    c.kill("SIGINT");
    const r = await c.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain("SIGINT again: aborting now");
    expect(Date.now() - t0).toBeLessThan(15_000);
    // The lock holder on the node notices the dropped channel within about a second.
    let next: Awaited<Child["done"]> | undefined;
    for (let i = 0; i < 10; i++) {
      next = await start(args(input, root, "--only", "02-next")).done;
      if (next.code === 0) break;
      expect(next.stdout).toContain("deploy already running");
      await new Promise((res) => setTimeout(res, 1000));
    }
    expect(next?.code, next ? next.stdout + next.stderr : "").toBe(0);
  });
});

describe("deploy --detailed-exitcode", () => {
  it("dry run: 2 while files would change, 0 once nothing would; 1 on a failure", async () => {
    const root = "root-exit";
    const input = rendered("in-exit", 0);
    const dry = await start(args(input, root, "--dry-run", "--detailed-exitcode")).done;
    expect(dry.code, dry.stdout + dry.stderr).toBe(2);
    expect(await start(args(input, root, "--dry-run")).done).toMatchObject({ code: 0 });
    const real = await start(args(input, root, "--detailed-exitcode")).done;
    expect(real.code, real.stdout + real.stderr).toBe(2);
    const after = await start(args(input, root, "--dry-run", "--detailed-exitcode")).done;
    expect(after.code, after.stdout).toBe(0);
    // A real run that changes nothing (the steps print no ha-gen:changed) is 0 too.
    expect((await start(args(input, root, "--detailed-exitcode")).done).code).toBe(0);
    const failing = rendered("in-exit-fail", 0, true);
    const f = await start(args(failing, root, "--detailed-exitcode")).done;
    expect(f.code).toBe(1);
  });

  it("--json: events carry their format; an error before the run is one ha-gen-error/1 line", async () => {
    const r = await start(args(rendered("in-json", 0), "root-json", "--json", "--dry-run")).done;
    expect(r.code).toBe(0);
    // Every line parses with the stream's schema (src/core/formats.ts).
    const events = parseDeployEvents(r.stdout, "stdout");
    expect(events[0]).toMatchObject({ type: "run-start", format: "ha-gen-events/1" });
    expect(events.at(-1)?.type).toBe("run-end");
    const bad = await start(args(join(dir, "no-such-dir"), "root-json", "--json")).done;
    expect(bad.code).toBe(2);
    expect(bad.stdout.split("\n")).toHaveLength(2);
    expect(parseErrorResult(bad.stdout, "stdout").code).toBe("INPUT_INVALID");
  });
});

describe("heartbeat without a terminal", () => {
  it("prints what still runs while nothing else is printed", async () => {
    const root = "root-heartbeat";
    const r = await start(args(rendered("in-hb", 2), root, "--nodes", "i1"), {
      HA_GEN_HEARTBEAT_MS: "400",
    }).done;
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const all = r.stdout.split("\n").filter((l) => l.startsWith("still "));
    // The push and 02-next may get one too when the machine is slow: every line names work that runs.
    for (const b of all) expect(b).toMatch(/^still (running 0[12]-(slow|next) on i1|pushing files to i1) \[\d+s\]$/);
    const beats = all.filter((l) => l.includes("01-slow"));
    expect(beats.length).toBeGreaterThanOrEqual(2);
    // The heartbeat comes between the step's start and its end, not after.
    const lines = r.stdout.split("\n");
    expect(lines.indexOf(beats[0]!)).toBeGreaterThan(lines.findIndex((l) => l.startsWith("step 01-slow")));
    expect(lines.indexOf(beats.at(-1)!)).toBeLessThan(lines.findIndex((l) => /^ {2}i1: ok/.test(l)));
    expect(beats.at(-1)).not.toBe("still running 01-slow on i1 [0s]");
    readFileSync(join(dir, root, "i1", "slow-end"));
  });
});
