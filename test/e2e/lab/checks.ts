import { NODES, VIP, type LabNode } from "./config.js";
import { client, inLab, labHttp, ssh } from "./exec.js";
import { run, type Result } from "./proc.js";

/**
 * Observations of the running cluster for the end-to-end checks. Node-side facts come over SSH
 * (as an operator would look), client-side ones from the lab namespace (as a service would).
 */

/** Global status of a node's MariaDB, read on the node as root (its /root/.my.cnf). */
export function galeraStatus(node: string): Record<string, string> {
  const r = ssh(
    node,
    `mysql -N -B -e "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_size','wsrep_cluster_status',` +
      `'wsrep_local_state','wsrep_local_state_comment','wsrep_ready','wsrep_cluster_state_uuid')"`,
    { allowFail: true, timeoutMs: 30_000 },
  );
  if (r.status !== 0) return {};
  return Object.fromEntries(
    r.stdout
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split("\t") as [string, string]),
  );
}

export function galeraSynced(node: string, size = NODES.length): boolean {
  const s = galeraStatus(node);
  return (
    s.wsrep_cluster_size === String(size) &&
    s.wsrep_cluster_status === "Primary" &&
    s.wsrep_local_state_comment === "Synced" &&
    s.wsrep_ready === "ON"
  );
}

/** SQL on a node as MariaDB root; tab-separated rows. */
export function nodeSql(node: string, sql: string): string {
  return ssh(node, `mysql -N -B <<'HA_GEN_E2E_SQL'\n${sql}\nHA_GEN_E2E_SQL`, { timeoutMs: 60_000 }).stdout;
}

export interface DbUser {
  readonly user: string;
  readonly password: string;
}

/**
 * SQL through the VIP from the lab namespace, with the image's mysql client in a throw-away
 * container. The credentials go through a file on the client's private /tmp (never argv).
 */
export function vipSql(
  image: string,
  u: DbUser,
  sql: string,
  opts: { allowFail?: boolean; connectTimeoutS?: number } = {},
): Result {
  return client(
    image,
    [
      "/bin/bash",
      "-c",
      "umask 077; cat > /tmp/client.cnf; exec mysql --defaults-extra-file=/tmp/client.cnf " +
        '-h "$1" -P 3306 --connect-timeout="$2" -N -B -e "$3"',
      "vip-sql",
      VIP,
      String(opts.connectTimeoutS ?? 5),
      sql,
    ],
    { input: `[client]\nuser=${u.user}\npassword=${u.password}\n`, allowFail: opts.allowFail, timeoutMs: 60_000 },
  );
}

/** One row per proxy/server of HAProxy's CSV stats (keys from its header). */
export function haproxyStats(url: string, auth: string): Record<string, string>[] {
  const r = labHttp(`${url.replace(/\/$/, "")}/;csv`, { auth });
  if (r.code !== 200) throw new Error(`stats page ${url} answered ${r.code}`);
  const [head, ...rows] = r.body.trim().split("\n");
  const keys = head!.replace(/^# /, "").split(",");
  return rows.map((l) => Object.fromEntries(l.split(",").map((v, i) => [keys[i] ?? String(i), v])));
}

export function backendStatus(url: string, auth: string, proxy: string, server: string): string | undefined {
  return haproxyStats(url, auth).find((r) => r.pxname === proxy && r.svname === server)?.status;
}

export interface CrmStatus {
  readonly online: string[];
  /** resource id → nodes it is started on. */
  readonly started: Record<string, string[]>;
  readonly quorum: boolean;
}

/** Pacemaker's view from one node (crm_mon XML). */
export function crmStatus(node: string): CrmStatus {
  const all = ssh(node, "crm_mon -1 -r --output-as=xml", { timeoutMs: 60_000 }).stdout;
  const section = (tag: string) => new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(all)?.[1] ?? "";
  const nodesXml = section("nodes");
  const xml = section("resources");
  const online = [...nodesXml.matchAll(/<node name="([^"]+)"[^>]*online="true"/g)].map((m) => m[1]!);
  const started: Record<string, string[]> = {};
  for (const m of xml.matchAll(/<resource id="([^"]+)"[^>]*role="Started"[^>]*>([\s\S]*?)<\/resource>/g)) {
    const nodes = [...m[2]!.matchAll(/<node name="([^"]+)"/g)].map((x) => x[1]!);
    started[m[1]!] = [...(started[m[1]!] ?? []), ...nodes];
  }
  // clone instances are listed as resource id="lb-haproxy" inside <clone id="lb-haproxy-clone">
  for (const c of xml.matchAll(/<clone id="([^"]+)"[^>]*>([\s\S]*?)<\/clone>/g)) {
    started[c[1]!] = [...c[2]!.matchAll(/<resource [^>]*role="Started"[^>]*>\s*<node name="([^"]+)"/g)].map(
      (x) => x[1]!,
    );
  }
  return { online, started, quorum: /<current_dc [^>]*with_quorum="true"/.test(all) };
}

