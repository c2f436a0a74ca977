import { fileFor, type GeneratorOutput } from "../src/core/artifact.js";
import type { Cluster } from "../src/core/model.js";
import { HAPROXY_CHROOT, HAPROXY_STATS_SOCKET } from "../src/core/os.js";
import { haproxy as hq } from "../src/core/quote.js";
import type { HaproxyService } from "../src/core/spec/schema.js";
import { MARKER, merge, stepScript } from "./common.js";
import { renderTemplate } from "../src/core/template.js";
import tpl from "./templates/haproxy.cfg.njk";
import stepTpl from "./templates/haproxy-step.sh.njk";

export const HAPROXY_CFG = "/etc/haproxy/haproxy.cfg";
export { HAPROXY_CHROOT };
/** `/dev/log` as HAProxy sees it inside its chroot; rsyslog creates this socket (rsyslog family). */
export const HAPROXY_LOG_SOCKET = `${HAPROXY_CHROOT}/dev/log`;

/** Name of the pacemaker clone that runs HAProxy (pcs names a clone `<primitive>-clone`). */
export function haproxyCloneId(cluster: Cluster): string {
  return `${cluster.spec.pacemaker.haproxyResource}-clone`;
}

/**
 * Connections MariaDB keeps free of HAProxy's traffic: the clustercheck of every HAProxy (which
 * must keep answering when the writer is full, or HAProxy fails over and the backup fills up
 * next), ha-gen's and the operator's root sessions, an SST donor's and monitoring's.
 */
export const GALERA_HEADROOM = 16;

/** The listener in front of MariaDB (validation's rule too): its limits follow max_connections. */
export function isGaleraService(cluster: Cluster, s: HaproxyService): boolean {
  return (s.backendPort ?? s.port) === cluster.spec.galera.port;
}

/**
 * Connection limits of the Galera listener, from galera.maxConnections alone: HAProxy opens at
 * most `server` connections to a MariaDB node and queues the rest (`timeout queue`); the listener
 * accepts up to max_connections, so that queue exists.
 */
export function galeraMaxconn(cluster: Cluster): { listener: number; server: number } {
  const max = cluster.spec.galera.maxConnections;
  return { listener: max, server: max - GALERA_HEADROOM };
}

function service(cluster: Cluster, s: HaproxyService) {
  const backendPort = s.backendPort ?? s.port;
  const galera = isGaleraService(cluster, s) ? galeraMaxconn(cluster) : undefined;
  // Pre-quoted words: every value goes through hq().
  const defaultServer = [
    ...(s.checkPort !== undefined ? [`port ${hq(s.checkPort)}`] : []),
    `inter ${hq(s.check.inter)}`,
    `rise ${hq(s.check.rise)}`,
    `fall ${hq(s.check.fall)}`,
    ...(galera ? [`maxconn ${hq(galera.server)}`] : []),
    // Clients of a writer marked down are cut so they reconnect to the new one at once; when the
    // writer is back, the sessions still on a backup are cut too: one writer, also after failback.
    ...(s.activeBackup ? ["on-marked-down shutdown-sessions", "on-marked-up shutdown-backup-sessions"] : []),
  ].join(" ");
  return {
    name: s.name,
    bind: `${cluster.vip.address}:${s.port}`,
    mode: s.mode,
    balance: s.balance,
    logOption: s.mode === "tcp" ? "tcplog" : "httplog",
    tcpKeepalive: s.tcpKeepalive,
    httpCheck: s.httpCheck,
    // A dedicated health-check service (clustercheck) states health as 200/503; the APIs'
    // own `/` answers 300 on some services, which httpchk's default 2xx/3xx rule accepts.
    expect200: s.httpCheck && s.checkPort !== undefined,
    timeoutClient: s.timeoutClient,
    timeoutServer: s.timeoutServer,
    timeoutTunnel: s.timeoutTunnel,
    maxconn: galera?.listener,
    activeBackup: s.activeBackup,
    defaultServer,
    servers: cluster.controllers.map((c) => ({
      name: c.hostname,
      address: `${c.addresses.management}:${backendPort}`,
      backup: s.activeBackup && c !== cluster.writer,
    })),
  };
}

