import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Artifact } from "../../src/core/artifact.js";
import type { OsTarget } from "../../src/core/spec/schema.js";
import { requireTool, run, tempDir, type RunResult } from "./checker.js";
import { nodeSetupScript } from "./galera-sandbox.js";

/**
 * A real multi-node Galera cluster on one machine for the generated scripts: one network and PID
 * namespace holding every node's address on its loopback (nothing leaves it; every process dies
 * with it), and per node a mount namespace set up like galera-sandbox.ts's (overlays of /etc,
 * /root, /usr/local, /var/lib, /var/log; tmpfs /run; stand-in systemctl and galera_new_cluster;
 * the node's generated files at their paths; a copy of `datadir`). MariaDB and Galera are Debian's
 * real programs. MariaDB's SST scripts (and rsync) are not installed on the checker machines: a
 * stand-in wsrep_sst_rsync speaks the SST script protocol and copies the donor's data files
 * through a directory every node sees (the nodes share this machine's /tmp), so full state
 * transfers and IST (which still runs the script, with --bypass) work. The scenario (bash) runs
 * in the outer namespace with:
 *   on NODE CMD...          run CMD in NODE's mount namespace (PATH with the stand-ins first)
 *   run_script NODE ID ARGS run a generated step script there; prints its output and "rc[ID@NODE]=N"
 *   sql NODE SQL            as MariaDB root there (-N -B)
 *   step NAME               prints "=== NAME" (sections for galera-sandbox's section())
 */
export interface ClusterNode {
  readonly name: string;
  readonly address: string;
  readonly files: readonly Artifact[];
}

export interface ClusterOptions {
  readonly os: OsTarget;
  readonly nodes: readonly ClusterNode[];
  readonly datadir: string;
  readonly scenario: string;
  readonly timeoutMs?: number;
}

const DRIVER = String.raw`
set -u
W=$1 OS=$2 DATADIR_SRC=$3
shift 3
ip link set lo up
declare -A PID=()
for spec in "$@"; do
  name=\${spec%%=*} ip=\${spec#*=}
  # The node's mount namespace lives as long as its holder (sleep); commands enter it.
  unshare -m --propagation private bash -c '. "$1/setup.sh" "$2" "$3" "$4" "$5" >"$2/setup.log" 2>&1 || exit 1
    touch "$2/ready"; exec sleep infinity' node "$W" "$W/$name" "$OS" "$ip" "$DATADIR_SRC" &
  PID[$name]=$!
  for _ in $(seq 1 600); do
    [[ -e "$W/$name/ready" ]] && break
    kill -0 "\${PID[$name]}" 2>/dev/null || break
    sleep 0.05
  done
  [[ -e "$W/$name/ready" ]] || { echo "setup of $name failed"; cat "$W/$name/setup.log"; exit 1; }
done
on() {
  local n=$1
  shift
  nsenter -t "\${PID[$n]}" -m -- env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"
}
run_script() {
  local n=$1 id=$2 rc=0
  shift 2
  on "$n" bash "/usr/local/lib/ha-gen/$id.sh" "$@" 2>&1 || rc=$?
  printf 'rc[%s@%s]=%s\n' "$id" "$n" "$rc"
}
sql() {
  on "$1" mysql --defaults-file=/root/.my.cnf -N -B -e "$2" 2>/dev/null ||
    on "$1" mysql --no-defaults --socket=/run/mysqld/mysqld.sock -uroot -N -B -e "$2"
}
step() { printf '=== %s\n' "$*"; }
set +e
# Through a file, so a run that times out still shows how far it got.
. "$W/scenario.sh" >"$W/out.log" 2>&1
cat "$W/out.log"
`;

/**
 * wsrep_sst_rsync stand-in, the protocol of MariaDB's script with cp for rsync. Joiner: prints
 * "ready ADDR", waits for the donor's state in DIR/<joiner host>, installs the data files in
 * DIR/data-<joiner host> if any, prints the state. Donor: for a full transfer asks the server to
 * flush ("flush tables", it then writes the state to tables_flushed and holds the tables) and
 * copies the data files; with --bypass (IST) only passes --gtid on; then "continue", the state
 * for the joiner, "done STATE".
 */
