import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { galeraProbe, pacemakerProbe } from "../../deploy/scripts.js";

/**
 * The guard probes as deploy renders them, run with bash against stub commands (mysql, ss,
 * corosync-quorumtool) instead of over SSH: every answer they can give, and paths and values
 * that need quoting.
 */

const tmp = mkdtempSync(join(tmpdir(), "ha-gen-probes-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** A directory for one case, with a PATH of only `stubs` (shell bodies) and the tools the probes use. */
function sandbox(stubs: Record<string, string>): { dir: string; run(script: string): string } {
  const dir = join(tmp, `case${n++}`);
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  for (const tool of ["awk", "grep"]) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
  for (const [name, body] of Object.entries(stubs)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  return {
    dir,
    run(script) {
      const r = spawnSync("/bin/bash", ["-c", script], { env: { PATH: bin }, encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim();
    },
  };
}

const STATUS = `printf 'wsrep_cluster_status\\t%s\\n'`;

describe("galera probe", () => {
  const probe = (dir: string, port = 4567) =>
    galeraProbe({ secretsEnv: join(dir, "it's a secrets.env"), rootPasswordVar: "MARIADB_ROOT_PASS", port });

  it("is primary when root's socket login sees a Primary component", () => {
    const s = sandbox({ mysql: `${STATUS} Primary` });
    expect(s.run(probe(s.dir))).toBe("primary");
  });

  it("logs in with the secrets file's root password (in MYSQL_PWD) when the socket login fails", () => {
    const s = sandbox({ mysql: `[ "$1" = -uroot ] && [ "$MYSQL_PWD" = "p w'\\$x" ] || exit 1\n${STATUS} non-Primary` });
    writeFileSync(join(s.dir, "it's a secrets.env"), `MARIADB_ROOT_PASS='p w'\\''$x'\n`);
    expect(s.run(probe(s.dir))).toBe("running");
  });

  it("is running when only a listener on Galera's port shows it, and none otherwise", () => {
    const ss = `[ "$2" = "sport = :4999" ] && echo "LISTEN 0 80 10.0.0.1:4999"; exit 0`;
    const s = sandbox({ mysql: "exit 1", ss });
    expect(s.run(probe(s.dir, 4999))).toBe("running");
    expect(s.run(probe(s.dir, 4567))).toBe("none");
    expect(sandbox({}).run(probe(tmp))).toBe("none");
  });
});

describe("pacemaker probe", () => {
  const twoNodes = "  ring0_addr: 10.0.0.1\n  ring0_addr: 10.0.0.2\n";

  it("is member when corosync-quorumtool lists two or more nodes", () => {
    const s = sandbox({ "corosync-quorumtool": "printf '  1  1 c1 (local)\\n  2  1 c2\\n'" });
    expect(s.run(pacemakerProbe({ corosyncConf: join(s.dir, "none") }))).toBe("member");
  });

  it("is configured when corosync.conf names two or more nodes, none for the packaged single-node file", () => {
    const s = sandbox({ "corosync-quorumtool": "exit 1" });
    const conf = join(s.dir, "my corosync.conf");
    writeFileSync(conf, twoNodes);
    expect(s.run(pacemakerProbe({ corosyncConf: conf }))).toBe("configured");
    writeFileSync(conf, "  ring0_addr: 127.0.0.1\n");
    expect(s.run(pacemakerProbe({ corosyncConf: conf }))).toBe("none");
  });
});
