import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderCluster } from "../../src/render.js";
import { osProfile } from "../../src/core/os.js";
import { ETCD_UNIT } from "../../generators/etcd.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";
import { EXAMPLES, artifactAt, renderExample } from "../helpers/examples.js";

const controllersOf = (name: keyof typeof EXAMPLES) =>
  EXAMPLES[name].nodes.filter((n) => n.roles.includes("controller"));

/** The env file as a shell sees it (systemd reads the same values: envValue()). */
function sourced(content: string): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), "ha-gen-etcd-env-"));
  writeFileSync(join(dir, "env"), content);
  const out = spawnSync("/bin/bash", ["-c", 'set -a; . "$1"; env -0', "bash", join(dir, "env")], {
    encoding: "utf8",
    env: { PATH: "/usr/bin:/bin" },
  });
  rmSync(dir, { recursive: true });
  return Object.fromEntries(
    out.stdout
      .split("\0")
      .filter((l) => l.startsWith("ETCD_"))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

for (const name of ["train-ha", "lab"] as const) {
  describe(`etcd artifacts of ${name}`, () => {
    const r = renderExample(name);
    const os = osProfile(EXAMPLES[name].os!);
    const controllers = controllersOf(name);
    const initial = controllers.map((n) => `${n.hostname}=http://${n.addresses.management}:2380`).join(",");

    it("configures each member on its own address, in a cluster of every controller", () => {
      for (const n of controllers) {
        const ip = n.addresses.management;
        expect(sourced(artifactAt(r, n.hostname, os.etcdEnvFile).content)).toEqual({
          ETCD_DATA_DIR: "/var/lib/etcd/default.etcd",
          ETCD_LISTEN_PEER_URLS: `http://${ip}:2380`,
          ETCD_LISTEN_CLIENT_URLS: `http://${ip}:2379,http://127.0.0.1:2379`,
          ETCD_NAME: n.hostname,
          ETCD_INITIAL_ADVERTISE_PEER_URLS: `http://${ip}:2380`,
          ETCD_ADVERTISE_CLIENT_URLS: `http://${ip}:2379`,
          ETCD_INITIAL_CLUSTER: initial,
          ETCD_INITIAL_CLUSTER_TOKEN: "etcd-cluster-01",
          ETCD_INITIAL_CLUSTER_STATE: "new",
        });
      }
      const names = new Set(controllers.map((n) => n.hostname));
      expect(r.artifacts.filter((a) => a.family === "etcd" && !names.has(a.node))).toEqual([]);
    });

    it("replaces the packaged unit with one that runs etcd directly from the env file", () => {
      const units = controllers.map((n) => artifactAt(r, n.hostname, ETCD_UNIT).content);
      expect(new Set(units).size).toBe(1);
      const u = units[0]!;
      for (const line of [
        "Type=notify",
        "User=etcd",
        "WorkingDirectory=/var/lib/etcd/",
        `EnvironmentFile=${os.etcdEnvFile}`,
        "ExecStart=/usr/bin/etcd",
        "Restart=on-failure",
        "LimitNOFILE=65536",
      ]) {
        expect(u.split("\n")).toContain(line);
      }
      expect(u).not.toMatch(/bash -c|GOMAXPROCS|\$\{ETCD_/);
    });

    it("starts all members at once without blocking, restarts one at a time, waits for every member's health", () => {
      const step = r.plan.steps.find((s) => s.id === "41-etcd")!;
      expect(step.mode).toBe("rolling");
      expect(step.nodes).toEqual(controllers.map((n) => n.hostname));
      const s = artifactAt(r, controllers[0]!.hostname, step.script).content;
      const endpoints = controllers.map((n) => `http://${n.addresses.management}:2379`).join(",");
      expect(s).toContain("systemctl start --no-block etcd");
      // A restart only in the restart pass, only while every member is healthy, and blocking.
      const waitAll = 'wait_until 120 "every etcd member is healthy before restarting this one" etcd_healthy';
      expect(s).toContain(`if roll_restart_pass; then\n      ${waitAll}\n`);
      expect(s).toMatch(/etcd_healthy\n(\s+#.*\n)+\s+systemctl restart etcd\n/);
      expect(s).toContain('ETCDCTL_API=3 etcdctl --endpoints="$endpoints" --dial-timeout=2s --command-timeout=5s "$@"');
      expect(s).toContain(`etcd_healthy() { etcdctl_at ${endpoints} endpoint health; }`);
      expect(s).toMatch(/changed_since_applied etcd-unit "\$unit"; then\n {2}systemctl daemon-reload/);
      const code = s
        .split("\n")
        .filter((l) => !/^\s*#/.test(l))
        .join("\n");
      expect(code).not.toMatch(/cluster-health|rm -rf|systemctl start etcd\b/);
      for (const n of controllers)
        expect(s).toContain(`, started, ${n.hostname}, http://${n.addresses.management}:2380,`);
    });
  });
}

describe("the data directory of Debian's packaged single-member etcd", () => {
  const render = (dataDir: string | undefined, os: "debian12" | "centos8") => {
    const spec = { ...structuredClone(EXAMPLES.lab), os, ...(dataDir ? { etcd: { dataDir } } : {}) };
    return artifactAt(renderCluster(spec, FAKE_SECRETS), "controller01", "/usr/local/lib/ha-gen/41-etcd.sh").content;
  };
  it("is not ha-gen's default, so nothing is moved", () => {
    expect(render(undefined, "debian12")).not.toContain(".pre-ha-gen-");
  });
  it("is moved aside (never deleted) before ha-gen's first start when the spec points there", () => {
    const s = render("/var/lib/etcd/default", "debian12");
    expect(s).toMatch(
      new RegExp(
        String.raw`if \[\[ -d "\$\{data_dir\}\/member" \]\]; then\n {4}systemctl stop etcd\n` +
          String.raw` {4}aside=.*\n {4}mv -- "\$data_dir" "\$aside"`,
      ),
    );
    expect(s).not.toMatch(/rm -[a-z]*r/);
    expect(render("/var/lib/etcd/default", "centos8")).not.toContain(".pre-ha-gen-");
  });
});