/** haproxy.cfg of one controller (only the stats bind differs between controllers). */
function renderHaproxyCfg(cluster: Cluster, nodeAddress: string, services: ReturnType<typeof service>[]): string {
  const { spec } = cluster;
  return renderTemplate("haproxy.cfg", tpl, {
    marker: MARKER,
    clone: haproxyCloneId(cluster),
    chroot: HAPROXY_CHROOT,
    statsSocket: HAPROXY_STATS_SOCKET,
    logSocket: HAPROXY_LOG_SOCKET,
    maxconn: spec.haproxy.maxconn,
    // The Galera listener has a budget of its own: an API flood cannot starve the database, nor the reverse.
    globalMaxconn: spec.haproxy.maxconn + services.reduce((sum, s) => sum + (s.maxconn ?? 0), 0),
    statsBinds: [`${cluster.vip.address}:${spec.haproxy.stats.port}`, `${nodeAddress}:${spec.haproxy.stats.port}`],
    stats: {
      realm: spec.haproxy.stats.realm,
      auth: `${spec.haproxy.stats.user}:${cluster.secrets.haproxy_stats_pass}`,
    },
    services,
  });
}

/**
 * HAProxy on every controller (guide 九). Fixes to the guide:
 * - `stats auth admin:admin` → the stats user from the spec with the generated haproxy_stats_pass;
 *   the file is then secret (0600 root: it is pushed before the haproxy group exists).
 * - stats bound on 0.0.0.0 → on the VIP and the node's management address only.
 * - Galera checked with a plain TCP connect to 3306, which keeps a desynced or donor node in
 *   rotation → `option httpchk` to clustercheck (port from the spec) with
 *   `http-check expect status 200`, first controller active, the others `backup`,
 *   `on-marked-down shutdown-sessions`, and `on-marked-up shutdown-backup-sessions`: without it
 *   the sessions opened on a backup while the writer was down stay there after it is back, and
 *   two nodes take writes (certification conflicts, deadlock errors). Chosen over TripleO's
 *   stick table (`stick on dst`): that keeps the backup as writer after failback, so the writer
 *   would no longer be known ahead (the wsrep_sst_donor preference relies on it), and each
 *   HAProxy's table is its own unless `peers` are configured.
 * - `option tcplog` inside HTTP listeners (HAProxy warns and ignores it) and `option httplog` in the
 *   defaults of TCP listeners → `tcplog` for mode tcp, `httplog` for mode http, per listener.
 * - Galera behind the 1m client/server timeouts of the defaults: idle pooled connections were cut
 *   ("MySQL server has gone away") → 90m on the Galera listener (spec defaults), above oslo.db's
 *   1h connection_recycle_time; noVNC's websockets → `timeout tunnel 1h`.
 * - `maxconn 4000` everywhere while MariaDB took 1000: a full writer answered "Too many
 *   connections", clustercheck too, so HAProxy failed over and the backup filled up next → the
 *   Galera listener's limits derive from galera.maxConnections (default 4096) with 16 kept free
 *   (server maxconn; HAProxy queues the rest), and it has its own share of the global maxconn.
 * - `log 127.0.0.1 local0` needed rsyslog's UDP input open to the network → `log /dev/log local0`
 *   into the socket the rsyslog family creates inside the chroot.
 * - `pidfile` dropped: both packages' units pass `-p`.
 * - The stats socket is root-only (mode 600) at level operator: ha-gen, its tests and the lab
 *   never change a server's state through it (no `disable server`/`set server`), so admin is not
 *   needed; the guide's socket had HAProxy's default level, user.
 * - `systemctl enable haproxy` while pacemaker also clones it (both start it) → disabled in systemd;
 *   pacemaker alone starts it, and a changed config reloads a running haproxy.
 */
export function haproxy(cluster: Cluster): GeneratorOutput {
  const services = cluster.spec.haproxy.services.map((s) => service(cluster, s));
  const artifacts = cluster.controllers.map((c) =>
    fileFor("haproxy", c.hostname, {
      path: HAPROXY_CFG,
      content: renderHaproxyCfg(cluster, c.addresses.management, services),
      mode: 0o600,
      secret: true,
    }),
  );
  return merge(
    { artifacts, steps: [] },
    stepScript({
      family: "haproxy",
      id: "51-haproxy",
      title: "HAProxy configuration (started by pacemaker)",
      guideSection: "九 部署Haproxy",
      nodes: cluster.controllers,
      mode: "parallel",
      verifies: [
        "haproxy -c accepts the configuration",
        "haproxy is not enabled in systemd (pacemaker starts it)",
        "a running haproxy was reloaded when its configuration changed",
      ],
      body: renderTemplate("haproxy-step.sh", stepTpl, { cfg: HAPROXY_CFG }),
    }),
  );
}
