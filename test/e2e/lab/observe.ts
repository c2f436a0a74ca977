import { expect } from "vitest";
import { parsePreflightReport, parseStatusReport, type StatusReport } from "../../../src/core/formats.js";
import { crmStatus, galeraSynced, nodeSql, vipHolders } from "./checks.js";
import { BRIDGE, LAB_NETNS, LAB_SPEC, NODES, PREFIX, VIP, node, type LabNode } from "./config.js";
import { ssh } from "./exec.js";
import type { Figures } from "./metrics.js";
import { nodeAddresses, resetNic } from "./net.js";
import { crash, reboot } from "./nodes.js";
import { run, waitFor, type Result } from "./proc.js";

/**
 * Issue 13 in the lab: `ha-gen preflight` on the fresh nodes (passes, then fails with the right
 * message for a renamed interface, the VIP taken by another namespace, an occupied port), and
 * `ha-gen status` after the deploy (healthy, then exactly what is wrong after each fault the lab
 * injects: a file edited by hand, a desynced node, a stopped etcd member, a crashed node). Kept
 * apart from lab.e2e.test.ts, which calls these two functions at the right moments.
 */

/** Runs `ha-gen ARGS…` in the lab namespace (lab.e2e.test.ts's runner). */
export type HaGenCli = (label: string, args: readonly string[]) => Promise<{ readonly result: Result }>;

const ipn = (ns: string, ...args: string[]) => run(["ip", "-n", ns, ...args]);

async function preflightJson(cli: HaGenCli, label: string, sshOpts: readonly string[]) {
  const r = await cli(label, ["preflight", LAB_SPEC, ...sshOpts, "--json"]);
  const report = parsePreflightReport(r.result.stdout.trim().split("\n").at(-1) ?? "", label);
  const failed = report.checks.filter((c) => c.status === "fail");
  return { status: r.result.status, report, failed, text: JSON.stringify(failed, null, 1) };
}

export async function preflightScenarios(cli: HaGenCli, f: Figures, sshOpts: readonly string[]): Promise<void> {
  // Fresh nodes: everything passes; without an uplink the repositories are skipped, and said so.
  const ok = await f.time("preflight (3 nodes)", () => preflightJson(cli, "preflight-fresh", sshOpts));
  expect(ok.failed, ok.text).toEqual([]);
  expect(ok.status).toBe(0);
  f.notes.preflightMs = ok.report.ms;
  for (const c of ok.report.checks.filter((x) => x.check === "repositories")) {
    expect(c.status, JSON.stringify(c)).toBe("skip");
    expect(c.detail).toMatch(/^no uplink/);
  }

  // controller02's eth0 renamed eth9 (the address stays, SSH still reaches it).
  const n2 = node("controller02");
  const rename = (from: string, to: string) => {
    ipn(n2.netns, "link", "set", from, "down");
    ipn(n2.netns, "link", "set", from, "name", to);
    ipn(n2.netns, "link", "set", to, "up");
  };
  rename("eth0", "eth9");
  try {
    const r = await preflightJson(cli, "preflight-renamed", sshOpts);
    expect(r.status).toBe(1);
    expect(
      r.failed.map((c) => [c.node, c.check, c.detail]),
      r.text,
    ).toEqual([
      [
        "controller02",
        "interface",
        "interface eth0 (networks.management.interface) does not exist; this node has lo, eth9",
      ],
    ]);
  } finally {
    rename("eth9", "eth0");
    resetNic(n2);
  }

  // The VIP on another machine: a namespace of its own on the lab bridge.
  const thief = "lab-vip-thief";
  run(["ip", "netns", "add", thief]);
  try {
    ipn(LAB_NETNS, "link", "add", "v-thief", "type", "veth", "peer", "name", "eth0", "netns", thief);
    ipn(LAB_NETNS, "link", "set", "v-thief", "master", BRIDGE, "up");
    ipn(thief, "addr", "add", `${VIP}/${PREFIX}`, "dev", "eth0");
    ipn(thief, "link", "set", "eth0", "up");
    const mac = JSON.parse(ipn(thief, "-j", "link", "show", "dev", "eth0").stdout)[0].address as string;
    const r = await preflightJson(cli, "preflight-vip-taken", sshOpts);
    expect(r.status).toBe(1);
    expect(r.failed, r.text).toHaveLength(1);
    expect(r.failed[0]!.check).toBe("vip");
    expect(r.failed[0]!.detail).toMatch(
      new RegExp(`^${VIP.replace(/\./g, "\\.")} answers ARP from ${mac} \\(probed from controller0\\d\\) but no node`),
    );
  } finally {
    run(["ip", "netns", "delete", thief]);
    for (const n of NODES) ipn(n.netns, "neigh", "flush", "to", VIP);
  }

  // memcached's port on controller03's address taken by another program.
  const n3 = node("controller03");
  const pid = ssh(
    n3.name,
    `nohup socat TCP-LISTEN:11211,bind=${n3.ip},reuseaddr,fork /dev/null >/dev/null 2>&1 & echo $!`,
  ).stdout.trim();
  try {
    await waitFor("socat listening", 10_000, () => ssh(n3.name, "ss -Hltn 'sport = :11211'").stdout.trim() !== "");
    const r = await preflightJson(cli, "preflight-port-taken", sshOpts);
    expect(r.status).toBe(1);
    expect(
      r.failed.map((c) => [c.node, c.check, c.detail]),
      r.text,
    ).toEqual([
      [
        "controller03",
        "ports",
        `${n3.ip}:11211 (memcached.port) is taken by socat pid ${pid} listening on ${n3.ip}:11211`,
      ],
    ]);
  } finally {
    ssh(n3.name, `kill ${pid}`, { allowFail: true });
  }
}

