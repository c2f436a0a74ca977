import type { GeneratorOutput } from "../src/core/artifact.js";
import { fileFor } from "../src/core/artifact.js";
import { GALERA_RECOVER_ID, REPORT_PREFIX, ZERO_UUID } from "../src/core/galera-recovery.js";
import type { Cluster } from "../src/core/model.js";
import { CLUSTERCHECK_OS_USER, GALERA_PORT, HA_GEN_DIR, MYSQL_DATADIR, SECRETS_ENV } from "../src/core/os.js";
import { cnf } from "../src/core/quote.js";
import { secretEnvName } from "../src/core/secrets.js";
import { durationMs, type NodeSpec, type OsTarget } from "../src/core/spec/schema.js";
import { hashHeader, MARKER, merge, stepScript } from "./common.js";
import { isGaleraService } from "./haproxy.js";
import { renderTemplate } from "../src/core/template.js";
import bootstrapTpl from "./templates/galera-bootstrap.sh.njk";
import functionsTpl from "./templates/galera-functions.sh.njk";
import joinTpl from "./templates/galera-join.sh.njk";
import recoverTpl from "./templates/galera-recover.sh.njk";
import replicationTpl from "./templates/galera-replication.sh.njk";
import secureCheckTpl from "./templates/galera-secure-check.sql.njk";
import secureShTpl from "./templates/galera-secure.sh.njk";
import secureSqlTpl from "./templates/galera-secure.sql.njk";
import cnfTpl from "./templates/galera.cnf.njk";

/**
 * MariaDB Galera on the controllers (guide 五.1-2, 五.4), plus the secure installation and the
 * clustercheck account (五.1.3, 五.3.2). Fixes to the guide:
 * - bootstrap with galera_new_cluster, only when no other controller runs Galera and grastate.dat
 *   does not forbid it; the guide runs `mysqld --wsrep-new-cluster --user=root &`, later
 *   `pkill -9` and `rm -rf /var/lib/mysql/*` (data loss, root-owned files in the datadir);
 * - wsrep_cluster_address by management address and bind-address = the node address, so
 *   HAProxy can bind VIP:3306 on the same node; gmcast/IST listen on the node address;
 * - mysql_secure_installation's prompts become idempotent, replicated SQL (account statements:
 *   Galera does not replicate its direct mysql.* edits); the clustercheck account's password is
 *   kept in sync (CREATE USER IF NOT EXISTS + ALTER USER) instead of `GRANT … IDENTIFIED BY`,
 *   and it holds USAGE only (the guide grants PROCESS; SHOW GLOBAL STATUS needs nothing);
 * - joins run one node at a time and wait until Synced; option-file changes restart nodes one
 *   at a time (rolling) instead of all at once;
 * - state transfers may pick the writer as donor (rsync SST blocks it) → wsrep_sst_donor lists
 *   the backups, the writer only as the fallback (trailing comma);
 * - full-outage recovery picks the node with the highest seqno (galera-recover + the
 *   `ha-gen recover galera` command) instead of deleting grastate.dat / forcing
 *   safe_to_bootstrap: 1 on every node, which can lose committed transactions; a crashed node's
 *   position is recovered with --wsrep-recover and written to grastate.dat before it starts.
 *
 * Root access for the scripts: /root/.my.cnf (secret) holds the root password on both targets.
 * Until 22-galera-secure has set it, the fresh install's root login is used instead: CentOS 8's
 * MariaDB 10.3 root has an empty password, Debian 12's 10.11 root logs in by unix_socket. On
 * Debian root keeps unix_socket (`IDENTIFIED VIA unix_socket OR mysql_native_password`), which
 * Debian's maintenance scripts (debian-start, logrotate) use.
 */

export const FAMILY = "galera";
export const ROOT_MY_CNF = "/root/.my.cnf";
/** Secure-installation and clustercheck-account SQL (holds both passwords; first controller). */
export const SECURE_SQL = `${HA_GEN_DIR}/galera-secure.sql`;
/** What of SECURE_SQL is still to do, passwords compared as hashes (secret too). */
export const SECURE_CHECK_SQL = `${HA_GEN_DIR}/galera-secure-check.sql`;
/** Read by clustercheck as the clustercheck system user: group clustercheck, 0640. */
export const CLUSTERCHECK_CNF = `${HA_GEN_DIR}/clustercheck.cnf`;
export const DATADIR = MYSQL_DATADIR;

