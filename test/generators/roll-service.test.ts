import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineCluster, renderCluster } from "../../src/index.js";
import { PLACEHOLDER_SECRETS } from "../../src/cli/check.js";
import lab from "../../examples/lab/cluster.js";

/**
 * roll_service (lib.sh) decides, per pass of a rolling step, whether a running service is restarted
 * now or left for the one-node-at-a-time pass. Run with the rendered lib.sh and a systemctl stub.
 * Regression: a service the distribution had started before ha-gen ever configured it (xinetd on a
 * fresh Debian node) was left for the restart pass, and the start pass then timed out waiting for it
 * to serve: deploy from nothing failed at 23-clustercheck.
 */
const lib = renderCluster(defineCluster(lab), PLACEHOLDER_SECRETS).artifacts.find(
  (a) => a.node === "controller01" && a.path.endsWith("/lib.sh"),
)!.content;

let work: string;
beforeAll(() => {
  mkdirSync(join(import.meta.dirname, "../../node_modules/.cache"), { recursive: true });
  work = mkdtempSync(join(import.meta.dirname, "../../node_modules/.cache/ha-gen-roll-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs roll_service in PASS with the service ACTIVE or not; returns the systemctl calls and the changes. */
function roll(pass: "start" | "restart", active: boolean): { calls: string[]; changes: string[] } {
  const bin = join(work, "bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, "systemctl"),
    `#!/bin/bash\necho "$*" >> "${work}/calls"\n[[ $1 == is-active ]] && exit ${active ? 0 : 3}\nexit 0\n`,
    { mode: 0o755 },
  );
  rmSync(join(work, "calls"), { force: true });
  const script = `${lib.replace(/^HA_GEN_STATE=.*$/m, `HA_GEN_STATE=${work}/state`)}\nroll_service svc demo "$CONF"\n`;
  const r = spawnSync("bash", ["-c", script], {
    encoding: "utf8",
    env: { PATH: `${bin}:/usr/bin:/bin`, HA_GEN_ROLL: pass, CONF: join(work, "demo.conf") },
  });
  expect(r.status, r.stderr).toBe(0);
  const log = join(work, "calls");
  const calls = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
  return { calls: calls.filter((c) => c !== "is-active --quiet svc"), changes: r.stdout.trim().split("\n") };
}

describe("roll_service", () => {
  it("restarts a running service ha-gen never configured in the start pass; later changes wait their turn", () => {
    writeFileSync(join(work, "demo.conf"), "v1\n");
    // Never applied: the distribution's own start. Restarted at once, so the start pass can wait for it.
    expect(roll("start", true)).toEqual({
      calls: ["restart svc"],
      changes: ["ha-gen:changed restarted svc with its first ha-gen configuration"],
    });
    // Applied and unchanged: nothing in either pass.
    expect(roll("start", true).calls).toEqual([]);
    expect(roll("restart", true).calls).toEqual([]);
    // Changed while running: left alone in the start pass, restarted in the restart pass.
    writeFileSync(join(work, "demo.conf"), "v2\n");
    expect(roll("start", true).calls).toEqual([]);
    expect(roll("restart", true)).toEqual({
      calls: ["restart svc"],
      changes: ["ha-gen:changed restarted svc (configuration changed; one node at a time)"],
    });
    expect(roll("restart", true).calls).toEqual([]);
    // Stopped: started in either pass (it serves nobody).
    writeFileSync(join(work, "demo.conf"), "v3\n");
    expect(roll("start", false).calls).toEqual(["start svc"]);
  });
});

/**
 * unhang_start (lib.sh): a unit still starting is waited for until LIMIT seconds after its start
 * began; a start that hangs past that is restarted once (without joining the hung start job).
 * Regression: a RabbitMQ broker rebooted after a crash stayed "activating" for 600 s in CI's lab, and
 * deploy's `systemctl start` joined that job and failed with the unit's start timeout.
 */
describe("unhang_start", () => {
  /** STATE of the unit, its start began AGO seconds back; the probe passes once READY exists. */
  function unhang(
    state: string,
    ago: number,
    ready: boolean,
  ): { calls: string[]; out: string; status: number; waited?: number } {
    const bin = join(work, "bin-unhang");
    mkdirSync(bin, { recursive: true });
    const began = new Date(Date.now() - ago * 1000).toUTCString();
    writeFileSync(
      join(bin, "systemctl"),
      `#!/bin/bash
echo "$*" >> "${work}/unhang-calls"
case "$*" in
  "show -p ActiveState --value svc") echo ${state} ;;
  "show -p InactiveExitTimestamp --value svc") echo "${began}" ;;
  "--no-block restart svc") touch "${work}/ready" ;;
esac
exit 0
`,
      { mode: 0o755 },
    );
    for (const f of ["unhang-calls", "ready"]) rmSync(join(work, f), { force: true });
    if (ready) writeFileSync(join(work, "ready"), "");
    const script = `${lib}\nunhang_start svc 5 "svc serves" test -e "${work}/ready"\n`;
    const r = spawnSync("bash", ["-c", script], { encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin` } });
    const log = join(work, "unhang-calls");
    const calls = (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []).filter(
      (c) => !c.startsWith("show "),
    );
    const waited = /\(waited (\d+)s\)/.exec(r.stderr)?.[1];
    return { calls, out: r.stdout.trim(), status: r.status ?? -1, ...(waited ? { waited: Number(waited) } : {}) };
  }

  it("leaves a unit that is not starting alone", () => {
    expect(unhang("active", 1000, false)).toEqual({ calls: [], out: "", status: 0 });
    expect(unhang("failed", 1000, false)).toEqual({ calls: [], out: "", status: 0 });
  });

  it("waits for a start that is still within its limit", () => {
    expect(unhang("activating", 0, true)).toEqual({ calls: [], out: "", status: 0 });
  });

  it("restarts a start that hung past its limit, then waits for it", () => {
    expect(unhang("activating", 400, false)).toEqual({
      calls: ["--no-block restart svc"],
      out: "ha-gen:changed restarted svc: its start hung for 5s",
      status: 0,
      waited: 0,
    });
  });

  it("restarts after the rest of the limit when the probe never passes", () => {
    // Began 3 s ago with a 5 s limit: the rest of the limit (about 2 s) first, then the restart.
    const r = unhang("activating", 3, false);
    expect(r.calls).toEqual(["--no-block restart svc"]);
    expect(r.waited).toBeGreaterThanOrEqual(1);
  });
});
