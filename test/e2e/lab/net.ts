import { existsSync } from "node:fs";
import { BRIDGE, BRIDGE_IP, LAB_NETNS, NODES, PREFIX, type LabNode } from "./config.js";
import { requireFreeSubnet } from "./preflight.js";
import { run } from "./proc.js";

/**
 * The lab network, all of it in namespaces the harness creates: netns `lab` holds br0
 * (198.51.100.1/24) and the lab-side veth ends; each node has its own netns whose eth0 is the
 * other end. The veth is created inside `lab` with its peer placed straight into the node's netns,
 * so no interface ever appears in the root namespace. No uplink, no default route.
 */

export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

const ipn = (ns: string, ...args: string[]) => run(["ip", "-n", ns, ...args]);

export function netUp(): void {
  requireFreeSubnet();
  run(["ip", "netns", "add", LAB_NETNS]);
  ipn(LAB_NETNS, "link", "set", "lo", "up");
  ipn(LAB_NETNS, "link", "add", BRIDGE, "type", "bridge", "stp_state", "0", "forward_delay", "0");
  ipn(LAB_NETNS, "addr", "add", `${BRIDGE_IP}/${PREFIX}`, "dev", BRIDGE);
  ipn(LAB_NETNS, "link", "set", BRIDGE, "up");
  for (const n of NODES) {
    run(["ip", "netns", "add", n.netns]);
    ipn(n.netns, "link", "set", "lo", "up");
    ipn(LAB_NETNS, "link", "add", n.veth, "type", "veth", "peer", "name", "eth0", "netns", n.netns);
    ipn(LAB_NETNS, "link", "set", n.veth, "master", BRIDGE, "up");
    resetNic(n);
  }
}

/**
 * The node's eth0 as a freshly booted machine has it: only its own address. A crashed node's
 * namespace outlives it and may still hold the VIP IPaddr2 added; pacemaker would then find the VIP
 * active on two nodes after the reboot.
 */
export function resetNic(n: LabNode): void {
  ipn(n.netns, "addr", "flush", "dev", "eth0");
  ipn(n.netns, "addr", "add", `${n.ip}/${PREFIX}`, "dev", "eth0");
  ipn(n.netns, "link", "set", "eth0", "up");
}

/** Pull the node's cable (its bridge port goes down). */
export function unplug(n: LabNode): void {
  ipn(LAB_NETNS, "link", "set", n.veth, "down");
}

export function plug(n: LabNode): void {
  ipn(LAB_NETNS, "link", "set", n.veth, "up");
}

/** Addresses on a node's eth0 (seen from the host, also while the node is down). */
export function nodeAddresses(n: LabNode): string[] {
  const j = JSON.parse(run(["ip", "-n", n.netns, "-j", "-4", "addr", "show", "dev", "eth0"]).stdout || "[]") as {
    addr_info: { local: string }[];
  }[];
  return j.flatMap((x) => x.addr_info.map((a) => a.local));
}
