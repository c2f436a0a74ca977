import { existsSync, readFileSync } from "node:fs";
import { isolated, tempDir, type RunResult } from "./checker.js";

/**
 * A generated haproxy.cfg run for real in its own network and mount namespace, with stand-in
 * backends: for every controller a Python server on <address>:3306 that greets each connection
 * with the controller's name and holds it open, and a clustercheck stand-in on <address>:9200
 * that answers 200 while STATE/<name>.up exists and 503 otherwise. The VIP and the controllers'
 * addresses sit on the namespace's loopback; nothing leaves it. The scenario (bash) runs once
 * HAProxy is up, with $STATE, $VIP and the helpers below.
 */
export interface HaproxyLabOptions {
  readonly cfg: string;
  readonly vip: string;
  readonly controllers: readonly { name: string; address: string }[];
  /** Controllers whose clustercheck stand-in answers 200 from the start. */
  readonly up: readonly string[];
  readonly scenario: string;
  readonly timeoutMs?: number;
}

const BACKENDS = String.raw`
import os, socket, sys, threading
state = sys.argv[1]
def listen(addr, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(512)
    return s
def hold(c, name):
    try:
        c.sendall((name + "\n").encode())
        while c.recv(1024):
            pass
    except OSError:
        pass
    finally:
        c.close()
def db(s, name):
    while True:
        c, _ = s.accept()
        threading.Thread(target=hold, args=(c, name), daemon=True).start()
def check(s, name):
    while True:
        c, _ = s.accept()
        try:
            c.settimeout(2)
            c.recv(4096)
            up = os.path.exists(os.path.join(state, name + ".up"))
            c.sendall(b"HTTP/1.1 200 OK\r\n" if up else b"HTTP/1.1 503 Service Unavailable\r\n")
            c.sendall(b"Content-Length: 0\r\nConnection: close\r\n\r\n")
        except OSError:
            pass
        finally:
            c.close()
threads = []
for spec in sys.argv[2:]:
    name, addr = spec.split("=")
    threads.append(threading.Thread(target=db, args=(listen(addr, 3306), name), daemon=True))
    threads.append(threading.Thread(target=check, args=(listen(addr, 9200), name), daemon=True))
for t in threads:
    t.start()
open(os.path.join(state, "ready"), "w").close()
threading.Event().wait()
`;

const DRIVER = String.raw`
set -u
cfg=$1 STATE=$2 py=$3 VIP=$4
shift 4
ip link set lo up
ip addr add "$VIP/32" dev lo
backends=()
for spec in "$@"; do
  ip addr add "\${spec#*=}/32" dev lo
  backends+=("$spec")
done
mount -t tmpfs -o mode=0755 none /var/lib/haproxy
python3 "$py" "$STATE" "\${backends[@]}" &
pids=($!)
trap 'kill "\${pids[@]}" 2>/dev/null' EXIT
for _ in $(seq 1 100); do [[ -e "$STATE/ready" ]] && break; sleep 0.05; done
haproxy -db -f "$cfg" >"$STATE/haproxy.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do (: <"/dev/tcp/$VIP/3306") 2>/dev/null && break; sleep 0.05; done
# open_client FD: connect to VIP:3306 on file descriptor FD.
open_client() { eval "exec $1<>/dev/tcp/$VIP/3306"; }
# greeting FD [SECONDS]: the backend's name on FD, or "none" when nothing came within SECONDS.
greeting() { local l; if read -r -t "\${2:-3}" l <&"$1"; then echo "$l"; else echo none; fi; }
# closed FD SECONDS: "closed" when the peer closes FD within SECONDS, else "open".
closed() {
  local l
  if read -r -t "$2" l <&"$1"; then echo data; elif (( $? > 128 )); then echo open; else echo closed; fi
}
set +e
. "$STATE/scenario.sh"
`;

/** Runs the scenario; its stdout is the result, HAProxy's own output is appended to stderr. */
export function runHaproxyLab(o: HaproxyLabOptions): RunResult {
  const t = tempDir("ha-gen-haproxy-lab-");
  try {
    const cfg = t.write("haproxy.cfg", o.cfg, 0o600);
    const py = t.write("backends.py", BACKENDS);
    const state = `${t.dir}/state`;
    t.write("state/scenario.sh", o.scenario);
    for (const name of o.up) t.write(`state/${name}.up`, "");
    const backends = o.controllers.map((c) => `${c.name}=${c.address}`);
    const r = isolated(DRIVER.replaceAll("\\${", "${"), [cfg, state, py, o.vip, ...backends], {
      timeout: o.timeoutMs ?? 60_000,
    });
    const logPath = `${state}/haproxy.log`;
    const log = existsSync(logPath) ? readFileSync(logPath, "utf8") : "(HAProxy never started)";
    return { ...r, stderr: `${r.stderr}\n--- haproxy ---\n${log}` };
  } finally {
    t.cleanup();
  }
}
