import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { statusScript } from "../../deploy/scripts.js";
import { STATUS_SCRIPT_CONTEXT } from "../helpers/deploy-fixtures.js";

/**
 * The HAProxy section of the status probe, run with the real bash and socat against real UNIX
 * sockets. Seen in the container lab: pacemaker stopped HAProxy on a standby node and its socket
 * file stayed; the probe printed socat's error as CSV, and status then said "HAProxy has no Galera
 * server UP" for the whole cluster.
 */
const script = statusScript(STATUS_SCRIPT_CONTEXT);
/** One function of the rendered script, by name: `name() { ... }` (one line or a block). */
const fn = (name: string) => new RegExp(`^${name}\\(\\) \\{(?: .*\\}|\\n[\\s\\S]*?\\n\\})\\n`, "m").exec(script)![0];

let work: string;
beforeAll(() => {
  mkdirSync(join(import.meta.dirname, "../../node_modules/.cache"), { recursive: true });
  work = mkdtempSync(join(import.meta.dirname, "../../node_modules/.cache/ha-gen-status-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const haproxySection = (socket: string) =>
  spawnSync("bash", ["-c", `${fn("has")}${fn("why")}${fn("haproxy")}stats_socket=${socket}\nhaproxy`], {
    encoding: "utf8",
    timeout: 20_000,
  }).stdout;

describe("status probe: HAProxy's stats socket", () => {
  it("a socket file nobody listens on (HAProxy stopped) is down, not an empty list of servers", () => {
    const stale = join(work, "stale.sock");
    // Bound, then closed without unlinking: what a stopped HAProxy leaves behind.
    const py = spawnSync("python3", [
      "-c",
      `import socket; s = socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(stale)}); s.close()`,
    ]);
    expect(py.status).toBe(0);
    expect(haproxySection(stale)).toBe(`!down cannot connect to the stats socket ${stale}: Connection refused\n`);
  });

  it("a socket that answers gives its CSV, one csv line per row", async () => {
    const live = join(work, "live.sock");
    const server = spawn("socat", [
      `UNIX-LISTEN:${live},fork`,
      'SYSTEM:\'echo "# pxname,svname,status"; echo "galera_cluster,c1,UP"\'',
    ]);
    try {
      for (let i = 0; i < 100 && !existsSync(live); i++) await new Promise((r) => setTimeout(r, 50));
      expect(haproxySection(live)).toBe("csv\t# pxname,svname,status\ncsv\tgalera_cluster,c1,UP\n");
    } finally {
      server.kill();
    }
  });

  it("no socket file at all is down, as before", () => {
    expect(haproxySection(join(work, "missing.sock"))).toBe(`!down no stats socket ${join(work, "missing.sock")}\n`);
  });
});
