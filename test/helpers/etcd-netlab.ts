import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Artifact } from "../../src/core/artifact.js";
import type { ClusterSpecInput } from "../../src/core/spec/schema.js";
import { run, type RunResult } from "./checker.js";

/**
 * A throwaway multi-node network for real-checker tests (used by the etcd and RabbitMQ checkers):
 * everything runs inside one `unshare -n -m -p -f` namespace, so nothing reaches the machine's
 * network and every process dies with the script (the pid namespace's init exits). Each node gets
 * its own network, UTS and mount namespace, an `eth0` on a private bridge holding its management
 * address, and its hostname. Nodes can install their generated artifacts at the real paths on
 * overlays of /etc, /var and /usr/local, invisible outside the node.
 */
export const NETLAB_SH =
  `
set -euo pipefail
ip link set lo up
ip link add nlbr0 type bridge
ip link set nlbr0 up
declare -A NL_PID=()
NL_N=0

# netlab_node NAME ADDR/PREFIX SCRIPT: run bash SCRIPT as node NAME (own net/uts/mount namespaces).
netlab_node() {
  local name=$1 addr=$2 script=$3 pid
  NL_N=$((NL_N + 1))
  unshare -n -u -m --propagation private bash -c '
    until ip link show eth0 >/dev/null 2>&1; do sleep 0.02; done
    ip link set lo up
    ip addr add "$2" dev eth0
    ip link set eth0 up
    hostname "$1"
    exec bash -c "$3"' netlab-node "$name" "$addr" "$script" &
  pid=$!
  # The veth end can only move once unshare has created the node's network namespace.
  until [[ "$(readlink "/proc/$pid/ns/net" 2>/dev/null || true)" != "$(readlink /proc/self/ns/net)" ]]; ` +
  `do sleep 0.01; done
  ip link add "nlv$NL_N" type veth peer name eth0 netns "$pid"
  ip link set "nlv$NL_N" master nlbr0 up
  NL_PID[$name]=$pid
}

# netlab_exec NAME CMD...: run CMD inside node NAME's namespaces.
netlab_exec() {
  local name=$1
  shift
  nsenter -t "\${NL_PID[$name]}" -n -u -m -- "$@"
}

# netlab_alive NAME: the node's main process still runs.
netlab_alive() {
  kill -0 "\${NL_PID[$1]}" 2>/dev/null
}

# netlab_root DIR: (inside a node) private writable overlays of /etc, /var and /usr/local, upper layers in DIR.
netlab_root() {
  local t=$1 d k
  for d in /etc /var /usr/local; do
    k=$(basename "$d")
    mkdir -p "$t/$k-u" "$t/$k-w"
    mount -t overlay overlay -o "lowerdir=$d,upperdir=$t/$k-u,workdir=$t/$k-w" "$d"
  done
}

# netlab_install MANIFEST: (inside a node) install "src<TAB>path<TAB>mode<TAB>owner<TAB>group" lines.
netlab_install() {
  local src path mode owner group
  while IFS=$'\\t' read -r src path mode owner group; do
    install -D -m "$mode" -o "$owner" -g "$group" "$src" "$path"
  done < "$1"
}
export -f netlab_root netlab_install
`;

const netlabArgv = (script: string, args: readonly string[]) => [
  "-n",
  "-m",
  "-p",
  "-f",
  "--kill-child",
  "--mount-proc",
  "--propagation",
  "private",
  "bash",
  "-c",
  NETLAB_SH + script,
  "netlab",
  ...args,
];

/** Run a netlab script (NETLAB_SH prepended); args become $1... */
export function netlab(script: string, args: readonly string[] = [], timeoutMs = 240_000): RunResult {
  return run("unshare", netlabArgv(script, args), { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
}

/** netlab() without blocking the test worker, so slow labs can run concurrently. */
export function netlabAsync(script: string, args: readonly string[] = [], timeoutMs = 360_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("unshare", netlabArgv(script, args), { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    // unshare --kill-child: when unshare dies, the namespace's init and so every lab process die too.
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Write a node's artifacts into DIR and return the manifest path for netlab_install. */
export function stageArtifacts(dir: string, node: string, artifacts: readonly Artifact[]): string {
  const lines = artifacts.map((a, i) => {
    const src = join(dir, `${node}-${i}`);
    writeFileSync(src, a.content, { mode: 0o600 });
    return [src, a.path, a.mode.toString(8), a.owner, a.group].join("\t");
  });
  const manifest = join(dir, `${node}.manifest`);
  writeFileSync(manifest, `${lines.join("\n")}\n`);
  return manifest;
}

export interface LabNode {
  readonly name: string;
  readonly ip: string;
  /** ip/prefix of the management network, for eth0. */
  readonly addr: string;
}

/** The controllers of an example spec as netlab nodes. */
export function labNodes(spec: ClusterSpecInput): LabNode[] {
  const prefix = spec.networks.management.cidr.split("/")[1]!;
  return spec.nodes
    .filter((n) => n.roles.includes("controller"))
    .map((n) => ({ name: n.hostname, ip: n.addresses.management, addr: `${n.addresses.management}/${prefix}` }));
}

/** Split output at "=== label" lines into label → text. */
export function parseSections(out: string): Map<string, string> {
  const m = new Map<string, string>();
  let key: string | undefined;
  let buf: string[] = [];
  const flush = () => {
    if (key !== undefined) m.set(key, buf.join("\n").trim());
  };
  for (const line of out.split("\n")) {
    const h = /^=== (.+)$/.exec(line);
    if (h) {
      flush();
      key = h[1]!;
      buf = [];
    } else buf.push(line);
  }
  flush();
  return m;
}

/** `bash -n` and `shellcheck -s bash` on each script; returns one message per failing script. */
export function shellcheckScripts(scripts: readonly Artifact[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), "ha-gen-sc-"));
  try {
    return scripts.flatMap((a, i) => {
      const f = join(dir, `${i}.sh`);
      writeFileSync(f, a.content);
      const syntax = run("bash", ["-n", f]);
      if (syntax.status !== 0) return [`${a.node}:${a.path}: bash -n: ${syntax.stderr}`];
      const sc = run("shellcheck", ["-s", "bash", f]);
      return sc.status === 0 ? [] : [`${a.node}:${a.path}: ${sc.stdout}${sc.stderr}`];
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
