import { ConnectError, HaGenError } from "../src/core/errors.js";
import {
  PREFLIGHT_FORMAT,
  type PreflightCheck,
  type PreflightCheckName,
  type PreflightReport,
} from "../src/core/formats.js";
import type { Cluster } from "../src/core/model.js";
import { MYSQL_DATADIR } from "../src/core/os.js";
import { shArgs } from "../src/core/quote.js";
import type { NodeSpec } from "../src/core/spec/schema.js";
import { blocks, parseSsLine, wantedListeners } from "./listeners.js";
import { Redactor } from "./redact.js";
import { asRoot, forEachLimit, lastLines } from "./remote-fs.js";
import { preflightScript } from "./scripts.js";
import type { Connection, Transport } from "./transport.js";

/**
 * `ha-gen preflight`: before a rollout, ask every node (in parallel, read-only, over the deploy
 * transport) for the facts a rollout depends on, and judge them here: OS, interfaces and addresses,
 * hostname and its resolution, the VIP not in use, the ports free or held by the managed service,
 * time, free disk, package repositories, sudo, br_netfilter. The node prints facts
 * (deploy/templates/preflight.sh.njk); every judgement and message is in this file, so it is
 * tested without a node (evaluatePreflight).
 */

export interface PreflightOptions {
  readonly cluster: Cluster;
  readonly transport: Transport;
  /** Only these nodes (default: every node of the spec). */
  readonly nodes?: readonly string[];
  /** Redacted from every message. */
  readonly secrets?: Iterable<string>;
  /** Checks not to make (their rows say skip), e.g. "repositories" in a lab without uplink. */
  readonly skip?: readonly PreflightCheckName[];
  readonly concurrency?: number;
  /** Bound on one node's checks. Default 30 s. */
  readonly timeoutMs?: number;
  /** Largest clock difference accepted. Default 1000 ms. */
  readonly maxClockOffsetMs?: number;
  /** The deploying machine's clock (tests). */
  readonly now?: () => number;
}

/** Free space wanted for Galera's datadir and etcd's data dir (added up when they share a file system). */
export const DISK_NEED_KIB = { galera: 2 * 1024 * 1024, etcd: 1024 * 1024 } as const;

/** What one node told preflight. */
export interface NodeFacts {
  readonly user: string;
  /** Passwordless sudo works (always true for root). */
  readonly sudo: boolean;
  readonly sudoError?: string;
  /** The node's clock minus this machine's, and the uncertainty of that (half the round trip). */
  readonly clock?: { readonly offsetMs: number; readonly uncertaintyMs: number };
  /** The fact lines (the script's output), or why there are none. */
  readonly lines?: readonly string[];
  readonly error?: string;
}

const CHECK_ORDER: readonly PreflightCheckName[] = [
  "connect",
  "sudo",
  "os",
  "interface",
  "hostname",
  "resolve",
  "vip",
  "ports",
  "time",
  "disk",
  "repositories",
  "br_netfilter",
];

/**
 * `ha-gen preflight`: read-only checks of every node before a rollout (OS, interfaces, VIP free,
 * names, ports, time, disk, repositories, sudo, br_netfilter), all nodes at once over the transport.
 * Never changes a node; `ok` is false when a check failed.
 */
export async function preflight(o: PreflightOptions): Promise<PreflightReport> {
  const t0 = Date.now();
  const redactor = new Redactor(o.secrets ?? []);
  const nodes = o.cluster.nodes.filter((n) => !o.nodes || o.nodes.includes(n.hostname));
  const facts = new Map<string, NodeFacts | { readonly unreachable: string }>();
  const now = o.now ?? Date.now;
  const conns: Connection[] = [];
  try {
    await forEachLimit(nodes, o.concurrency ?? 16, async (node) => {
      let conn: Connection;
      try {
        conn = await o.transport.connect(node.hostname);
      } catch (e) {
        if (e instanceof HaGenError && !(e instanceof ConnectError)) throw e;
        facts.set(node.hostname, { unreachable: (e as Error).message });
        return;
      }
      conns.push(conn);
      facts.set(node.hostname, await gather(o, conn, node, now));
    });
  } finally {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    await o.transport.close?.().catch(() => undefined);
  }
  const checks = evaluatePreflight(o.cluster, facts, {
    skip: o.skip ?? [],
    maxClockOffsetMs: o.maxClockOffsetMs ?? 1000,
    nodes: nodes.map((n) => n.hostname),
  }).map((c) => ({
    ...c,
    detail: redactor.redact(c.detail),
    ...(c.fix !== undefined ? { fix: redactor.redact(c.fix) } : {}),
  }));
  return {
    format: PREFLIGHT_FORMAT,
    cluster: o.cluster.spec.name,
    ok: !checks.some((c) => c.status === "fail"),
    ms: Date.now() - t0,
    checks,
  };
}

