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
