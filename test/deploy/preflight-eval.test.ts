import { describe, expect, it } from "vitest";
import { evaluatePreflight, type NodeFacts } from "../../deploy/preflight.js";
import { preflightReportSchema, type PreflightCheck } from "../../src/core/formats.js";
import { renderCluster } from "../../src/render.js";
import { EXAMPLES } from "../helpers/examples.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";

/**
 * preflight's judgements from the facts a node prints (the shapes `ip -o`, `ss -Hltnp`, `chronyc
 * -c tracking`, `df` produce on Debian 12), without a node: every failure names the node, what is
 * wrong and what to do. The same facts from real programs are read in preflight-status.test.ts.
 */

const cluster = renderCluster(EXAMPLES.lab, FAKE_SECRETS).cluster;
const NODES = ["controller01", "controller02", "controller03"];
const T = "\t";

/** The facts of a fresh, ready lab node; `patch` replaces or adds lines by kind. */
function freshLines(i: number, patch: { drop?: RegExp; add?: string[] } = {}): string[] {
  const ip = `198.51.100.1${i + 1}`;
  const lines = [
    `os${T}debian${T}12`,
    `hostname${T}controller0${i + 1}`,
    `link${T}1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default`,
    `link${T}2: eth0@if7: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT`,
    `addr${T}1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever`,
    `addr${T}2: eth0    inet ${ip}/24 brd 198.51.100.255 scope global eth0\\       valid_lft forever`,
    `nsswitch${T}hosts:          files dns`,
    ...NODES.map((n) => `resolve${T}${n}${T}`),
    `arp${T}free${T}neigh`,
    `listen${T}LISTEN 0      128          0.0.0.0:22        0.0.0.0:*    users:(("sshd",pid=201,fd=3))`,
    `disk${T}/var/lib/mysql${T}/${T}20000000`,
    `disk${T}/var/lib/etcd/default.etcd${T}/${T}20000000`,
    `module${T}br_netfilter${T}loaded`,
    `repo${T}http://deb.debian.org/debian/dists/bookworm/InRelease${T}noroute${T}no default route`,
  ];
  return [...lines.filter((l) => !patch.drop?.test(l)), ...(patch.add ?? [])];
}

function facts(lines: string[], extra: Partial<NodeFacts> = {}): NodeFacts {
  return { user: "root", sudo: true, clock: { offsetMs: 3, uncertaintyMs: 2 }, lines, ...extra };
}

function run(per: Partial<Record<string, NodeFacts | { unreachable: string }>> = {}): PreflightCheck[] {
  const m = new Map(NODES.map((n, i) => [n, per[n] ?? facts(freshLines(i))] as const));
  const checks = evaluatePreflight(cluster, m, { skip: [], maxClockOffsetMs: 1000, nodes: NODES });
  // The report schema accepts what the evaluation produces.
  preflightReportSchema.parse({ format: "ha-gen-preflight/1", cluster: "x", ok: true, ms: 0, checks });
  return checks;
}

const failures = (checks: PreflightCheck[]) => checks.filter((c) => c.status === "fail");

