import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Artifact } from "../../src/core/artifact.js";
import type { OsTarget } from "../../src/core/spec/schema.js";
import { requireTool, run, tempDir, type RunResult } from "./checker.js";

/**
 * A sandbox that runs the generated Galera/clustercheck scripts for real on one machine: a fresh
 * network, mount and PID namespace (nothing leaves it; every process in it dies with it) where
 * /etc, /root, /usr/local, /var/lib and /var/log are overlays and /run is a tmpfs, so the node's
 * generated files sit at their real paths. MariaDB and xinetd are Debian's real programs; only
 * systemctl and galera_new_cluster are stand-ins (plain processes instead of systemd units).
 * The centos8 target is emulated on Debian's binaries: /etc/my.cnf including /etc/my.cnf.d,
 * /usr/libexec/mysqld and /usr/lib64/galera/ pointing at Debian's files, group "nobody". The
 * clustercheck system user is added as 00-prepare would.
 */

/** Families whose files a controller needs to run the Galera steps. */
export const SANDBOX_FAMILIES = new Set(["common", "secrets", "hosts", "galera", "clustercheck"]);
const OVERLAID = ["/etc/", "/root/", "/usr/local/", "/var/lib/"];

export const MYSQL_UID = 927;

export interface BaseDatadirs {
  /** Root with an empty password, extra root hosts, anonymous users, test db: like 10.3's install. */
  readonly passwordRoot: string;
  /** Root via unix_socket: like Debian's install. */
  readonly socketRoot: string;
  readonly cleanup: () => void;
}

/** Data directories made once by mariadb-install-db; sandboxes copy them. */
export function makeBaseDatadirs(): BaseDatadirs {
  requireTool("mariadb-install-db", "mariadbd", "mariadb", "unshare", "xinetd", "runuser", "curl");
  const t = tempDir("ha-gen-galera-base-");
  const make = (name: string, auth: string) => {
    const dir = join(t.dir, name);
    const r = run(
      "unshare",
      [
        "-n",
        "mariadb-install-db",
        "--no-defaults",
        `--datadir=${dir}`,
        "--user=root",
        `--auth-root-authentication-method=${auth}`,
      ],
      { timeout: 180_000 },
    );
    if (r.status !== 0) throw new Error(`mariadb-install-db failed: ${r.stdout}${r.stderr}`);
    return dir;
  };
  return {
    passwordRoot: make("password-root", "normal"),
    socketRoot: make("socket-root", "socket"),
    cleanup: t.cleanup,
  };
}

export function nodeArtifacts(artifacts: readonly Artifact[], node: string): Artifact[] {
  return artifacts.filter(
    (a) => a.node === node && SANDBOX_FAMILIES.has(a.family) && OVERLAID.some((p) => a.path.startsWith(p)),
  );
}

export interface SandboxOptions {
  readonly os: OsTarget;
  readonly nodeAddress: string;
  readonly files: readonly Artifact[];
  /** Copied to /var/lib/mysql (owned by the sandbox's mysql user). */
  readonly datadir?: string;
  /** Bash run after the setup, with the sandbox's helpers (see SETUP). */
  readonly scenario: string;
  readonly timeoutMs?: number;
}

