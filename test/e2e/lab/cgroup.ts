import { existsSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { CGROUP_NAME } from "./config.js";

/**
 * One cgroup per container. Without systemd as the host's PID 1, every `nspawn --keep-unit` stays
 * in its caller's cgroup and creates payload/ and supervisor/ there: all containers would share
 * one payload/system.slice/mariadb.service, and stopping one kills (or hangs on) the others. So the
 * launcher moves itself into <hierarchy>/ha-gen-lab/<name> before it execs nspawn.
 */

/** The hierarchies a container's processes must be separated in: v2 alone, or v1 name=systemd + v2 (hybrid). */
export function cgroupRoots(): string[] {
  if (existsSync("/sys/fs/cgroup/cgroup.controllers")) return [join("/sys/fs/cgroup", CGROUP_NAME)];
  return ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"]
    .filter((h) => existsSync(join(h, "cgroup.procs")))
    .map((h) => join(h, CGROUP_NAME));
}

export function cgroupDirs(name: string): string[] {
  return cgroupRoots().map((r) => join(r, name));
}

/**
 * argv prefix that runs the rest of argv in cgroup `name`: a shell moves itself (mkdir, write $$ to
 * cgroup.procs in every hierarchy), then execs the command, which inherits the cgroup.
 */
export function inOwnCgroup(name: string, argv: readonly string[]): string[] {
  return [
    "sh",
    "-ec",
    'n=$1; shift; for d in $n; do mkdir -p "$d"; echo $$ > "$d/cgroup.procs"; done; exec "$@"',
    "cg-launch",
    cgroupDirs(name).join(" "),
    ...argv,
  ];
}

/** Every PID in a cgroup subtree (all hierarchies). */
export function pidsIn(dir: string): number[] {
  const out = new Set<number>();
  const walk = (d: string) => {
    let entries: import("node:fs").Dirent[];
    try {
      for (const l of readFileSync(join(d, "cgroup.procs"), "utf8").split("\n")) if (l.trim()) out.add(Number(l));
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(join(d, e.name));
  };
  walk(dir);
  return [...out];
}

export function allLabPids(): number[] {
  return [...new Set(cgroupRoots().flatMap(pidsIn))];
}

/** rmdir a cgroup subtree depth-first (only empty cgroups can go; returns what is left). */
export function removeCgroupTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const left: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
    try {
      rmdirSync(d);
    } catch {
      left.push(d);
    }
  };
  walk(dir);
  return left;
}