function sstScript(dir: string): string {
  return String.raw`#!/bin/bash
set -u
dir=${dir}
role= addr= datadir= gtid= domain=0 bypass=0
while (( $# > 0 )); do
  case $1 in
    --role) role=$2; shift ;;
    --address) addr=$2; shift ;;
    --datadir) datadir=$2; shift ;;
    --gtid) gtid=$2; shift ;;
    --gtid-domain-id) domain=$2; shift ;;
    --bypass) bypass=1 ;;
    --mysqld-args) break ;;
  esac
  shift
done
host=\${addr%%[:/]*}
if [[ $role == joiner ]]; then
  echo "ready $host:4444/rsync_sst"
  for (( i = 0; i < 600; i++ )); do [[ -s "$dir/$host" ]] && break; sleep 0.2; done
  if [[ -d "$dir/data-$host" ]]; then
    find "$datadir" -mindepth 1 -maxdepth 1 ! -name 'galera.cache' ! -name 'grastate.dat' ! -name '*.pid' \
      ! -name '*.sock' ! -name 'wsrep_sst*' ! -name 'sst_in_progress' -exec rm -rf {} +
    cp -a "$dir/data-$host/." "$datadir/"
    rm -rf "$dir/data-$host"
  fi
  cat "$dir/$host"
  rm -f "$dir/$host"
else
  if (( bypass )); then
    state="$gtid $domain"
  else
    rm -f "$datadir/tables_flushed"
    echo "flush tables"
    for (( i = 0; i < 600; i++ )); do grep -q : "$datadir/tables_flushed" 2>/dev/null && break; sleep 0.2; done
    state=$(cat "$datadir/tables_flushed")
    rm -f "$datadir/tables_flushed"
    mkdir "$dir/data-$host.tmp"
    find "$datadir" -mindepth 1 -maxdepth 1 ! -name 'galera.cache' ! -name 'grastate.dat' ! -name 'gvwstate.dat' \
      ! -name '*.pid' ! -name '*.sock' ! -name 'wsrep_sst*' ! -name 'sst_in_progress' \
      -exec cp -a {} "$dir/data-$host.tmp/" \;
    mv "$dir/data-$host.tmp" "$dir/data-$host"
  fi
  echo continue
  printf '%s\n' "$state" > "$dir/$host.tmp" && mv "$dir/$host.tmp" "$dir/$host"
  echo "done $state"
fi
`.replaceAll("\\${", "${");
}

export function runGaleraCluster(o: ClusterOptions): RunResult {
  requireTool("unshare", "nsenter", "mariadbd", "ip");
  const t = tempDir("ha-gen-galera-cluster-");
  try {
    writeFileSync(join(t.dir, "setup.sh"), nodeSetupScript());
    writeFileSync(join(t.dir, "scenario.sh"), o.scenario);
    // The SST stand-in runs as the mysql user: it may pass through the test directory into sst/.
    mkdirSync(join(t.dir, "sst"));
    chmodSync(t.dir, 0o711);
    chmodSync(join(t.dir, "sst"), 0o1777);
    const sst = { path: "/usr/local/bin/wsrep_sst_rsync", content: sstScript(join(t.dir, "sst")), mode: 0o755 };
    for (const n of o.nodes) {
      const manifest: string[] = [];
      for (const a of [...n.files, { ...sst, owner: "root", group: "root" }]) {
        const p = join(t.dir, n.name, "stage", a.path);
        mkdirSync(dirname(p), { recursive: true });
        writeFileSync(p, a.content);
        manifest.push([a.path, a.mode.toString(8), a.owner, a.group].join("\t"));
      }
      writeFileSync(join(t.dir, n.name, "manifest.tsv"), manifest.join("\n") + "\n");
    }
    const argv = ["-n", "-p", "--fork", "--kill-child", "--mount-proc", "--propagation", "private"];
    const nodes = o.nodes.map((n) => `${n.name}=${n.address}`);
    const driver = DRIVER.replaceAll("\\${", "${");
    try {
      return run("unshare", [...argv, "bash", "-c", driver, "cluster", t.dir, o.os, o.datadir, ...nodes], {
        timeout: o.timeoutMs ?? 300_000,
        // unshare --fork outlives a SIGTERM; SIGKILL takes the namespace's init and every node with it.
        killSignal: "SIGKILL",
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (e) {
      const out = join(t.dir, "out.log");
      return { status: null, stdout: existsSync(out) ? readFileSync(out, "utf8") : "", stderr: String(e) };
    }
  } finally {
    t.cleanup();
  }
}