// `\${` keeps JavaScript from interpolating; removed again below.
const SETUP = String.raw`
set -euo pipefail
SB=$1
OS=$2
NODE_IP=$3
DATADIR_SRC=$4
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

ov() {
  local d=$1 n
  n=$(printf '%s' "$d" | tr / _)
  mkdir -p "$SB/ov/$n/u" "$SB/ov/$n/w"
  mount -t overlay overlay -o "lowerdir=$d,upperdir=$SB/ov/$n/u,workdir=$SB/ov/$n/w" "$d"
}
for d in /etc /root /usr/local /var/lib /var/log; do ov "$d"; done
mount -t tmpfs tmpfs /run
ip link set lo up
ip addr add "$NODE_IP/32" dev lo

echo "mysql:x:\${MYSQL_UID}:\${MYSQL_UID}:MariaDB:/var/lib/mysql:/usr/sbin/nologin" >> /etc/passwd
echo "mysql:x:\${MYSQL_UID}:" >> /etc/group
getent group nobody >/dev/null || echo "nobody:x:65534:" >> /etc/group
# What 00-prepare creates on a controller: xinetd runs clustercheck as this user.
echo "clustercheck:x:928:928:Galera health check:/nonexistent:/usr/sbin/nologin" >> /etc/passwd
echo "clustercheck:x:928:" >> /etc/group

if [[ "$OS" == centos8 ]]; then
  ov /usr/libexec
  ov /usr/lib64
  MYSQLD=/usr/libexec/mysqld
  rm -rf /etc/mysql
  printf '[client-server]\n!includedir /etc/my.cnf.d\n' > /etc/my.cnf
  mkdir -p /etc/my.cnf.d /usr/lib64/galera /run/mariadb /var/log/mariadb
  ln -s /usr/lib/galera/libgalera_smm.so /usr/lib64/galera/libgalera_smm.so
  ln -s /usr/sbin/mariadbd /usr/libexec/mysqld
  chown mysql: /run/mariadb /var/log/mariadb
else
  MYSQLD=/usr/sbin/mariadbd
  mkdir -p /run/mysqld
  chown mysql: /run/mysqld
fi

while IFS=$'\t' read -r path mode owner group; do
  install -D -m "$mode" -o "$owner" -g "$group" "$SB/stage$path" "$path"
done < "$SB/manifest.tsv"

if [[ -n "$DATADIR_SRC" ]]; then
  cp -a "$DATADIR_SRC" /var/lib/mysql
  chown -R mysql: /var/lib/mysql
  # As the packages ship it: clients (clustercheck as its own user) reach the socket in it on CentOS.
  chmod 0755 /var/lib/mysql
fi

mkdir -p /usr/local/sbin /run/stub
cat > /usr/local/sbin/systemctl <<STUB
#!/bin/bash
# Test stand-in for systemctl: mariadb and xinetd as plain processes of the sandbox.
set -u
S=/run/stub
MYSQLD=$MYSQLD
STUB
cat >> /usr/local/sbin/systemctl <<'STUB'
args=()
for a in "$@"; do case $a in --quiet|-q|--no-block|--now) ;; *) args+=("$a") ;; esac; done
cmd=\${args[0]:-}
svc=\${args[1]:-}
svc=\${svc%.service}
running_pid() { local p; p=$(cat "$S/$svc.pid" 2>/dev/null) || return 1; kill -0 "$p" 2>/dev/null && echo "$p"; }
start() {
  running_pid >/dev/null && return 0
  local log=/var/log/stub-$svc.log extra=() i
  : > "$log"
  case $svc in
    mariadb)
      chown mysql: "$log"
      [[ -f $S/new-cluster ]] && extra=(--wsrep-new-cluster)
      setsid "$MYSQLD" --user=mysql --log-error="$log" "\${extra[@]}" </dev/null >/dev/null 2>&1 &
      echo $! > "$S/$svc.pid"
      for (( i = 0; i < 1200; i++ )); do
        grep -q "ready for connections" "$log" && return 0
        kill -0 "$(cat "$S/$svc.pid")" 2>/dev/null ||
          { echo "stub: mariadb exited" >&2; tail -n 30 "$log" >&2; return 1; }
        sleep 0.1
      done ;;
    xinetd)
      setsid xinetd -dontfork -filelog "$log" </dev/null >/dev/null 2>&1 &
      echo $! > "$S/$svc.pid"
      for (( i = 0; i < 300; i++ )); do
        grep -q "Started working" "$log" && return 0
        kill -0 "$(cat "$S/$svc.pid")" 2>/dev/null || { echo "stub: xinetd exited" >&2; cat "$log" >&2; return 1; }
        sleep 0.1
      done ;;
    *) echo "stub systemctl: unknown service $svc" >&2; return 1 ;;
  esac
  echo "stub: $svc did not become ready" >&2
  return 1
}
stop() {
  local p i st
  p=$(running_pid) || return 0
  if [[ $svc == mariadb ]]; then
    # What HAProxy's clustercheck saw as the server was stopped (a drained node: Donor/Desynced).
    local q="SHOW GLOBAL STATUS LIKE 'wsrep_local_state_comment'"
    st=$(mysql --defaults-file=/root/.my.cnf -N -B -e "$q" 2>/dev/null ||
      mysql --no-defaults -uroot -N -B -e "$q" \
        --socket="$(my_print_defaults --defaults-file=/root/.my.cnf client | sed -n 's/^--socket=//p')" 2>/dev/null)
    echo "stop mariadb in state \${st#*$'\t'}" >> "$S/stops"
  fi
  kill -TERM "$p"
  for (( i = 0; i < 600; i++ )); do kill -0 "$p" 2>/dev/null || { rm -f "$S/$svc.pid"; return 0; }; sleep 0.1; done
  echo "stub: $svc did not stop" >&2
  return 1
}
echo "$cmd $svc" >> "$S/calls"
case $cmd in
  start) start ;;
  stop) stop ;;
  restart) stop && start ;;
  is-active) running_pid >/dev/null ;;
  is-enabled) [[ -f $S/$svc.enabled ]] ;;
  enable) touch "$S/$svc.enabled" ;;
  disable) rm -f "$S/$svc.enabled" ;;
  daemon-reload) ;;
  *) echo "stub systemctl: unsupported: $*" >&2; exit 1 ;;
esac
STUB
cat > /usr/local/sbin/galera_new_cluster <<'STUB'
#!/bin/bash
# Stand-in for MariaDB's galera_new_cluster: restart the service with --wsrep-new-cluster.
echo galera_new_cluster >> /run/stub/calls
touch /run/stub/new-cluster
systemctl restart mariadb
rc=$?
rm -f /run/stub/new-cluster
exit $rc
STUB
chmod 0755 /usr/local/sbin/systemctl /usr/local/sbin/galera_new_cluster

# Scenario helpers.
step() { printf '=== %s\n' "$*"; }
# run_script ID ARGS...: run a generated script, print its output and "rc[ID]=N".
run_script() {
  local id=$1 rc=0
  shift
  bash "/usr/local/lib/ha-gen/$id.sh" "$@" 2>&1 || rc=$?
  printf 'rc[%s]=%s\n' "$id" "$rc"
}
# sql_root SQL: as MariaDB root over the socket (whatever the root password is now).
sql_root() {
  mysql --defaults-file=/root/.my.cnf -N -B -e "$1" 2>/dev/null ||
    mysql --no-defaults -uroot -N -B -e "$1" \
      --socket="$(my_print_defaults --defaults-file=/root/.my.cnf client | sed -n 's/^--socket=//p')"
}
set +e
`;