interface MariaDbFlavour {
  /** Server binary for `--wsrep-recover` and its process name. */
  readonly mysqld: string;
  readonly mysqldProcess: string;
  /** How root logs in on a fresh install; Debian's maintenance relies on unix_socket. */
  readonly rootUnixSocket: boolean;
  /** 10.11 grants the test databases to the PUBLIC role; 10.3 to the anonymous user. */
  readonly publicRole: boolean;
  /** unix_socket is a loadable plugin before 10.4. */
  readonly unixSocketIsPlugin: boolean;
}

const FLAVOUR: Record<OsTarget, MariaDbFlavour> = {
  // CentOS 8 AppStream: MariaDB 10.3.
  centos8: {
    mysqld: "/usr/libexec/mysqld",
    mysqldProcess: "mysqld",
    rootUnixSocket: false,
    publicRole: false,
    unixSocketIsPlugin: true,
  },
  // Debian 12: MariaDB 10.11.
  debian12: {
    mysqld: "/usr/sbin/mariadbd",
    mysqldProcess: "mariadbd",
    rootUnixSocket: true,
    publicRole: true,
    unixSocketIsPlugin: false,
  },
};

export function flavour(cluster: Cluster): MariaDbFlavour {
  return FLAVOUR[cluster.os.id];
}

/**
 * wsrep_sst_donor of `node`: the controllers HAProxy sends no writes to (all but the writer),
 * itself excluded; the trailing comma lets any node donate when none of them can. A donor blocks
 * (rsync) or slows (mariabackup) while it copies, so the writer donates only as the last resort,
 * and prefers the others when it rejoins itself. Undefined when no such controller exists.
 */
export function sstDonors(cluster: Cluster, node: NodeSpec): string | undefined {
  const backups = cluster.controllers.filter((c) => c !== cluster.writer && c !== node);
  return backups.length > 0 ? `${backups.map((c) => c.hostname).join(",")},` : undefined;
}

/** Milliseconds as the ISO 8601 period Galera's options take: 2500 → PT2.5S. */
function isoSeconds(ms: number): string {
  return `PT${ms / 1000}S`;
}

/** The Galera option file of one controller. */
export function galeraCnf(cluster: Cluster, node: NodeSpec): string {
  const { spec, os } = cluster;
  const g = spec.galera;
  const address = node.addresses.management;
  const mariabackup = g.sstMethod === "mariabackup";
  return renderTemplate("galera.cnf", cnfTpl, {
    marker: MARKER,
    node: node.hostname,
    address,
    port: g.port,
    maxConnections: g.maxConnections,
    datadir: DATADIR,
    socket: os.mysqlSocket,
    pidFile: os.mysqlPidFile,
    logError: os.mysqlLogError ?? "",
    unixSocketPlugin: mariabackup && flavour(cluster).unixSocketIsPlugin,
    provider: os.galeraProvider,
    clusterName: g.clusterName,
    clusterAddress: `gcomm://${cluster.controllers.map((c) => c.addresses.management).join(",")}`,
    providerOptions: [
      `gmcast.listen_addr=tcp://${address}:${GALERA_PORT}`,
      `ist.recv_addr=${address}`,
      `evs.suspect_timeout=${isoSeconds(g.suspectTimeout)}`,
    ].join("; "),
    slaveThreads: g.wsrepSlaveThreads,
    flushLogAtTrxCommit: g.innodbFlushLogAtTrxCommit,
    bufferPoolSize: g.innodbBufferPoolSize,
    sstMethod: g.sstMethod,
    sstDonors: sstDonors(cluster, node) ?? "",
    // The donor's mariabackup logs in as the mysql OS user over unix_socket: no password here.
    sstAuth: mariabackup ? "mysql:" : "",
    syncWait: g.wsrepSyncWait,
  });
}

/** /root/.my.cnf: root's credentials for the scripts (and the operator's `mysql`). */
export function rootMyCnf(cluster: Cluster): string {
  return (
    hashHeader("MariaDB root login for ha-gen's scripts and for the operator's mysql client.") +
    [
      "[client]",
      "user = root",
      `password = ${cnf(cluster.secrets.mariadb_root_pass)}`,
      `socket = ${cnf(cluster.os.mysqlSocket)}`,
    ].join("\n") +
    "\n"
  );
}

export function secureSql(cluster: Cluster): string {
  const f = flavour(cluster);
  return renderTemplate("galera-secure.sql", secureSqlTpl, {
    marker: MARKER,
    publicRole: f.publicRole,
    rootUnixSocket: f.rootUnixSocket,
    rootPass: cluster.secrets.mariadb_root_pass,
    clustercheckUser: cluster.spec.clustercheck.user,
    clustercheckPass: cluster.secrets.clustercheck_pass,
  });
}