describe("preflight judgements", () => {
  it("passes fresh lab nodes: every check per node, the repositories skipped for want of an uplink", () => {
    const checks = run();
    expect(failures(checks)).toEqual([]);
    for (const n of NODES) {
      const mine = checks.filter((c) => c.node === n).map((c) => c.check);
      expect(mine).toEqual([
        "connect",
        "sudo",
        "os",
        "interface",
        "hostname",
        "resolve",
        "ports",
        "time",
        "disk",
        "repositories",
        "br_netfilter",
      ]);
    }
    expect(checks.find((c) => c.check === "repositories")).toMatchObject({ status: "skip" });
    expect(checks.find((c) => c.check === "vip")).toMatchObject({ status: "pass" });
  });

  it("names a renamed interface and the interfaces the node has", () => {
    const lines = freshLines(1, { drop: /eth0/ });
    lines.push(`link${T}2: ens3@if7: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP mode DEFAULT`);
    lines.push(`addr${T}2: ens3    inet 198.51.100.12/24 brd 198.51.100.255 scope global ens3`);
    const f = failures(run({ controller02: facts(lines) }));
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ node: "controller02", check: "interface" });
    expect(f[0]!.detail).toBe("interface eth0 (networks.management.interface) does not exist; this node has lo, ens3");
    expect(f[0]!.fix).toContain("198.51.100.12/24");
  });

  it("names a down interface and a wrong prefix", () => {
    const down = freshLines(0, { drop: /^link.*eth0/ });
    down.push(`link${T}2: eth0@if7: <BROADCAST,MULTICAST> mtu 1500 qdisc noqueue state DOWN mode DEFAULT`);
    const prefix = freshLines(2, { drop: /^addr.*eth0/ });
    prefix.push(`addr${T}2: eth0    inet 198.51.100.13/16 brd 198.51.255.255 scope global eth0`);
    const f = failures(run({ controller01: facts(down), controller03: facts(prefix) }));
    expect(f.map((c) => [c.node, c.check, c.detail])).toEqual([
      ["controller01", "interface", "interface eth0 is down (state DOWN)"],
      [
        "controller03",
        "interface",
        "eth0 does not carry 198.51.100.13/24 (management network 198.51.100.0/24); it has 198.51.100.13/16; " +
          "198.51.100.13 is on eth0 as 198.51.100.13/16",
      ],
    ]);
  });

  it("fails when the VIP answers ARP and no node holds it, passes when a controller holds it", () => {
    const taken = freshLines(0, { drop: /^arp/, add: [`arp${T}taken${T}aa:bb:cc:00:00:01`] });
    const vip = run({ controller01: facts(taken) }).find((c) => c.check === "vip")!;
    expect(vip.status).toBe("fail");
    expect("node" in vip).toBe(false);
    expect(vip.detail).toBe(
      "198.51.100.10 answers ARP from aa:bb:cc:00:00:01 (probed from controller01) but no node of the cluster holds it",
    );
    const held = freshLines(1, { add: [`addr${T}2: eth0    inet 198.51.100.10/24 scope global secondary eth0`] });
    const ok = run({ controller01: facts(taken), controller02: facts(held) }).find((c) => c.check === "vip")!;
    expect(ok).toMatchObject({
      status: "pass",
      detail: "198.51.100.10 is held by controller02 (the cluster's VIP resource)",
    });
  });

  it("fails a port held by another program, passes one held by the managed service", () => {
    const nginx = `listen${T}LISTEN 0 511 0.0.0.0:11211 0.0.0.0:* users:(("nginx",pid=77,fd=6),("nginx",pid=76,fd=6))`;
    const own = `listen${T}LISTEN 0 80 198.51.100.12:3306 0.0.0.0:* users:(("mariadbd",pid=90,fd=20))`;
    const loop = `listen${T}LISTEN 0 80 127.0.0.1:2379 0.0.0.0:* users:(("python3",pid=91,fd=3))`;
    const checks = run({
      controller01: facts(freshLines(0, { add: [nginx] })),
      controller02: facts(freshLines(1, { add: [own, loop] })),
    });
    const f = failures(checks);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      node: "controller01",
      check: "ports",
      detail: "198.51.100.11:11211 (memcached.port) is taken by nginx pid 77, nginx pid 76 listening on 0.0.0.0:11211",
    });
    const c2 = checks.find((c) => c.node === "controller02" && c.check === "ports")!;
    expect(c2.status).toBe("pass");
    expect(c2.detail).toContain("1 already held by the managed services");
  });

  it("fails a clock too far from the deploying machine's, beyond the round trip's uncertainty", () => {
    const checks = run({
      controller01: facts(freshLines(0), { clock: { offsetMs: 2500, uncertaintyMs: 20 } }),
      controller02: facts(freshLines(1), { clock: { offsetMs: -1010, uncertaintyMs: 30 } }),
    });
    const f = failures(checks);
    expect(f.map((c) => [c.node, c.detail])).toEqual([
      ["controller01", "clock 2.500 s ahead of this machine's (±0.020 s), more than 1 s"],
    ]);
  });

  it("adds up Galera's and etcd's needs on one file system", () => {
    const low = freshLines(2, { drop: /^disk/ });
    low.push(`disk${T}/var/lib/mysql${T}/var${T}2621440`, `disk${T}/var/lib/etcd/default.etcd${T}/var${T}2621440`);
    const f = failures(run({ controller03: facts(low) }));
    expect(f.map((c) => c.detail)).toEqual([
      "2.5 GiB free on /var for /var/lib/mysql and /var/lib/etcd/default.etcd; needs 3.0 GiB",
    ]);
  });

  it("fails names that DNS answers before /etc/hosts, warns about /etc/hosts lines deploy replaces", () => {
    const dns = freshLines(0, {
      drop: /^nsswitch/,
      add: [`nsswitch${T}hosts: dns files`, `resolve-any${T}controller02${T}203.0.113.7`],
    });
    const hosts = freshLines(1, { drop: /^resolve\tcontroller02/, add: [`resolve${T}controller02${T}127.0.1.1`] });
    const checks = run({ controller01: facts(dns), controller02: facts(hosts) });
    expect(checks.find((c) => c.node === "controller01" && c.check === "resolve")).toMatchObject({
      status: "fail",
      detail:
        'names resolve elsewhere through "dns files" (nsswitch.conf asks it before /etc/hosts): ' +
        "controller02 → 203.0.113.7 (want 198.51.100.12)",
    });
    expect(checks.find((c) => c.node === "controller02" && c.check === "resolve")).toMatchObject({ status: "warn" });
  });

  it("reports an unreachable node, a failing sudo, the wrong OS and a missing br_netfilter", () => {
    const centos = freshLines(1, {
      drop: /^os|^module/,
      add: [`os${T}centos${T}8`, `module${T}br_netfilter${T}missing`],
    });
    const checks = run({
      controller01: { unreachable: "connect ECONNREFUSED 198.51.100.11:22" },
      controller02: facts(centos, { user: "deploy", sudo: false, sudoError: "sudo: a password is required" }),
    });
    expect(failures(checks).map((c) => [c.node, c.check, c.detail])).toEqual([
      ["controller01", "connect", "connect ECONNREFUSED 198.51.100.11:22"],
      ["controller02", "sudo", "sudo -n as deploy fails: sudo: a password is required"],
      ["controller02", "os", "runs centos 8 (/etc/os-release), the spec says os: debian12 (Debian 12)"],
      ["controller02", "br_netfilter", "the kernel module br_netfilter is neither loaded nor found by modprobe"],
    ]);
  });

  it("lists a skipped check once, as skipped", () => {
    const m = new Map(NODES.map((n, i) => [n, facts(freshLines(i))] as const));
    const checks = evaluatePreflight(cluster, m, { skip: ["vip", "ports"], maxClockOffsetMs: 1000, nodes: NODES });
    expect(checks.filter((c) => c.check === "vip" || c.check === "ports")).toEqual([
      { check: "vip", status: "skip", detail: "skipped on request" },
      { check: "ports", status: "skip", detail: "skipped on request" },
    ]);
  });
});
