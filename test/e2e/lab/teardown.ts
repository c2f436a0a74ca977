import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { CLIENT_PREFIX, LAB_NETNS, NODES, NODES_DIR, RUN_DIR, STATE_DIR } from "./config.js";
import { allLabPids, cgroupRoots, removeCgroupTree } from "./cgroup.js";
import { alive, initPid } from "./nodes.js";
import { log, run, waitFor } from "./proc.js";

/**
 * Idempotent teardown, run before and after every lab run (and by `lab down` after a crash of the
 * test itself). Everything it stops is provably ours: container PID 1s recorded at boot, processes
 * in our cgroup subtree, processes inside our network namespaces. Nothing is matched by name.
 */

const NAMESPACES = [...NODES.map((n) => n.netns), LAB_NETNS];

function netnsInode(name: string): number | undefined {
  try {
    return statSync(`/run/netns/${name}`).ino;
  } catch {
    return undefined;
  }
}

/** PIDs whose network namespace is one of the lab's (ssh/curl/deploy started in `lab`, containers). */
function pidsInLabNamespaces(): number[] {
  const inodes = new Set(NAMESPACES.map(netnsInode).filter((x): x is number => x !== undefined));
  if (inodes.size === 0) return [];
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (inodes.has(statSync(`/proc/${e}/ns/net`).ino)) out.push(Number(e));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function killAll(pids: readonly number[]): void {
  for (const p of pids) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

function labMounts(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m === STATE_DIR || m.startsWith(`${STATE_DIR}/`))
    .sort((a, b) => b.length - a.length);
}

export interface Leftovers {
  namespaces: string[];
  mounts: string[];
  cgroups: string[];
  processes: number[];
}

export function leftovers(): Leftovers {
  return {
    namespaces: NAMESPACES.filter((n) => existsSync(`/run/netns/${n}`)),
    mounts: labMounts(),
    cgroups: cgroupRoots().filter((r) => existsSync(r)),
    processes: [...new Set([...allLabPids(), ...pidsInLabNamespaces()])].filter(alive),
  };
}

/** Stop and remove everything the lab creates; throws listing whatever could not be removed. */
export async function teardown(opts: { keepState?: boolean } = {}): Promise<void> {
  const t0 = Date.now();
  // 1. Container PID 1s first: killing a PID namespace's init kills every process in it (an
  //    orderly poweroff can hang > 60 s when all RabbitMQ nodes stop at once).
  for (const n of NODES) {
    const p = initPid(n);
    if (p) killAll([p]);
  }
  // 2. Whatever else is ours: nspawn supervisors, client containers, ssh/deploy processes in `lab`.
  await waitFor(
    "lab processes to exit",
    30_000,
    () => {
      const left = [...new Set([...allLabPids(), ...pidsInLabNamespaces()])].filter(alive);
      killAll(left);
      return left.length === 0;
    },
    200,
  );
  // 3. Namespaces (the veths and br0 go with them).
  for (const ns of NAMESPACES) if (existsSync(`/run/netns/${ns}`)) run(["ip", "netns", "delete", ns]);
  // 4. Overlay mounts, innermost first.
  for (const m of labMounts()) {
    if (run(["umount", m], { allowFail: true }).status !== 0) run(["umount", "-l", m]);
  }
  // 5. Cgroups, and nspawn's propagation dirs (/run is not a tmpfs on such hosts).
  for (const r of cgroupRoots()) removeCgroupTree(r);
  const prop = "/run/systemd/nspawn/propagate";
  if (existsSync(prop)) {
    for (const e of readdirSync(prop)) {
      if (NODES.some((n) => n.name === e) || e.startsWith(CLIENT_PREFIX) || e === "ha-gen-lab-bake")
        rmSync(join(prop, e), { recursive: true, force: true });
    }
  }
  // 6. Node disks and per-run files (never while anything is still mounted below them).
  if (!opts.keepState && labMounts().length === 0) {
    rmSync(NODES_DIR, { recursive: true, force: true });
    rmSync(RUN_DIR, { recursive: true, force: true });
  }
  const l = leftovers();
  log(`teardown in ${Date.now() - t0} ms; left: ${JSON.stringify(l)}`);
  if (l.namespaces.length + l.mounts.length + l.cgroups.length + l.processes.length > 0) {
    throw new Error(`lab teardown left ${JSON.stringify(l)}`);
  }
}
