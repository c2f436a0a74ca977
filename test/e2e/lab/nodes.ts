import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { LIMITS, LOG_DIR, NODES, NODES_DIR, RUN_DIR, VIP, type LabNode } from "./config.js";
import { cgroupDirs, inOwnCgroup, removeCgroupTree } from "./cgroup.js";
import { CLIENT_KEY, KNOWN_HOSTS, SSH_CONFIG, sshArgv } from "./exec.js";
import { resetNic, unplug, plug } from "./net.js";
import { log, run, waitFor } from "./proc.js";

/**
 * Node containers: an overlay of the image per node (upper dir holds the node's own state), a
 * per-node identity written by the harness, booted with systemd-nspawn in the node's netns and its
 * own cgroup.
 */

export const nodeRoot = (n: LabNode) => join(NODES_DIR, n.name, "root");
const pidFile = (n: LabNode) => join(RUN_DIR, `${n.name}.nspawn.pid`);
const initFile = (n: LabNode) => join(RUN_DIR, `${n.name}.init.pid`);

export function isMounted(path: string): boolean {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((l) => l.split(" ")[4] === path);
}

/** The harness's SSH client key (root's authorized key on every node). */
export function ensureClientKey(): void {
  mkdirSync(RUN_DIR, { recursive: true, mode: 0o700 });
  if (!existsSync(CLIENT_KEY))
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ha-gen-lab", "-f", CLIENT_KEY]);
}

/** Overlay root + identity for each node; returns known_hosts lines of their new host keys. */
export function makeNodes(image: string): void {
  ensureClientKey();
  const pub = readFileSync(`${CLIENT_KEY}.pub`, "utf8");
  const known: string[] = [];
  for (const n of NODES) {
    const d = join(NODES_DIR, n.name);
    if (isMounted(nodeRoot(n))) throw new Error(`${nodeRoot(n)} is still mounted: tear the lab down first`);
    rmSync(d, { recursive: true, force: true });
    for (const sub of ["upper", "work", "root"]) mkdirSync(join(d, sub), { recursive: true });
    run([
      "mount",
      "-t",
      "overlay",
      `ha-gen-lab-${n.name}`,
      "-o",
      `lowerdir=${image},upperdir=${join(d, "upper")},workdir=${join(d, "work")}`,
      nodeRoot(n),
    ]);
    const r = nodeRoot(n);
    writeFileSync(join(r, "etc/hostname"), `${n.name}\n`);
    writeFileSync(join(r, "etc/machine-id"), `${randomBytes(16).toString("hex")}\n`);
    // Host keys made here, so the harness knows them before the first connection and every SSH
    // client (the harness's and ha-gen deploy's) verifies them: no trust on first use.
    run(["ssh-keygen", "-q", "-A", "-f", r]);
    for (const f of readdirSync(join(r, "etc/ssh"))
      .filter((x) => /^ssh_host_.*_key\.pub$/.test(x))
      .sort()) {
      const [type, key] = readFileSync(join(r, "etc/ssh", f), "utf8")
        .trim()
        .split(/\s+/);
      known.push(`${n.name},${n.ip} ${type} ${key}`);
    }
    mkdirSync(join(r, "root/.ssh"), { recursive: true, mode: 0o700 });
    chmodSync(join(r, "root/.ssh"), 0o700);
    writeFileSync(join(r, "root/.ssh/authorized_keys"), pub, { mode: 0o600 });
  }
  writeFileSync(KNOWN_HOSTS, `${known.join("\n")}\n`, { mode: 0o600 });
  writeSshConfig();
}

/** ssh_config for the harness and for `ha-gen deploy --ssh-config`: strict host key checking. */
export function writeSshConfig(): void {
  const hosts = NODES.map((n) => `Host ${n.name}\n  HostName ${n.ip}\n`).join("");
  writeFileSync(
    SSH_CONFIG,
    `# ha-gen container lab (written by test/e2e/lab); use from the lab namespace only:\n` +
      `#   ip netns exec lab ssh -F ${SSH_CONFIG} controller01\n` +
      `${hosts}Host vip\n  HostName ${VIP}\n  HostKeyAlias vip\n\n` +
      `Host *\n  User root\n  IdentityFile ${CLIENT_KEY}\n  IdentitiesOnly yes\n` +
      `  UserKnownHostsFile ${KNOWN_HOSTS}\n  StrictHostKeyChecking yes\n  BatchMode yes\n  ConnectTimeout 5\n` +
      `  ServerAliveInterval 5\n  ServerAliveCountMax 6\n  LogLevel ERROR\n`,
  );
}