async function gather(o: PreflightOptions, conn: Connection, node: NodeSpec, now: () => number): Promise<NodeFacts> {
  const timeoutMs = o.timeoutMs ?? 30_000;
  const fail = (e: unknown) => ({ code: null, stdout: "", stderr: (e as Error).message });
  // The clock first, in a command of its own: its round trip bounds the error of the comparison.
  // Two samples, the one with the shorter round trip kept (the first pays for the session's start).
  let clock: NodeFacts["clock"];
  for (let i = 0; i < 2; i++) {
    const t1 = now();
    const d = await conn.exec("date +%s%N", { timeoutMs }).catch(fail);
    const t2 = now();
    if (!/^\d{10,}$/.test(d.stdout.trim())) break;
    const ms = Number(BigInt(d.stdout.trim()) / 1_000_000n);
    const sample = { offsetMs: ms - (t1 + t2) / 2, uncertaintyMs: (t2 - t1) / 2 };
    if (!clock || sample.uncertaintyMs < clock.uncertaintyMs) clock = sample;
  }
  let sudo = true;
  let sudoError: string | undefined;
  if (conn.user !== "root") {
    const s = await conn.exec("sudo -n true", { timeoutMs }).catch(fail);
    sudo = s.code === 0;
    if (!sudo) sudoError = lastLines(s.stderr || s.stdout, 1) || `exit ${s.code}`;
  }
  const script = preflightScript(scriptContext(o, node));
  // Without sudo the facts are gathered as the login user: fewer of them (ss names no processes).
  const argv = ["bash", "-c", script, "ha-gen-preflight"];
  const cmd = sudo ? asRoot(conn, argv) : shArgs(argv);
  const r = await conn.exec(cmd, { timeoutMs }).catch(fail);
  const base: NodeFacts = { user: conn.user, sudo, ...(sudoError ? { sudoError } : {}), ...(clock ? { clock } : {}) };
  if (r.code !== 0) {
    const why = r.code === null ? "timed out or lost the connection" : `exit ${r.code}`;
    return { ...base, error: `${why}: ${lastLines(r.stderr || r.stdout, 2)}` };
  }
  return { ...base, lines: r.stdout.split("\n").filter(Boolean) };
}

function isController(n: NodeSpec): boolean {
  return n.roles.includes("controller");
}

function scriptContext(o: PreflightOptions, node: NodeSpec) {
  const { cluster } = o;
  const skip = new Set(o.skip ?? []);
  const mirror = cluster.spec.os === "centos8" ? cluster.spec.prepare.centosMirror : "as-installed";
  return {
    vip: cluster.vip.address,
    vipInterface: cluster.spec.networks.management.interface,
    arp: (isController(node) && !skip.has("vip") ? 1 : 0) as 0 | 1,
    repos: (skip.has("repositories") ? 0 : 1) as 0 | 1,
    packageManager: cluster.os.packageManager,
    mirror: mirror === "as-installed" ? "" : mirror,
    hosts: cluster.nodes.map((n) => n.hostname),
    dirs: isController(node) ? [MYSQL_DATADIR, cluster.spec.etcd.dataDir] : [],
  };
}

/** The fact lines of one kind, split on tabs (without the kind). */
function factsOf(lines: readonly string[], kind: string): string[][] {
  return lines.filter((l) => l.split("\t")[0] === kind).map((l) => l.split("\t").slice(1));
}