export interface RabbitStatus {
  readonly running: string[];
  readonly disk: string[];
  /** Nodes that see a partition (3.10's JSON: an object keyed by node; older: a list). */
  readonly partitions: string[];
}

export function rabbitStatus(node: string): RabbitStatus {
  const out = ssh(node, "rabbitmqctl -q cluster_status --formatter json", { timeoutMs: 120_000 }).stdout;
  const j = JSON.parse(out.slice(out.indexOf("{"))) as {
    running_nodes?: string[];
    disk_nodes?: string[];
    partitions?: unknown;
  };
  const p = j.partitions ?? [];
  return {
    running: j.running_nodes ?? [],
    disk: j.disk_nodes ?? [],
    partitions: Array.isArray(p) ? p.map(String) : Object.keys(p as object),
  };
}

/**
 * What each broker's unit and log say, for a failure message: the unit's state and since when,
 * its cluster status (or the CLI's error) and the last lines of its log.
 */
export function rabbitDiagnostics(nodes: readonly string[]): string {
  return nodes
    .map((n) => {
      const r = ssh(
        n,
        [
          "systemctl show -p ActiveState -p SubState -p InactiveExitTimestamp -p NRestarts rabbitmq-server || true",
          "{ timeout 30 rabbitmqctl -q -t 20 cluster_status --formatter json 2>&1 || true; } | head -c 1500; echo",
          `tail -n 25 /var/log/rabbitmq/rabbit@${n}.log || true`,
        ].join("\n"),
        { timeoutMs: 60_000, allowFail: true },
      );
      return `--- ${n} (exit ${r.status})\n${r.stdout}${r.stderr}`;
    })
    .join("\n");
}

/** etcd's /health of one member, from the lab namespace. */
export function etcdHealthy(ip: string, port: number): boolean {
  const r = labHttp(`http://${ip}:${port}/health`);
  return r.code === 200 && /"health":\s*"true"/.test(r.body);
}

/** memcached's `version` answer from the lab namespace (bash /dev/tcp: no client needed). */
export function memcachedVersion(ip: string, port: number): string | undefined {
  const r = run(
    inLab([
      "timeout",
      "5",
      "bash",
      "-c",
      'exec 3<>"/dev/tcp/$1/$2" && printf "version\\r\\n" >&3 && ' +
        'IFS= read -r line <&3 && printf "%s" "${line%$\'\\r\'}"',
      "mc",
      ip,
      String(port),
    ]),
    { allowFail: true, timeoutMs: 10_000 },
  );
  return r.status === 0 && r.stdout.startsWith("VERSION ") ? r.stdout : undefined;
}

/** Main PID and activation time of each unit on a node: the same values after a rerun = not restarted. */
export function serviceStamps(node: string, units: readonly string[]): Record<string, string> {
  const out = ssh(
    node,
    `for u in ${units.join(" ")}; do printf '%s %s %s\\n' "$u" "$(systemctl show -p MainPID --value "$u")" ` +
      `"$(systemctl show -p ActiveEnterTimestampMonotonic --value "$u")"; done`,
    { timeoutMs: 60_000 },
  ).stdout;
  return Object.fromEntries(
    out
      .trim()
      .split("\n")
      .map((l) => {
        const [u, pid, ts] = l.split(" ");
        return [u!, `pid=${pid} since=${ts}`];
      }),
  );
}

/** The node whose eth0 holds the VIP (read from the host: works while the node is down too). */
export function vipHolders(addresses: (n: LabNode) => string[]): string[] {
  return NODES.filter((n) => addresses(n).includes(VIP)).map((n) => n.name);
}

/**
 * Restarts a unit's PID does not show: the RabbitMQ application restarted inside a running VM
 * (stop_app/start_app gives rabbit_sup a new pid) and Galera membership changes (every leave or
 * join bumps wsrep_cluster_conf_id).
 */
export function clusterStamps(node: string): Record<string, string> {
  const out = ssh(
    node,
    `printf 'rabbit_sup %s\\n' "$(rabbitmqctl -q eval 'erlang:pid_to_list(whereis(rabbit_sup)).')"
mysql -N -B -e "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_conf_id'" | tr '\\t' ' '`,
    { timeoutMs: 120_000 },
  ).stdout;
  return Object.fromEntries(
    out
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf(" ")), l.slice(l.indexOf(" ") + 1)]),
  );
}

/** Local addresses of the TCP listeners on `port` on a node (`ss` over SSH), sorted. */
export function listeners(node: string, port: number): string[] {
  const out = ssh(node, `ss -Hltn 'sport = :${port}' | awk '{ print $4 }'`, { timeoutMs: 30_000 }).stdout;
  return out.trim().split("\n").filter(Boolean).sort();
}

/** Answer of the HAProxy stats socket on a node to one command (socat is baked into the image). */
export function haproxySocket(node: string, socket: string, command: string): string {
  const script = `printf '%s\\n' '${command}' | socat stdio ${socket}`;
  return ssh(node, script, { timeoutMs: 30_000, allowFail: true }).stdout;
}
