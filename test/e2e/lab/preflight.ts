import { existsSync, readFileSync } from "node:fs";
import { LAB_SUBNET } from "./config.js";
import { run } from "./proc.js";

/** Why the lab cannot run here, in words an operator can act on; empty when it can. */
export function labBlockers(): string[] {
  const out: string[] = [];
  if (process.platform !== "linux") {
    return [
      `the container lab needs Linux (network namespaces, overlayfs, systemd-nspawn); this is ${process.platform}`,
    ];
  }
  if (process.getuid?.() !== 0) {
    out.push(
      "the container lab needs root (it creates network namespaces, overlay mounts and cgroups, " +
        "and boots systemd-nspawn containers): run `sudo npm run test:e2e`",
    );
  }
  const tools: Record<string, string> = {
    "systemd-nspawn": "systemd-container",
    debootstrap: "debootstrap",
    ip: "iproute2",
    ssh: "openssh-client",
    "ssh-keygen": "openssh-client",
    nsenter: "util-linux",
    mountpoint: "util-linux",
    curl: "curl",
  };
  const missing = Object.entries(tools).filter(
    ([t]) => run(["sh", "-c", 'command -v "$1"', "sh", t], { allowFail: true }).status !== 0,
  );
  if (missing.length > 0) {
    out.push(
      `missing ${missing.map(([t]) => t).join(", ")} ` +
        `(packages ${[...new Set(missing.map(([, p]) => p))].join(" ")}): run .ci/install-lab-deps.sh as root`,
    );
  }
  if (!readFileSync("/proc/filesystems", "utf8").includes("overlay"))
    out.push("the kernel has no overlayfs (per-node roots are overlays of the image)");
  if (!existsSync("/sys/fs/cgroup")) out.push("no /sys/fs/cgroup: each container needs a cgroup of its own");
  return out;
}

/** Throws with every reason at once. */
export function requireLabHost(): void {
  const b = labBlockers();
  if (b.length > 0) throw new Error(`cannot run the container lab:\n  - ${b.join("\n  - ")}`);
}

// ---- IPv4 arithmetic for the overlap check

export function parseCidr4(s: string): { base: number; prefix: number } {
  const [addr, p] = s.split("/");
  const parts = addr!.split(".").map(Number);
  if (parts.length !== 4 || parts.some((x) => !Number.isInteger(x) || x < 0 || x > 255))
    throw new Error(`not an IPv4 address: ${s}`);
  const prefix = p === undefined ? 32 : Number(p);
  const ip = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (ip & mask) >>> 0, prefix };
}

export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr4(a);
  const y = parseCidr4(b);
  const p = Math.min(x.prefix, y.prefix);
  const mask = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
  return (x.base & mask) >>> 0 === (y.base & mask) >>> 0;
}

export interface RouteJson {
  dst: string;
  dev?: string;
  table?: string;
}
export interface AddrJson {
  ifname: string;
  addr_info: { family?: string; local: string; prefixlen: number }[];
}

/**
 * Routes and addresses (`ip -4 -j route show table all`, `ip -4 -j addr`) that overlap the lab
 * subnet. The default route is not counted (it covers everything); any more specific route or
 * address is a conflict: the lab's 198.51.100.0/24 must be unknown to the machine.
 */
export function subnetConflicts(
  routes: readonly RouteJson[],
  addrs: readonly AddrJson[],
  subnet = LAB_SUBNET,
): string[] {
  const out: string[] = [];
  for (const r of routes) {
    if (r.dst === "default" || r.dst === "0.0.0.0/0") continue;
    if (cidrsOverlap(r.dst, subnet))
      out.push(`route ${r.dst}${r.dev ? ` dev ${r.dev}` : ""}${r.table ? ` table ${r.table}` : ""}`);
  }
  for (const a of addrs) {
    for (const i of a.addr_info) {
      if (i.family !== undefined && i.family !== "inet") continue;
      if (cidrsOverlap(`${i.local}/${i.prefixlen}`, subnet))
        out.push(`address ${i.local}/${i.prefixlen} on ${a.ifname}`);
    }
  }
  return out;
}

export function rootNamespaceConflicts(): string[] {
  const routes = JSON.parse(run(["ip", "-4", "-j", "route", "show", "table", "all"]).stdout || "[]") as RouteJson[];
  const addrs = JSON.parse(run(["ip", "-4", "-j", "addr", "show"]).stdout || "[]") as AddrJson[];
  return subnetConflicts(routes, addrs);
}

export function requireFreeSubnet(): void {
  const c = rootNamespaceConflicts();
  if (c.length > 0) {
    throw new Error(
      `refusing to start the lab: ${LAB_SUBNET} overlaps the root network namespace (${c.join("; ")}). ` +
        `The lab must be invisible to this machine's own network.`,
    );
  }
}

/** Interfaces, addresses and routes of the root namespace: must be the same before, during and after a run. */
export function rootNetSnapshot(): string {
  const links = (JSON.parse(run(["ip", "-j", "link", "show"]).stdout || "[]") as { ifname: string }[])
    .map((l) => l.ifname)
    .sort();
  const addrs = (JSON.parse(run(["ip", "-j", "addr", "show"]).stdout || "[]") as AddrJson[])
    .flatMap((a) => a.addr_info.map((i) => `${a.ifname} ${i.local}/${i.prefixlen}`))
    .sort();
  const routes = (JSON.parse(run(["ip", "-4", "-j", "route", "show", "table", "all"]).stdout || "[]") as RouteJson[])
    .map((r) => `${r.table ?? "main"} ${r.dst} ${r.dev ?? ""}`)
    .sort();
  return JSON.stringify({ links, addrs, routes }, null, 1);
}