interface Link {
  readonly name: string;
  readonly flags: readonly string[];
  readonly state: string;
}

function parseLinks(lines: readonly string[]): Link[] {
  return factsOf(lines, "link").flatMap(([l]) => {
    const m = /^\d+:\s+([^:@\s]+)(?:@\S+)?:\s+<([^>]*)>.*?\bstate\s+(\S+)/.exec(l ?? "");
    return m ? [{ name: m[1]!, flags: m[2]!.split(","), state: m[3]! }] : [];
  });
}

function parseAddrs(lines: readonly string[]): { dev: string; cidr: string }[] {
  return factsOf(lines, "addr").flatMap(([l]) => {
    const m = /^\d+:\s+(\S+)\s+inet\s+(\S+)/.exec(l ?? "");
    return m ? [{ dev: m[1]!, cidr: m[2]! }] : [];
  });
}

const GIB = 1024 * 1024;
const gib = (kib: number) => `${(kib / GIB).toFixed(1)} GiB`;

const OS_IDS: Record<string, { id: readonly string[]; version: RegExp; name: string }> = {
  centos8: { id: ["centos"], version: /^8(\.|$)/, name: "CentOS 8" },
  debian12: { id: ["debian"], version: /^12(\.|$)/, name: "Debian 12" },
};

/**
 * Pure: the checks, from what each node told (or why it could not). `facts` has an entry per
 * node asked; the VIP check is cluster-wide (it combines every controller's view).
 */
export function evaluatePreflight(
  cluster: Cluster,
  facts: ReadonlyMap<string, NodeFacts | { readonly unreachable: string }>,
  o: {
    readonly skip: readonly PreflightCheckName[];
    readonly maxClockOffsetMs: number;
    readonly nodes: readonly string[];
  },
): PreflightCheck[] {
  const out: PreflightCheck[] = [];
  const skip = new Set(o.skip);
  const add = (c: PreflightCheck) => {
    if (skip.has(c.check) && c.check !== "connect") return;
    out.push(c);
  };
  for (const name of skip) out.push({ check: name, status: "skip", detail: "skipped on request" });
  const vipHolders: string[] = [];
  const arpSeen: { node: string; result: string; detail: string }[] = [];
  for (const node of cluster.nodes) {
    if (!o.nodes.includes(node.hostname)) continue;
    const f = facts.get(node.hostname);
    const at = { node: node.hostname };
    if (!f || "unreachable" in f) {
      add({
        ...at,
        check: "connect",
        status: "fail",
        detail: f ? f.unreachable : "not asked",
        fix: "check the address, ssh config, host key and credentials deploy uses for this node",
      });
      continue;
    }
    add({ ...at, check: "connect", status: "pass", detail: `logged in as ${f.user}` });
    if (f.user === "root") add({ ...at, check: "sudo", status: "pass", detail: "root login: no sudo needed" });
    else if (f.sudo) add({ ...at, check: "sudo", status: "pass", detail: `passwordless sudo works for ${f.user}` });
    else {
      add({
        ...at,
        check: "sudo",
        status: "fail",
        detail: `sudo -n as ${f.user} fails: ${f.sudoError ?? "unknown"}`,
        fix:
          `give ${f.user} passwordless sudo (e.g. "${f.user} ALL=(ALL) NOPASSWD: ALL" in /etc/sudoers.d/), ` +
          "or log in as root",
      });
    }
    if (f.error !== undefined || !f.lines) {
      add({
        ...at,
        check: "os",
        status: "fail",
        detail: `the checks could not run: ${f.error ?? "no output"}`,
        fix: "ha-gen needs bash and coreutils on the node; see the message",
      });
      continue;
    }
    const lines = f.lines;
    evaluateOs(cluster, lines, at, add);
    evaluateInterfaces(cluster, node, lines, at, add);
    evaluateNames(cluster, node, lines, at, add);
    const addrs = parseAddrs(lines);
    if (addrs.some((a) => a.cidr.split("/")[0] === cluster.vip.address)) vipHolders.push(node.hostname);
    for (const [result, detail] of factsOf(lines, "arp")) {
      arpSeen.push({ node: node.hostname, result: result ?? "", detail: detail ?? "" });
    }
    evaluatePorts(cluster, node, lines, at, add, f.sudo);
    evaluateTime(f, lines, at, add, o.maxClockOffsetMs);
    evaluateDisk(lines, at, add);
    evaluateRepos(cluster, lines, at, add);
    const mod = factsOf(lines, "module")[0]?.[1];
    if (mod === "loaded" || mod === "loadable") {
      add({ ...at, check: "br_netfilter", status: "pass", detail: `br_netfilter is ${mod}` });
    } else {
      add({
        ...at,
        check: "br_netfilter",
        status: "fail",
        detail: "the kernel module br_netfilter is neither loaded nor found by modprobe",
        fix:
          "install the running kernel's modules (Debian: linux-image-$(uname -r); CentOS: kernel-modules) or " +
          "load br_netfilter on the host of a container; the net.bridge.* sysctls need it",
      });
    }
  }
  if (!skip.has("vip")) out.push(evaluateVip(cluster, vipHolders, arpSeen));
  const rank = (c: PreflightCheck) => CHECK_ORDER.indexOf(c.check);
  const nodeRank = (c: PreflightCheck) =>
    c.node === undefined ? -1 : cluster.nodes.findIndex((n) => n.hostname === c.node);
  // Stable: per node in spec order, checks in a fixed order (the cluster-wide VIP row first).
  return out
    .map((c, i) => ({ c, i }))
    .sort((a, b) => nodeRank(a.c) - nodeRank(b.c) || rank(a.c) - rank(b.c) || a.i - b.i)
    .map((x) => x.c);
}

