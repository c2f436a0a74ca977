import type { Cluster } from "../src/core/model.js";
import { EPMD_PORT, GALERA_PORT, PCSD_PORT, RABBITMQ_DIST_PORT } from "../src/core/os.js";
import type { NodeSpec } from "../src/core/spec/schema.js";

/**
 * The TCP ports ha-gen's services bind on a node, with the processes allowed to hold them: what
 * preflight compares `ss -Hltnp` against. The ports come from the spec and the constants the
 * generators use (src/core/os.ts), so a changed port moves here too.
 */

export interface WantedListener {
  readonly port: number;
  /** The address the service binds: the node's management address or the VIP. */
  readonly address: string;
  /** What binds it, as a spec path or a fixed port's name (for messages). */
  readonly what: string;
  /** Process names (ss's users:(("name",...))) that are the managed service itself. */
  readonly processes: readonly string[];
}

const MARIADB = ["mariadbd", "mysqld"];
const RABBIT = ["beam.smp"];
const HAPROXY = ["haproxy"];

export function wantedListeners(cluster: Cluster, node: NodeSpec): WantedListener[] {
  if (!node.roles.includes("controller")) return [];
  const { spec } = cluster;
  const a = node.addresses.management;
  const on = (port: number, what: string, processes: readonly string[], address = a): WantedListener => ({
    port,
    address,
    what,
    processes,
  });
  const out = [
    on(spec.galera.port, "galera.port", MARIADB),
    on(GALERA_PORT, "Galera replication (4567)", MARIADB),
    on(spec.clustercheck.port, "clustercheck.port", ["xinetd"]),
    on(spec.rabbitmq.port, "rabbitmq.port", RABBIT),
    ...(spec.rabbitmq.managementPlugin ? [on(spec.rabbitmq.managementPort, "rabbitmq.managementPort", RABBIT)] : []),
    on(RABBITMQ_DIST_PORT, "RabbitMQ distribution (25672)", RABBIT),
    // A socket-activated epmd is held by systemd until the first client.
    on(EPMD_PORT, "epmd (4369)", ["epmd", "systemd"]),
    on(spec.memcached.port, "memcached.port", ["memcached"]),
    on(spec.etcd.clientPort, "etcd.clientPort", ["etcd"]),
    on(spec.etcd.peerPort, "etcd.peerPort", ["etcd"]),
    on(PCSD_PORT, "pcsd (2224)", ["pcsd", "pcsd-ruby", "ruby", "python3"]),
    on(spec.haproxy.stats.port, "haproxy.stats.port", HAPROXY),
    on(spec.haproxy.stats.port, "haproxy.stats.port", HAPROXY, cluster.vip.address),
    ...spec.haproxy.services.map((s, i) => on(s.port, `haproxy.services[${i}].port`, HAPROXY, cluster.vip.address)),
  ];
  return out;
}

export interface Listener {
  readonly address: string;
  readonly port: number;
  readonly processes: readonly { readonly name: string; readonly pid: number }[];
}

/** One line of `ss -Hltnp`: `LISTEN 0 128 10.0.0.1:3306 0.0.0.0:* users:(("mariadbd",pid=9,fd=20))`. */
export function parseSsLine(line: string): Listener | undefined {
  const f = line.trim().split(/\s+/);
  const local = f[3];
  if (f.length < 5 || !local) return undefined;
  const colon = local.lastIndexOf(":");
  const port = Number(local.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port)) return undefined;
  const address = local
    .slice(0, colon)
    .replace(/^\[|\]$/g, "")
    .replace(/%.*$/, "")
    .replace(/^::ffff:/i, "");
  const users = f.slice(5).join(" ");
  const processes = [...users.matchAll(/\("([^"]*)",pid=(\d+)/g)].map((m) => ({ name: m[1]!, pid: Number(m[2]) }));
  return { address, port, processes };
}

const WILDCARD = new Set(["0.0.0.0", "*", "::"]);

/** A listener that keeps `want` from binding: same port, on its address or on every address. */
export function blocks(l: Listener, want: WantedListener): boolean {
  return l.port === want.port && (WILDCARD.has(l.address) || l.address === want.address);
}