function readPid(f: string): number | undefined {
  try {
    const v = Number(readFileSync(f, "utf8").trim());
    return Number.isInteger(v) && v > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

export function alive(pid: number | undefined): pid is number {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
  } catch {
    return false;
  }
}

/** PID 1 of a pid namespace below ours: `NSpid: <host pid> 1`. */
function isContainerInit(pid: number): boolean {
  try {
    const m = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    const ids = m?.[1]?.trim().split(/\s+/) ?? [];
    return ids.length >= 2 && ids[ids.length - 1] === "1";
  } catch {
    return false;
  }
}

function children(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((t) =>
      readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

export function nspawnPid(n: LabNode): number | undefined {
  const p = readPid(pidFile(n));
  return alive(p) ? p : undefined;
}

/** Host PID of the container's systemd (the process to SIGKILL to crash the node). */
export function initPid(n: LabNode): number | undefined {
  const p = readPid(initFile(n));
  return alive(p) && isContainerInit(p) ? p : undefined;
}

export function running(n: LabNode): boolean {
  return initPid(n) !== undefined;
}

/** Start the container (returns once its systemd runs; SSH readiness is waitForSsh). */
export async function boot(n: LabNode): Promise<void> {
  if (running(n)) throw new Error(`${n.name} is already running`);
  for (const d of cgroupDirs(n.name)) removeCgroupTree(d);
  mkdirSync(LOG_DIR, { recursive: true });
  const out = openSync(join(LOG_DIR, `console-${n.name}.log`), "a");
  // --private-network together with --network-namespace-path keeps CAP_NET_ADMIN and a writable
  // /proc/sys/net in the container (IPaddr2 adds the VIP, the rollout sets net.* sysctls).
  const argv = inOwnCgroup(n.name, [
    "systemd-nspawn",
    "-D",
    nodeRoot(n),
    `--machine=${n.name}`,
    `--hostname=${n.name}`,
    "--register=no",
    "--keep-unit",
    "--link-journal=no",
    "--resolv-conf=off",
    "--timezone=off",
    `--network-namespace-path=/run/netns/${n.netns}`,
    "--private-network",
    "--console=read-only",
    "-b",
  ]);
  const p = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ["ignore", out, out] });
  closeSync(out);
  p.unref();
  if (!p.pid) throw new Error(`could not start systemd-nspawn for ${n.name}`);
  writeFileSync(pidFile(n), `${p.pid}\n`);
  log(`boot ${n.name}: nspawn pid ${p.pid}`);
  const init = await waitFor(
    `${n.name}: the container's systemd`,
    30_000,
    () => {
      if (!alive(p.pid)) throw new Error(`systemd-nspawn for ${n.name} exited; see ${LOG_DIR}/console-${n.name}.log`);
      // nspawn → (short-lived outer child) → the container's PID 1
      const queue = children(p.pid!);
      for (let i = 0; i < queue.length; i++) {
        if (isContainerInit(queue[i]!)) return queue[i];
        queue.push(...children(queue[i]!));
      }
      return undefined;
    },
    100,
  );
  writeFileSync(initFile(n), `${init}\n`);
  log(`boot ${n.name}: container init pid ${init}`);
}

/** Wait until sshd answers with the recorded host key (bounded). */
export async function waitForSsh(n: LabNode, limitMs = LIMITS.sshReadyMs): Promise<void> {
  await waitFor(
    `sshd on ${n.name}`,
    limitMs,
    () => {
      if (!running(n)) throw new Error(`${n.name} is not running; see ${LOG_DIR}/console-${n.name}.log`);
      return run(sshArgv(n.name, "true"), { allowFail: true, timeoutMs: 15_000 }).status === 0;
    },
    500,
  );
}

/**
 * Power cut: SIGKILL of the container's PID 1 (the whole PID namespace dies; SIGKILL of nspawn
 * would not stop it) and its cable pulled, since the node's netns outlives it with the VIP on eth0.
 */
export async function crash(n: LabNode): Promise<void> {
  const init = initPid(n);
  if (!init) throw new Error(`${n.name} is not running`);
  process.kill(init, "SIGKILL");
  unplug(n);
  log(`crash ${n.name}: SIGKILL ${init}, veth down`);
  await waitFor(`${n.name}'s nspawn to exit`, 30_000, () => !alive(readPid(pidFile(n))) && !alive(init), 200);
  rmSync(pidFile(n), { force: true });
  rmSync(initFile(n), { force: true });
  for (const d of cgroupDirs(n.name)) removeCgroupTree(d);
}

/** Power cut of several nodes at once (all PID 1s killed before any cable is pulled). */
export async function crashAll(nodes: readonly LabNode[]): Promise<void> {
  const inits = nodes.map((n) => initPid(n));
  if (inits.some((p) => p === undefined))
    throw new Error(`not all of ${nodes.map((n) => n.name).join(", ")} are running`);
  for (const p of inits) process.kill(p!, "SIGKILL");
  for (const n of nodes) unplug(n);
  log(`crash ${nodes.map((n) => n.name).join(", ")}: SIGKILL ${inits.join(", ")}, veths down`);
  await waitFor(
    "the nodes' nspawn to exit",
    30_000,
    () => nodes.every((n, i) => !alive(readPid(pidFile(n))) && !alive(inits[i])),
    200,
  );
  for (const n of nodes) {
    rmSync(pidFile(n), { force: true });
    rmSync(initFile(n), { force: true });
    for (const d of cgroupDirs(n.name)) removeCgroupTree(d);
  }
}

/** Boot a crashed node again on the same disk (its overlay upper dir), like a power-on. */
export async function reboot(n: LabNode): Promise<void> {
  resetNic(n);
  plug(n);
  await boot(n);
  await waitForSsh(n);
}