export function secureCheckSql(cluster: Cluster): string {
  const f = flavour(cluster);
  return renderTemplate("galera-secure-check.sql", secureCheckTpl, {
    marker: MARKER,
    testGrantees: f.publicRole ? "'', 'PUBLIC'" : "''",
    rootUnixSocket: f.rootUnixSocket,
    rootPass: cluster.secrets.mariadb_root_pass,
    clustercheckUser: cluster.spec.clustercheck.user,
    clustercheckPass: cluster.secrets.clustercheck_pass,
  });
}

/** Shell helpers shared by every Galera script on `node` (also the clustercheck step). */
export function galeraFunctions(cluster: Cluster, node: NodeSpec): string {
  return renderTemplate("galera-functions.sh", functionsTpl, {
    cnfPath: cluster.os.galeraCnf,
    grastate: `${DATADIR}/grastate.dat`,
    socket: cluster.os.mysqlSocket,
    rootMyCnf: ROOT_MY_CNF,
    provider: cluster.os.galeraProvider,
    size: cluster.controllers.length,
    maxConnections: cluster.spec.galera.maxConnections,
    peers: cluster.controllers.filter((c) => c !== node).map((c) => c.addresses.management),
    galeraPort: GALERA_PORT,
    freshRoot: flavour(cluster).rootUnixSocket ? "unix_socket" : "empty password",
    mysqld: flavour(cluster).mysqld,
    mysqldProcess: flavour(cluster).mysqldProcess,
  });
}

/**
 * How long 21-galera-join keeps a node desynced before its rolling restart: clustercheck answers
 * 503 at once, and HAProxy marks the node down after `fall` failed checks `inter` apart and cuts
 * its sessions (`on-marked-down shutdown-sessions`), so clients reconnect to a synced node before
 * this one stops, instead of hanging on a server that is shutting down. (fall + 1) × inter of the
 * Galera listeners that check clustercheck, in whole seconds; 0 when none does (nothing to drain).
 */
export function galeraDrainSeconds(cluster: Cluster): number {
  const checked = cluster.spec.haproxy.services.filter(
    (s) => isGaleraService(cluster, s) && s.httpCheck && s.checkPort === cluster.spec.clustercheck.port,
  );
  const ms = Math.max(0, ...checked.map((s) => (s.check.fall + 1) * durationMs(s.check.inter, "ms")));
  return Math.ceil(ms / 1000);
}