type Add = (c: PreflightCheck) => void;
type At = { readonly node: string };

function evaluateOs(cluster: Cluster, lines: readonly string[], at: At, add: Add): void {
  const [id = "", version = ""] = factsOf(lines, "os")[0] ?? [];
  const want = OS_IDS[cluster.spec.os]!;
  if (want.id.includes(id) && want.version.test(version)) {
    add({ ...at, check: "os", status: "pass", detail: `${id} ${version} (os: ${cluster.spec.os})` });
  } else {
    add({
      ...at,
      check: "os",
      status: "fail",
      detail:
        `runs ${id || "an unknown OS"} ${version} (/etc/os-release), ` +
        `the spec says os: ${cluster.spec.os} (${want.name})`,
      fix: `install ${want.name} on this node, or set the spec's os to the nodes' system (centos8 or debian12)`,
    });
  }
}

function evaluateInterfaces(cluster: Cluster, node: NodeSpec, lines: readonly string[], at: At, add: Add): void {
  if (factsOf(lines, "noip").length > 0) {
    add({ ...at, check: "interface", status: "fail", detail: "the ip command is missing", fix: "install iproute2" });
    return;
  }
  const links = parseLinks(lines);
  const addrs = parseAddrs(lines);
  type Net = readonly [string, { readonly cidr: string; readonly interface: string }, string];
  const nets: Net[] = [["management", cluster.spec.networks.management, node.addresses.management]];
  const vlan = cluster.spec.networks.vlan;
  if (vlan && node.addresses.vlan) nets.push(["vlan", vlan, node.addresses.vlan]);
  for (const [net, n, address] of nets) {
    const prefix = n.cidr.split("/")[1]!;
    const want = `${address}/${prefix}`;
    const link = links.find((l) => l.name === n.interface);
    const path = `networks.${net}.interface`;
    if (!link) {
      const have = links.map((l) => l.name).join(", ");
      add({
        ...at,
        check: "interface",
        status: "fail",
        detail: `interface ${n.interface} (${path}) does not exist; this node has ${have || "none"}`,
        fix: `rename the interface to ${n.interface}, or set ${path} to the interface that carries ${want}`,
      });
      continue;
    }
    if (!link.flags.includes("UP")) {
      add({
        ...at,
        check: "interface",
        status: "fail",
        detail: `interface ${n.interface} is down (state ${link.state})`,
        fix: `bring it up: ip link set dev ${n.interface} up (and in the node's network configuration)`,
      });
      continue;
    }
    const on = addrs.filter((a) => a.dev === n.interface).map((a) => a.cidr);
    if (on.includes(want)) {
      add({ ...at, check: "interface", status: "pass", detail: `${n.interface} is up with ${want}` });
      continue;
    }
    const same = addrs.find((a) => a.cidr.split("/")[0] === address);
    const where = same ? `; ${address} is on ${same.dev} as ${same.cidr}` : "";
    add({
      ...at,
      check: "interface",
      status: "fail",
      detail:
        `${n.interface} does not carry ${want} (${net} network ${n.cidr}); ` +
        `it has ${on.join(", ") || "no IPv4 address"}${where}`,
      fix: same
        ? `configure ${want} on ${n.interface} (prefix of ${n.cidr}), or correct the spec's network`
        : `configure ${want} on ${n.interface}, or correct nodes[].addresses.${net} of ${node.hostname}`,
    });
  }
}

