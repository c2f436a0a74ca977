import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { renderCluster } from "../../src/render.js";
import { osProfile } from "../../src/core/os.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";
import { EXAMPLES, artifactAt, renderExample } from "../helpers/examples.js";

const controllersOf = (name: keyof typeof EXAMPLES) =>
  EXAMPLES[name].nodes.filter((n) => n.roles.includes("controller"));

describe("memcached on CentOS 8 (train-ha)", () => {
  const r = renderExample("train-ha");
  it("writes /etc/sysconfig/memcached per controller: node address and loopback, user memcached", () => {
    for (const n of controllersOf("train-ha")) {
      const c = artifactAt(r, n.hostname, "/etc/sysconfig/memcached").content;
      expect(c).toContain(`OPTIONS="-l ${n.addresses.management},127.0.0.1"\n`);
      expect(c).toContain('USER="memcached"\n');
      expect(c).toContain('PORT="11211"\n');
      expect(c).toContain('MAXCONN="1024"\n');
      expect(c).toContain('CACHESIZE="64"\n');
      expect(c).not.toContain("0.0.0.0");
      // Sourced by a shell it yields the values systemd's EnvironmentFile= reads.
      const out = spawnSync(
        "bash",
        ["-c", `eval "$C"; printf '%s|' "$PORT" "$USER" "$MAXCONN" "$CACHESIZE" "$OPTIONS"`],
        { env: { C: c, PATH: "/usr/bin:/bin" }, encoding: "utf8" },
      );
      expect(out.stdout).toBe(`11211|memcached|1024|64|-l ${n.addresses.management},127.0.0.1|`);
    }
  });
  it("puts no memcached configuration on computes or ceph nodes", () => {
    const names = new Set(controllersOf("train-ha").map((n) => n.hostname));
    expect(r.artifacts.filter((a) => a.family === "memcached" && !names.has(a.node))).toEqual([]);
  });
});

describe("memcached on Debian 12 (lab)", () => {
  const r = renderExample("lab");
  it("writes /etc/memcached.conf per controller, one option per line, user memcache", () => {
    for (const n of controllersOf("lab")) {
      const lines = artifactAt(r, n.hostname, "/etc/memcached.conf")
        .content.split("\n")
        .filter((l) => l && !l.startsWith("#"));
      expect(lines).toEqual([
        "-p 11211",
        "-u memcache",
        "-m 64",
        "-c 1024",
        `-l ${n.addresses.management},127.0.0.1`,
        "-P /var/run/memcached/memcached.pid",
      ]);
    }
  });
});

for (const name of ["train-ha", "lab"] as const) {
  describe(`memcached step of ${name}`, () => {
    const r = renderExample(name);
    const os = osProfile(EXAMPLES[name].os!);
    it("runs rolling on every controller, after RabbitMQ and before etcd", () => {
      const ids = r.plan.steps.map((s) => s.id);
      const step = r.plan.steps.find((s) => s.id === "40-memcached")!;
      expect(step.mode).toBe("rolling");
      expect(step.nodes).toEqual(controllersOf(name).map((n) => n.hostname));
      expect(ids.indexOf("32-rabbitmq-configure")).toBeLessThan(ids.indexOf("40-memcached"));
      expect(ids.indexOf("40-memcached")).toBeLessThan(ids.indexOf("41-etcd"));
    });
    it("restarts only on change and waits until memcached answers on both addresses", () => {
      for (const n of controllersOf(name)) {
        const s = artifactAt(r, n.hostname, "/usr/local/lib/ha-gen/40-memcached.sh").content;
        expect(s).toContain(`roll_service memcached memcached ${os.memcachedConf}\n`);
        expect(s).toContain(`memcached_answers ${n.addresses.management} 11211\n`);
        expect(s).toContain("memcached_answers 127.0.0.1 11211\n");
        expect(s).toContain(`-e ${n.addresses.management}:11211 -e 127.0.0.1:11211`);
        expect(s).not.toMatch(/systemctl (re)?start|sleep \d/);
      }
    });
  });
}

it("writes a custom port, cache size and connection limit in both formats", () => {
  for (const os of ["centos8", "debian12"] as const) {
    const spec = {
      ...structuredClone(EXAMPLES.lab),
      os,
      memcached: { port: 11311, cacheSizeMb: 512, maxConnections: 4096 },
    };
    const r = renderCluster(spec, FAKE_SECRETS);
    const c = artifactAt(r, "controller01", osProfile(os).memcachedConf).content;
    expect(c).toMatch(
      os === "centos8"
        ? /PORT="11311"\nUSER="memcached"\nMAXCONN="4096"\nCACHESIZE="512"/
        : /-p 11311\n-u memcache\n-m 512\n-c 4096\n/,
    );
  }
});
