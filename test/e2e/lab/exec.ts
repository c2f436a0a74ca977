import { join } from "node:path";
import { CLIENT_PREFIX, LAB_NETNS, LIMITS, RUN_DIR } from "./config.js";
import { cgroupDirs, inOwnCgroup, removeCgroupTree } from "./cgroup.js";
import { run, runAsync, type Result, type RunOptions } from "./proc.js";
import { rmSync } from "node:fs";

/**
 * Talking to nodes. Everything that reaches a node address runs inside the `lab` namespace
 * (`ip netns exec lab …`); the root namespace never sees 198.51.100.0/24.
 */

export const SSH_CONFIG = join(RUN_DIR, "ssh_config");
export const KNOWN_HOSTS = join(RUN_DIR, "known_hosts");
export const CLIENT_KEY = join(RUN_DIR, "id_ed25519");

export function inLab(argv: readonly string[]): string[] {
  return ["ip", "netns", "exec", LAB_NETNS, ...argv];
}

/** OpenSSH client argv for `node` (host key verified against the harness's known_hosts). */
export function sshArgv(node: string, remote: string): string[] {
  return inLab(["ssh", "-F", SSH_CONFIG, node, remote]);
}

/**
 * The script as bash reads it from stdin: one `{ … }` block, which bash reads whole before running
 * any of it, with the commands' stdin on /dev/null. Fed line by line, a command that reads stdin
 * (rabbitmqctl through su and erl does) swallows the script's later lines, which then never run and
 * the script still exits 0: a drill's `stop_app; force_reset; start_app` only ever stopped the app.
 */
function remoteScript(script: string): string {
  return `set -euo pipefail\n{\nexec </dev/null\n${script}\n}\n`;
}

/** Run a bash script on a node over SSH (script on stdin: no quoting through the remote shell). */
export function ssh(node: string, script: string, o: RunOptions = {}): Result {
  return run(sshArgv(node, "bash -s"), { timeoutMs: LIMITS.commandMs, ...o, input: remoteScript(script) });
}

export function sshAsync(node: string, script: string, o: RunOptions = {}): Promise<Result> {
  return runAsync(sshArgv(node, "bash -s"), { timeoutMs: LIMITS.commandMs, ...o, input: remoteScript(script) });
}

/**
 * Run a command inside a node without SSH: join the namespaces of the container's PID 1
 * (`machinectl`/`systemd-run -M` need a registered machine; the lab boots with --register=no).
 */
export function nsenterArgv(initPid: number, argv: readonly string[]): string[] {
  return ["nsenter", "-t", String(initPid), "-m", "-u", "-i", "-n", "-p", "-C", "--", ...argv];
}

let clientSeq = 0;

/**
 * Run a client program of the image (mysql, curl, bash) from the lab namespace, as a machine on
 * the lab's bridge would: a throw-away read-only container of the image joined to netns `lab`,
 * in its own cgroup. Nothing is installed on the host for it.
 */
export function clientArgv(image: string, argv: readonly string[]): { argv: string[]; cleanup: () => void } {
  const name = `${CLIENT_PREFIX}-${process.pid}-${++clientSeq}`;
  return {
    argv: inOwnCgroup(name, [
      "systemd-nspawn",
      "-q",
      "-D",
      image,
      "--read-only",
      `--machine=${name}`,
      "--register=no",
      "--keep-unit",
      "--link-journal=no",
      "--resolv-conf=off",
      "--timezone=off",
      `--network-namespace-path=/run/netns/${LAB_NETNS}`,
      "--pipe",
      "--",
      ...argv,
    ]),
    cleanup: () => {
      for (const d of cgroupDirs(name)) removeCgroupTree(d);
      rmSync(`/run/systemd/nspawn/propagate/${name}`, { recursive: true, force: true });
    },
  };
}

export function client(image: string, argv: readonly string[], o: RunOptions = {}): Result {
  const c = clientArgv(image, argv);
  try {
    return run(c.argv, { timeoutMs: LIMITS.commandMs, ...o });
  } finally {
    c.cleanup();
  }
}

export async function clientAsync(image: string, argv: readonly string[], o: RunOptions = {}): Promise<Result> {
  const c = clientArgv(image, argv);
  try {
    return await runAsync(c.argv, { timeoutMs: LIMITS.commandMs, ...o });
  } finally {
    c.cleanup();
  }
}

/**
 * HTTP from the lab namespace with the host's curl: status code and body. Credentials reach curl
 * as a config file on stdin, not as argv.
 */
export function labHttp(url: string, opts: { auth?: string; timeoutS?: number } = {}): { code: number; body: string } {
  const t = opts.timeoutS ?? 5;
  const config = opts.auth === undefined ? "" : `user = "${opts.auth.replace(/[\\"]/g, (c) => `\\${c}`)}"\n`;
  const r = run(inLab(["curl", "-sS", "-K", "-", "--max-time", String(t), "-o", "-", "-w", "\n%{http_code}", url]), {
    allowFail: true,
    timeoutMs: (t + 5) * 1000,
    input: config,
  });
  const i = r.stdout.lastIndexOf("\n");
  return { code: Number(r.stdout.slice(i + 1)) || 0, body: r.stdout.slice(0, Math.max(0, i)) };
}