function evaluateNames(cluster: Cluster, node: NodeSpec, lines: readonly string[], at: At, add: Add): void {
  const current = factsOf(lines, "hostname")[0]?.[0] ?? "";
  add({
    ...at,
    check: "hostname",
    status: "pass",
    detail:
      current === node.hostname
        ? `hostname is ${node.hostname}`
        : `hostname is ${current || "unset"}; deploy's first step (00-prepare) sets ${node.hostname}`,
  });
  const sources = (factsOf(lines, "nsswitch")[0]?.[0] ?? "").replace(/^\s*hosts:\s*/, "").split(/\s+/);
  const filesFirst = sources[0] === "files" || sources[0] === undefined || sources[0] === "";
  const files = new Map(factsOf(lines, "resolve").map(([n, a]) => [n!, a ?? ""] as const));
  const any = new Map(factsOf(lines, "resolve-any").map(([n, a]) => [n!, a ?? ""] as const));
  const wrong: string[] = [];
  const override: string[] = [];
  for (const n of cluster.nodes) {
    const want = n.addresses.management;
    const viaOther = any.get(n.hostname);
    if (!filesFirst && viaOther && viaOther !== want) override.push(`${n.hostname} → ${viaOther} (want ${want})`);
    const now = files.get(n.hostname);
    if (now && now !== want) wrong.push(`${n.hostname} → ${now}`);
  }
  if (override.length > 0) {
    add({
      ...at,
      check: "resolve",
      status: "fail",
      detail:
        `names resolve elsewhere through "${sources.join(" ")}" (nsswitch.conf asks it before /etc/hosts): ` +
        override.join(", "),
      fix: "fix those DNS records, or list files first on the hosts: line of /etc/nsswitch.conf",
    });
  } else if (wrong.length > 0) {
    add({
      ...at,
      check: "resolve",
      status: "warn",
      detail: `/etc/hosts maps ${wrong.join(", ")} now; deploy replaces /etc/hosts with the spec's addresses`,
      fix: "nothing to do unless other software relies on those lines",
    });
  } else {
    const how = filesFirst ? "from /etc/hosts (deploy writes it)" : `through "${sources.join(" ")}"`;
    add({
      ...at,
      check: "resolve",
      status: "pass",
      detail: `every node name resolves to its management address ${how}`,
    });
  }
}