export function galera(cluster: Cluster): GeneratorOutput {
  const { os, controllers } = cluster;
  // Bootstrapped on the writer; joined (and restarted) one at a time, the backups first and the
  // writer last, so a rolling restart moves HAProxy's writes once, not once per node.
  const first = cluster.writer;
  const others = controllers.filter((c) => c !== first);
  const joinOrder = [...others, first];
  const rootCnf = rootMyCnf(cluster);
  const artifacts = controllers.flatMap((n) => [
    fileFor(FAMILY, n.hostname, { path: os.galeraCnf, content: galeraCnf(cluster, n), format: "ini" }),
    fileFor(FAMILY, n.hostname, { path: ROOT_MY_CNF, content: rootCnf, secret: true, format: "ini" }),
  ]);
  artifacts.push(
    fileFor(FAMILY, first.hostname, { path: SECURE_SQL, content: secureSql(cluster), secret: true }),
    fileFor(FAMILY, first.hostname, { path: SECURE_CHECK_SQL, content: secureCheckSql(cluster), secret: true }),
  );

  const common = { marker: MARKER, galeraPort: GALERA_PORT, zeroUuid: ZERO_UUID };
  // Members a node expects once Synced on a first deploy: the writer, the backups before it, itself.
  const position = new Map([
    [first.hostname, controllers.length - 1],
    ...others.map((c, i) => [c.hostname, i + 1] as const),
  ]);
  return merge(
    { artifacts, steps: [] },
    stepScript({
      family: FAMILY,
      id: "20-galera-bootstrap",
      title: "Galera: bootstrap the cluster on the first controller",
      guideSection: "五.2 构建集群",
      nodes: [first],
      mode: "serial",
      verifies: [
        "wsrep_cluster_status Primary, wsrep_local_state_comment Synced, wsrep_ready ON",
        `never bootstraps while another controller answers on ${GALERA_PORT} or grastate.dat forbids it`,
      ],
      // Deploy asks every controller before it runs this, with the root password of secrets.env.
      guard: {
        kind: "galera-bootstrap",
        nodes: controllers.map((c) => c.hostname),
        probe: { secretsEnv: SECRETS_ENV, rootPasswordVar: secretEnvName("mariadb_root_pass"), port: GALERA_PORT },
      },
      body: (n) =>
        renderTemplate("galera-bootstrap.sh", bootstrapTpl, {
          ...common,
          functions: galeraFunctions(cluster, n),
          mariabackup: cluster.spec.galera.sstMethod === "mariabackup",
        }),
    }),
    stepScript({
      family: FAMILY,
      id: "21-galera-join",
      title: "Galera: join or restart each controller, one at a time, the writer last",
      guideSection: "五.2.3 其他控制节点加入mariadb集群",
      nodes: joinOrder,
      mode: "serial",
      verifies: [
        "wsrep_local_state_comment Synced and wsrep_ready ON on each node before the next starts",
        "a node restarted for a changed option file: wsrep_cluster_size back to what it was before",
        `wsrep_cluster_size reaches ${controllers.length} on the last node`,
        `${first.hostname} (HAProxy's active server) restarts after every backup`,
      ],
      body: (n) =>
        renderTemplate("galera-join.sh", joinTpl, {
          ...common,
          functions: galeraFunctions(cluster, n),
          minSize: position.get(n.hostname)! + 1,
          datadir: DATADIR,
          drainSeconds: galeraDrainSeconds(cluster),
          listen: `${n.addresses.management}:${cluster.spec.galera.port}`,
        }),
    }),
    stepScript({
      family: FAMILY,
      id: "22-galera-secure",
      title: "MariaDB: secure installation and clustercheck account",
      guideSection: "五.1.3 初始化mariadb / 五.3.2 创建心跳检测用户",
      nodes: [first],
      mode: "serial",
      verifies: [
        "no anonymous accounts or test database",
        "root's and clustercheck's password hashes match the secrets; root logs in with /root/.my.cnf",
        "the clustercheck account holds USAGE only and logs in with its option file, as its system user",
      ],
      body: (n) =>
        renderTemplate("galera-secure.sh", secureShTpl, {
          ...common,
          functions: galeraFunctions(cluster, n),
          secureSql: SECURE_SQL,
          checkSql: SECURE_CHECK_SQL,
          clustercheckCnf: CLUSTERCHECK_CNF,
          osUser: CLUSTERCHECK_OS_USER,
        }),
    }),
    stepScript({
      family: FAMILY,
      id: GALERA_RECOVER_ID,
      title: "Galera full-outage recovery (run by ha-gen recover galera)",
      guideSection: "五.4 异常关机或异常断电后的修复",
      nodes: controllers,
      mode: "serial",
      verifies: ["report: one machine-readable line; bootstrap/join: Primary, Synced and ready"],
      onDemand: true,
      body: (n) =>
        renderTemplate("galera-recover.sh", recoverTpl, {
          ...common,
          functions: galeraFunctions(cluster, n),
          node: n.hostname,
          reportPrefix: REPORT_PREFIX,
        }),
    }),
  );
}

/** The throwaway schema of 24-galera-replication (a plain SQL identifier: no quoting needed). */
export const REPLICATION_SCHEMA = "ha_gen_replication_check";
export const REPLICATION_STEP = "24-galera-replication";

/**
 * The guide's replication proof (五.2.6), after every controller joined and clustercheck answers:
 * a row written on the first controller must be readable on every other one (bounded waits,
 * causal reads), and the throwaway schema is removed by the last. Its own registry entry, so it
 * runs after 23-clustercheck. Nothing with one controller: there is no other node to read on.
 */
export function galeraReplication(cluster: Cluster): GeneratorOutput {
  const { controllers } = cluster;
  const first = cluster.writer;
  if (controllers.length < 2) return { artifacts: [], steps: [] };
  if (!/^[a-z_]+$/.test(REPLICATION_SCHEMA)) {
    throw new Error("internal: the replication schema must be a plain identifier");
  }
  const last = controllers[controllers.length - 1]!;
  return stepScript({
    family: FAMILY,
    id: REPLICATION_STEP,
    title: "Galera: prove replication (a throwaway row written on the first controller, read on every other)",
    guideSection: "五.2.6 在controller01创建数据库,到另外两台节点上查看是否可以同步",
    nodes: controllers,
    mode: "serial",
    verifies: [
      `a row written in ${REPLICATION_SCHEMA} on ${first.hostname} is read on every other controller within 60 s`,
      `the schema ${REPLICATION_SCHEMA} is removed afterwards`,
    ],
    body: (n) =>
      renderTemplate("galera-replication.sh", replicationTpl, {
        functions: galeraFunctions(cluster, n),
        schema: REPLICATION_SCHEMA,
        writer: first.hostname,
        role: n === first ? "writer" : "reader",
        last: n === last,
        waitSeconds: 60,
      }),
  });
}