async function statusJson(cli: HaGenCli, label: string, args: readonly string[]) {
  const r = await cli(label, ["status", LAB_SPEC, ...args, "--json"]);
  const report = parseStatusReport(r.result.stdout.trim().split("\n").at(-1) ?? "", label);
  const bad = report.items.filter((i) => i.state !== "ok");
  return { status: r.result.status, report, bad, text: JSON.stringify(bad, null, 1) };
}

const named = (r: StatusReport) =>
  r.items.filter((i) => i.state !== "ok").map((i) => `${i.component}@${i.node ?? "*"}: ${i.summary}`);

/** Polls status until `done` holds for its report (services take a moment to notice a fault). */
async function statusUntil(
  cli: HaGenCli,
  label: string,
  args: readonly string[],
  done: (r: StatusReport) => boolean,
  limitMs = 60_000,
) {
  let last: Awaited<ReturnType<typeof statusJson>> | undefined;
  try {
    return await waitFor(
      label,
      limitMs,
      async () => {
        last = await statusJson(cli, label, args);
        return done(last.report) ? last : undefined;
      },
      1000,
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}; last status: ${last?.text}`);
  }
}

/**
 * After the deploy: healthy, then each fault named exactly. `whole` waits until the cluster is
 * whole again (lab.e2e.test.ts's waitClusterWhole) so later tests start from a formed cluster.
 */
export async function statusScenarios(
  cli: HaGenCli,
  f: Figures,
  args: readonly string[],
  whole: (what: string) => Promise<void>,
): Promise<void> {
  const healthy = await f.time("status (3 nodes)", () => statusJson(cli, "status-healthy", args));
  expect(healthy.bad, healthy.text).toEqual([]);
  expect(healthy.report.health).toBe("healthy");
  expect(healthy.status).toBe(0);
  f.notes.statusMs = healthy.report.ms;
  const isHealthy = (r: StatusReport) => r.health === "healthy";

  // A file edited by hand: its path, and nothing else.
  const c2 = "controller02";
  ssh(c2, "echo '# edited by hand' >> /etc/memcached.conf");
  try {
    const r = await statusJson(cli, "status-edited", args);
    expect(r.status).toBe(1);
    expect(named(r.report)).toEqual(["files@controller02: content differs: /etc/memcached.conf"]);
  } finally {
    ssh(c2, "sed -i '$d' /etc/memcached.conf");
  }
  await statusUntil(cli, "status-edited-undone", args, isHealthy, 10_000);

  // A desynced node: its Galera state, its clustercheck, HAProxy taking it out; nothing else.
  nodeSql(c2, "SET GLOBAL wsrep_desync=ON");
  try {
    const r = await statusUntil(cli, "status-desynced", args, (x) =>
      x.items.some((i) => i.component === "haproxy" && i.state === "problem"),
    );
    const bad = named(r.report);
    expect(bad, r.text).toContain("clustercheck@controller02: 503 (HAProxy takes this node out)");
    expect(
      bad.filter((b) => b.startsWith("galera@controller02: state Donor/Desynced")),
      r.text,
    ).toHaveLength(1);
    for (const b of bad) {
      expect(b, r.text).toMatch(
        /^(galera@controller02|clustercheck@controller02|haproxy@controller0\d: not UP: galera_cluster\/controller02 )/,
      );
    }
  } finally {
    nodeSql(c2, "SET GLOBAL wsrep_desync=OFF");
  }
  await statusUntil(cli, "status-resynced", args, isHealthy, 30_000);

  // A stopped etcd member: that member.
  const c3 = "controller03";
  ssh(c3, "systemctl stop etcd");
  try {
    // Until the others agree on a leader again (an election when controller03 led it).
    const r = await statusUntil(
      cli,
      "status-etcd-stopped",
      args,
      (x) => x.health !== "healthy" && named(x).every((b) => b.startsWith("etcd@controller03: ")),
      30_000,
    );
    expect(r.status).toBe(1);
    expect(named(r.report), r.text).toEqual([expect.stringMatching(/^etcd@controller03: not answering: /)]);
  } finally {
    ssh(c3, "systemctl start etcd");
  }
  await statusUntil(cli, "status-etcd-back", args, isHealthy, 30_000);

  // A node left in pacemaker standby after maintenance: named with its undo; its HAProxy (stopped
  // by pacemaker) says why.
  ssh(c3, "pcs node standby controller03");
  try {
    // Until pacemaker has moved what ran there (the VIP, when controller03 held it).
    const r = await statusUntil(cli, "status-standby", args, (x) => {
      const [p, h, ...rest] = named(x);
      return (
        p === "pacemaker@*: controller03 in standby (runs no resource; pcs node unstandby controller03)" &&
        /^haproxy@controller03: .* \(controller03 is in pacemaker standby\)$/.test(h ?? "") &&
        rest.length === 0
      );
    });
    expect(r.status).toBe(1);
  } finally {
    ssh(c3, "pcs node unstandby controller03");
  }
  await statusUntil(cli, "status-unstandby", args, isHealthy, 30_000);

  // A crashed node (not the VIP holder): unknown there, and what the others see missing.
  const victim: LabNode = NODES.find((n) => !vipHolders(nodeAddresses).includes(n.name) && n.name !== "controller01")!;
  await crash(victim);
  const quick = [...args, "--connect-timeout", "3"];
  try {
    const r = await statusUntil(cli, "status-crashed", quick, (x) => {
      const b = named(x);
      return (
        b.some((s) => s.startsWith(`pacemaker@*: offline: ${victim.name}`)) &&
        b.some((s) => /^galera@controller0\d: cluster size 2 of 3/.test(s))
      );
    });
    const bad = named(r.report);
    expect(r.status).toBe(1);
    expect(
      bad.filter((b) => b.startsWith(`connect@${victim.name}: cannot connect`)),
      r.text,
    ).toHaveLength(1);
  } finally {
    await reboot(victim);
    await whole(`${victim.name} back after the status crash`);
  }
  expect(NODES.every((n) => galeraSynced(n.name))).toBe(true);
  expect(crmStatus(NODES[0]!.name).online.length).toBe(NODES.length);
}