/** The sandbox's setup as a script to source with SB OS NODE_IP DATADIR_SRC (galera-cluster.ts). */
export function nodeSetupScript(): string {
  return SETUP.replaceAll("\\${", "${").replaceAll("${MYSQL_UID}", String(MYSQL_UID));
}

/** Runs `scenario` in a fresh sandbox holding `files`; returns its output. */
export function runSandbox(o: SandboxOptions): RunResult {
  requireTool("unshare", "mariadbd", "xinetd", "runuser", "ip");
  const t = tempDir("ha-gen-galera-sb-");
  try {
    const manifest: string[] = [];
    for (const a of o.files) {
      const p = join(t.dir, "stage", a.path);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, a.content);
      manifest.push([a.path, a.mode.toString(8), a.owner, a.group].join("\t"));
    }
    writeFileSync(join(t.dir, "manifest.tsv"), `${manifest.join("\n")}\n`);
    writeFileSync(
      join(t.dir, "setup.sh"),
      SETUP.replaceAll("\\${", "${").replaceAll("${MYSQL_UID}", String(MYSQL_UID)),
    );
    writeFileSync(join(t.dir, "scenario.sh"), o.scenario);
    return run(
      "unshare",
      [
        "-n",
        "-m",
        "-p",
        "--fork",
        "--kill-child",
        "--mount-proc",
        "--propagation",
        "private",
        "bash",
        "-c",
        '. "$1/setup.sh"; . "$1/scenario.sh"',
        "sandbox",
        t.dir,
        o.os,
        o.nodeAddress,
        o.datadir ?? "",
      ],
      { timeout: o.timeoutMs ?? 240_000 },
    );
  } finally {
    t.cleanup();
  }
}

/** The `ha-gen:changed` lines printed between two `=== name` markers of a scenario's output. */
export function section(output: string, name: string): string {
  const start = output.indexOf(`=== ${name}\n`);
  if (start < 0) throw new Error(`no section ${name} in:\n${output}`);
  const rest = output.slice(start + name.length + 5);
  const end = rest.indexOf("\n=== ");
  return end < 0 ? rest : rest.slice(0, end + 1);
}

export function changedLines(text: string): string[] {
  return text.split("\n").filter((l) => l.startsWith("ha-gen:changed "));
}

export function exitCode(text: string, id: string): number {
  const m = new RegExp(`^rc\\[${id.replace(/[-]/g, "\\-")}\\]=(\\d+)$`, "m").exec(text);
  if (!m) throw new Error(`no exit code for ${id} in:\n${text}`);
  return Number(m[1]);
}