function evaluateVip(
  cluster: Cluster,
  holders: readonly string[],
  arp: readonly { node: string; result: string; detail: string }[],
): PreflightCheck {
  const vip = cluster.vip.address;
  if (holders.length > 1) {
    return {
      check: "vip",
      status: "fail",
      detail: `${vip} is configured on several nodes at once: ${holders.join(", ")}`,
      fix: `remove it from all but one (ip addr del ${vip}/${cluster.vip.prefix} dev ...); pacemaker places it`,
    };
  }
  if (holders.length === 1) {
    const node = cluster.nodes.find((n) => n.hostname === holders[0]);
    if (node && isController(node)) {
      return { check: "vip", status: "pass", detail: `${vip} is held by ${holders[0]} (the cluster's VIP resource)` };
    }
    return {
      check: "vip",
      status: "fail",
      detail: `${vip} is configured on ${holders[0]}, which is not a controller`,
      fix: `remove it there (ip addr del ${vip}/${cluster.vip.prefix} dev ...): pacemaker runs the VIP on a controller`,
    };
  }
  const taken = arp.find((a) => a.result === "taken");
  if (taken) {
    return {
      check: "vip",
      status: "fail",
      detail: `${vip} answers ARP from ${taken.detail} (probed from ${taken.node}) but no node of the cluster holds it`,
      fix: `another machine uses ${vip}: free it, or choose another vip.address`,
    };
  }
  const free = arp.filter((a) => a.result === "free");
  if (free.length > 0) {
    const how = free[0]!.detail === "arping" ? "arping -D" : "ARP resolution (no arping installed)";
    return {
      check: "vip",
      status: "pass",
      detail: `${vip} is free: no node holds it, no answer to ${how} from ${free.map((a) => a.node).join(", ")}`,
    };
  }
  const why = arp.map((a) => `${a.node}: ${a.result} ${a.detail}`.trim()).join("; ");
  return {
    check: "vip",
    status: "warn",
    detail: `no node holds ${vip}; it could not be probed by ARP (${why || "no controller answered"})`,
    fix: `make sure nothing else answers on ${vip} (arping -D -I <interface> ${vip})`,
  };
}

function evaluatePorts(
  cluster: Cluster,
  node: NodeSpec,
  lines: readonly string[],
  at: At,
  add: Add,
  privileged: boolean,
): void {
  const wanted = wantedListeners(cluster, node);
  if (wanted.length === 0) {
    add({ ...at, check: "ports", status: "pass", detail: "no TCP port is bound here by ha-gen's services" });
    return;
  }
  if (factsOf(lines, "noss").length > 0) {
    add({ ...at, check: "ports", status: "skip", detail: "ss is missing (iproute2): ports not checked" });
    return;
  }
  const listeners = factsOf(lines, "listen").flatMap(([l]) => {
    const p = parseSsLine(l ?? "");
    return p ? [p] : [];
  });
  const problems: string[] = [];
  const unnamed: string[] = [];
  const held = new Set<string>();
  for (const w of wanted) {
    for (const l of listeners.filter((x) => blocks(x, w))) {
      const names = l.processes.map((p) => p.name);
      const where = `${w.address}:${w.port} (${w.what})`;
      if (names.length === 0) unnamed.push(where);
      else if (names.some((n) => w.processes.includes(n))) held.add(`${w.port}`);
      else {
        const who = l.processes.map((p) => `${p.name} pid ${p.pid}`).join(", ");
        problems.push(`${where} is taken by ${who} listening on ${l.address}:${l.port}`);
      }
    }
  }
  if (problems.length > 0) {
    add({
      ...at,
      check: "ports",
      status: "fail",
      detail: [...new Set(problems)].join("; "),
      fix: "stop or move that program, or change the port in the spec",
    });
  } else if (unnamed.length > 0) {
    add({
      ...at,
      check: "ports",
      status: privileged ? "warn" : "skip",
      detail: `in use, by a process ss does not name: ${[...new Set(unnamed)].join(", ")}`,
      fix: "check with ss -ltnp as root that the managed service holds them",
    });
  } else {
    const note = held.size > 0 ? ` (${held.size} already held by the managed services)` : "";
    add({ ...at, check: "ports", status: "pass", detail: `the ${wanted.length} ports to bind are free${note}` });
  }
}

