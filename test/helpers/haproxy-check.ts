import { isolated, tempDir, type RunResult } from "./checker.js";

export interface HaproxyCheck {
  readonly ok: boolean;
  readonly result: RunResult;
}

/**
 * `haproxy -c -f` (without -q, so warnings show) in its own network and mount namespace with the
 * generated /etc/hosts bind-mounted. Fails on a non-zero exit and on any [WARNING] or [ALERT]:
 * HAProxy exits 0 on warnings such as ignored `http-check` rules.
 */
export function checkHaproxyCfg(cfg: string, hosts: string): HaproxyCheck {
  const t = tempDir("ha-gen-haproxy-");
  try {
    const cfgPath = t.write("haproxy.cfg", cfg, 0o600);
    const hostsPath = t.write("hosts", hosts);
    const result = isolated('mount --bind "$1" /etc/hosts && exec haproxy -c -f "$2"', [hostsPath, cfgPath]);
    const out = result.stdout + result.stderr;
    return { ok: result.status === 0 && !/\[(WARNING|ALERT)\]/.test(out), result };
  } finally {
    t.cleanup();
  }
}

/**
 * Runs HAProxy with the configuration in an isolated network namespace (the VIP and the node's
 * address on loopback there, a private tmpfs as its chroot) and asks the stats page for `/` with
 * the given credentials over that loopback. Returns the HTTP status line, proving how HAProxy
 * parsed `stats auth`. Nothing leaves the namespace.
 */
export function statsStatus(
  cfg: string,
  addresses: readonly string[],
  bind: string,
  user: string,
  password: string,
): RunResult {
  const t = tempDir("ha-gen-haproxy-run-");
  try {
    const cfgPath = t.write("haproxy.cfg", cfg, 0o600);
    const credPath = t.write("cred", `${user}:${password}`, 0o600);
    const script = `set -euo pipefail
cfg=$1 cred=$2 bind=$3
shift 3
ip link set lo up
for a in "$@"; do ip addr add "$a/32" dev lo; done
mount -t tmpfs -o mode=0755 none /var/lib/haproxy
haproxy -db -f "$cfg" >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
host=\${bind%:*} port=\${bind##*:}
for _ in $(seq 1 50); do
  if (: <"/dev/tcp/$host/$port") 2>/dev/null; then break; fi
  sleep 0.1
done
exec 3<>"/dev/tcp/$host/$port"
printf 'GET / HTTP/1.0\\r\\nAuthorization: Basic %s\\r\\n\\r\\n' "$(base64 -w0 < "$cred")" >&3
head -n 1 <&3
`;
    return isolated(script, [cfgPath, credPath, bind, ...addresses]);
  } finally {
    t.cleanup();
  }
}

/**
 * Runs HAProxy with the configuration as statsStatus does and sends each command to its stats
 * socket (the path in the chroot), one connection each; returns the answers, separated by
 * `=== <command>` lines.
 */
export function statsSocketAnswers(
  cfg: string,
  addresses: readonly string[],
  socket: string,
  commands: readonly string[],
): RunResult {
  const t = tempDir("ha-gen-haproxy-sock-");
  try {
    const cfgPath = t.write("haproxy.cfg", cfg, 0o600);
    const script = `set -euo pipefail
cfg=$1 sock=$2 n=$3
shift 3
addrs=("\${@:1:n}")
shift "$n"
ip link set lo up
for a in "\${addrs[@]}"; do ip addr add "$a/32" dev lo; done
mount -t tmpfs -o mode=0755 none /var/lib/haproxy
haproxy -db -f "$cfg" >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do [[ -S "$sock" ]] && break; sleep 0.1; done
for c in "$@"; do
  printf '=== %s\\n' "$c"
  python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode() + b"\\n")
out = b""
while True:
    d = s.recv(65536)
    if not d: break
    out += d
sys.stdout.write(out.decode())' "$sock" "$c"
done
`;
    return isolated(script, [cfgPath, socket, String(addresses.length), ...addresses, ...commands]);
  } finally {
    t.cleanup();
  }
}