function evaluateTime(f: NodeFacts, lines: readonly string[], at: At, add: Add, maxMs: number): void {
  const tracking = factsOf(lines, "chrony")[0]?.[0]?.split(",");
  // chronyc -c tracking: field 4 is the system clock's offset from NTP time (s), 13 the leap status.
  const chronyOffset = tracking && tracking.length >= 14 ? Math.abs(Number(tracking[4])) * 1000 : undefined;
  const leap = tracking?.[13];
  if (!f.clock) {
    add({ ...at, check: "time", status: "warn", detail: "the node's clock could not be read (date +%s%N)" });
    return;
  }
  const { offsetMs, uncertaintyMs } = f.clock;
  const off = Math.abs(offsetMs) - uncertaintyMs;
  const ahead = offsetMs >= 0 ? "ahead of" : "behind";
  const s = (ms: number) => (ms / 1000).toFixed(3);
  const sampled = `${s(Math.abs(offsetMs))} s ${ahead} this machine's (±${s(uncertaintyMs)} s)`;
  if (off > maxMs) {
    add({
      ...at,
      check: "time",
      status: "fail",
      detail: `clock ${sampled}, more than ${maxMs / 1000} s`,
      fix:
        "set the clock (chronyc makestep, or date -s) and keep it synchronised; Galera, etcd and pacemaker " +
        "need agreeing clocks",
    });
  } else if (chronyOffset !== undefined && chronyOffset > maxMs) {
    add({
      ...at,
      check: "time",
      status: "fail",
      detail: `chrony reports the clock ${(chronyOffset / 1000).toFixed(3)} s off its source (leap status ${leap})`,
      fix: "let chrony step the clock (chronyc makestep)",
    });
  } else {
    const c = chronyOffset === undefined ? "" : `; chrony: ${(chronyOffset / 1000).toFixed(6)} s off, ${leap}`;
    add({ ...at, check: "time", status: "pass", detail: `clock ${sampled}${c}` });
  }
}

function evaluateDisk(lines: readonly string[], at: At, add: Add): void {
  const rows = factsOf(lines, "disk");
  if (rows.length === 0) return;
  const byFs = new Map<string, { dirs: string[]; need: number; avail: number }>();
  for (const [dir = "", target = "", avail = ""] of rows) {
    const need = dir === MYSQL_DATADIR ? DISK_NEED_KIB.galera : DISK_NEED_KIB.etcd;
    const fs = byFs.get(target) ?? { dirs: [], need: 0, avail: Number(avail) };
    fs.dirs.push(dir);
    fs.need += need;
    byFs.set(target, fs);
  }
  for (const [target, fs] of byFs) {
    if (!Number.isFinite(fs.avail) || target === "") {
      add({ ...at, check: "disk", status: "warn", detail: `free space for ${fs.dirs.join(", ")} unknown (df)` });
    } else if (fs.avail < fs.need) {
      add({
        ...at,
        check: "disk",
        status: "fail",
        detail: `${gib(fs.avail)} free on ${target} for ${fs.dirs.join(" and ")}; needs ${gib(fs.need)}`,
        fix: `free space on ${target} or give the data directories a larger file system`,
      });
    } else {
      add({
        ...at,
        check: "disk",
        status: "pass",
        detail: `${gib(fs.avail)} free on ${target} for ${fs.dirs.join(" and ")}`,
      });
    }
  }
}

function evaluateRepos(cluster: Cluster, lines: readonly string[], at: At, add: Add): void {
  const rows = factsOf(lines, "repo");
  if (rows.length === 0) return;
  const fix =
    cluster.spec.os === "centos8"
      ? "check prepare.centosMirror, the node's proxy and DNS, or use a reachable mirror"
      : "check /etc/apt/sources.list(.d), the node's proxy and DNS, or use a reachable mirror";
  const failed = rows.filter((r) => r[1] === "fail");
  const noroute = rows.filter((r) => r[1] === "noroute");
  const ok = rows.filter((r) => r[1] === "ok");
  if (failed.length > 0) {
    const what = failed.map(([u, , d]) => `${u} (${d})`).join(", ");
    add({ ...at, check: "repositories", status: "fail", detail: `not answering: ${what}`, fix });
  } else if (rows.some((r) => r[1] === "none")) {
    add({
      ...at,
      check: "repositories",
      status: "skip",
      detail: "no http(s) repository configured: packages must come from the image or a local source",
    });
  } else if (noroute.length > 0 && ok.length === 0) {
    add({
      ...at,
      check: "repositories",
      status: "skip",
      detail: `no uplink (${noroute[0]![2]}): repositories not checked; packages must already be installed`,
    });
  } else {
    add({ ...at, check: "repositories", status: "pass", detail: `answering: ${ok.map(([u]) => u).join(", ")}` });
  }
}
