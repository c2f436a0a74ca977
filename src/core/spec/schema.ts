import * as z from "zod";
import { overridesSchema } from "./overrides.js";
import { defaultServices } from "./services.js";

/**
 * The single source of truth for a cluster spec. Defaults reproduce the seed guide's cluster; each
 * place where ha-gen deliberately departs from the guide says so (README: Differences from the guide).
 */

const RFC1123_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
export const HOSTNAME_RE = new RegExp(`^(?=.{1,253}$)${RFC1123_LABEL}(?:\\.${RFC1123_LABEL})*$`);
/** Linux interface names: 1-15 characters, no `/`, whitespace or `:`-alias games. */
export const IFNAME_RE = /^(?!\.{1,2}$)[A-Za-z0-9_.@-]{1,15}$/;
/** Names that end up in many formats (cluster names, users, tokens): a conservative common subset. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** Names the stock /etc/hosts files (and ha-gen's) give to loopback, and RFC 6761's `.localhost`. */
const LOOPBACK_NAMES = new Set([
  "localhost",
  "localhost.localdomain",
  "localhost4",
  "localhost4.localdomain4",
  "localhost6",
  "localhost6.localdomain6",
  "ip6-localhost",
  "ip6-loopback",
]);
const OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const IPV4_RE = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);

/**
 * Why a syntactically valid RFC 1123 name cannot name a host, or undefined: the one rule for every
 * field that names a node or a host.
 */
export function hostnameProblem(v: string): string | undefined {
  // Names are compared and written exactly as given; DNS ignores case, so refusing upper case
  // keeps one spelling per host (and every generated file stable).
  if (/[A-Z]/.test(v)) return "must be lower case (DNS names ignore case; write the name in lower case)";
  const labels = v.split(".");
  // inet_aton reads 10.1, 167772161 and 0x7f.1 as addresses; RFC 3696: a top-level label is never all digits.
  if (/^[0-9]+$/.test(labels.at(-1)!) || labels.every((l) => /^(?:0x[0-9a-f]*|[0-9]+)$/.test(l))) {
    return "looks like an IP address, not a hostname";
  }
  if (LOOPBACK_NAMES.has(v) || v.endsWith(".localhost")) return "is a loopback name: every node resolves it to itself";
  return undefined;
}

/** RFC 1123 syntax, then hostnameProblem (which assumes the syntax, so it is skipped when that fails). */
const hostRule = (allowIpv4: boolean) => (v: string, ctx: z.core.$RefinementCtx<string>) => {
  if (!HOSTNAME_RE.test(v) || (allowIpv4 && IPV4_RE.test(v))) return;
  const problem = hostnameProblem(v);
  if (!problem) return;
  const ipLike = allowIpv4 && problem.startsWith("looks like an IP");
  ctx.addIssue({ code: "custom", input: v, message: ipLike ? "is neither an IPv4 address nor a hostname" : problem });
};
const hostname = z
  .string()
  .regex(HOSTNAME_RE, { error: "is not a valid RFC 1123 hostname" })
  .superRefine(hostRule(false));
const hostnameOrIpv4 = z
  .string()
  .regex(HOSTNAME_RE, { error: "is not a hostname or IPv4 address" })
  .superRefine(hostRule(true));

/** A lone UTF-16 surrogate has no UTF-8 form: every file would get U+FFFD instead of what was written. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const CONTROL = /[\u0000-\u001f\u007f]/;
const UNICODE_TEXT = "must be valid Unicode text (no lone \\uD800-\\uDFFF escapes)";

const name = z.string().regex(NAME_RE, { error: "must be 1-63 of A-Z a-z 0-9 _ . - starting with a letter or digit" });
const ipv4 = z.ipv4({ error: "is not an IPv4 address" });
const cidr = z.cidrv4({ error: "is not an IPv4 CIDR such as 10.0.0.0/12" });
const ifname = z
  .string()
  .regex(IFNAME_RE, { error: "is not a valid Linux interface name (1-15 of A-Z a-z 0-9 _ . @ -)" });
const port = z.int().min(1).max(65535);
/**
 * Pacemaker/HAProxy style durations: 30s, 5min, 2000. A bare number is milliseconds to HAProxy and
 * seconds to Pacemaker. HAProxy refuses timers past 2^31-1 ms ("timer overflow"); Pacemaker keeps
 * intervals as 32-bit milliseconds.
 */
const DURATION_RE = /^([0-9]{1,10})(ms|s|m|min|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Milliseconds of a validated duration; `bare` is the unit of a number without one (HAProxy: ms). */
export function durationMs(v: string, bare: "ms" | "s"): number {
  const m = DURATION_RE.exec(v);
  if (!m) throw new Error(`internal: ${v} is not a validated duration`);
  return Number(m[1]) * UNIT_MS[m[2] ?? bare]!;
}
const durationIn = (bare: "ms" | "s") =>
  z
    .string()
    .regex(DURATION_RE, { error: "is not a duration such as 30s or 5min" })
    .superRefine((v, ctx) => {
      if (DURATION_RE.test(v) && durationMs(v, bare) > MAX_TIMER_MS) {
        const message = "is longer than 2147483647 ms (about 24.8 days), more than HAProxy and Pacemaker timers hold";
        ctx.addIssue({ code: "custom", input: v, message });
      }
    });
const duration = durationIn("s");
const haproxyDuration = durationIn("ms");

/** Every {@link Role}. */
export const ROLES = ["controller", "compute", "ceph"] as const;
/** Every {@link OsTarget}. */
export const OS_TARGETS = ["centos8", "debian12"] as const;

const network = z.strictObject({
  cidr: cidr.meta({ description: "The network in CIDR notation, without host bits, such as 10.0.0.0/12." }),
  interface: ifname.meta({ description: "The interface every node has on this network, such as ens192." }),
});

/** A render writes these beside the node folders, so no node may be named like one of them. */
export const RENDER_TOP_FILES: readonly string[] = ["plan.json", "PLAN.md", "manifest.json"];

const node = z.strictObject({
  hostname: hostname
    .refine((h) => !RENDER_TOP_FILES.includes(h), {
      error: "is the name of a file every render writes (plan.json, manifest.json): choose another node name",
    })
    .meta({
      description:
        "The node's hostname, lower case (RFC 1123): ha-gen sets it on the node and lists it in /etc/hosts. Required.",
    }),
  roles: z
    .array(z.enum(ROLES))
    .min(1, { error: "needs at least one role" })
    .meta({
      description:
        "What the node is: controller (runs Galera, RabbitMQ, memcached, etcd, pacemaker, HAProxy), compute " +
        "or ceph (they get /etc/hosts, chrony, sysctl and the OS preparation). Required, at least one.",
    }),
  addresses: z
    .strictObject({
      management: ipv4.meta({ description: "The node's IPv4 address in networks.management. Required." }),
      vlan: ipv4.optional().meta({ description: "The node's IPv4 address in networks.vlan, if it has one." }),
    })
    .meta({ description: "The node's address on each network." }),
});

const UNIT_BYTES: Record<string, bigint> = { K: 1n << 10n, M: 1n << 20n, G: 1n << 30n };
const sizeBytes = (v: string) => BigInt(v.replace(/[KMG]$/, "")) * (UNIT_BYTES[v.at(-1)!] ?? 1n);

const galera = z
  .strictObject({
    clusterName: name.default("mariadb_galera_cluster").meta({
      description: "wsrep_cluster_name of the Galera cluster. Default: mariadb_galera_cluster.",
    }),
    port: port.default(3306).meta({ description: "MariaDB port on each controller's address. Default: 3306." }),
    /**
     * The guide's 1000 is too few for one writer that holds every service's connection pool: 4096 as
     * TripleO. HAProxy's Galera listener is derived from it (generators/haproxy.ts), 16 kept free.
     */
    maxConnections: z.int().min(32).max(100000).default(4096).meta({
      description:
        "MariaDB max_connections; HAProxy's Galera listener accepts as many and queues the rest. Default: 4096.",
    }),
    wsrepSlaveThreads: z
      .int()
      .min(1)
      .max(512)
      .default(4)
      .meta({ description: "wsrep_slave_threads: parallel appliers of replicated writes. Default: 4." }),
    innodbBufferPoolSize: z
      .string()
      .regex(/^[0-9]{1,20}[KMG]?$/, { error: "must be a size such as 1024M" })
      .refine((v) => !/^[0-9]{1,20}[KMG]?$/.test(v) || sizeBytes(v) < 2n ** 63n, {
        error: "is larger than MariaDB's limit of 2^63-1 bytes",
      })
      .default("1024M")
      .meta({ description: "innodb_buffer_pool_size, a size such as 1024M or 4G. Default: 1024M." }),
    innodbFlushLogAtTrxCommit: z
      .union([z.literal(0), z.literal(1), z.literal(2)])
      .default(2)
      .meta({
        description:
          "innodb_flush_log_at_trx_commit: 2 writes the log at each commit and flushes it once a second (Galera " +
          "keeps the other copies). Default: 2.",
      }),
    wsrepSyncWait: z
      .int()
      .min(0)
      .max(15)
      .default(0)
      .meta({ description: "wsrep_sync_wait: causality checks before reads (a bit mask, 0-15). Default: 0." }),
    /**
     * Galera's default evs.suspect_timeout (PT5S) held every commit for 5 s plus the view change after
     * the writer crashed (6.4 s without writes in the lab drill; 4.4 s with 3 s). Galera refuses to
     * start unless keepalive_period (1 s) <= suspect_timeout / 3 and suspect_timeout <=
     * inactive_timeout (15 s): mariadbd aborted on PT2.5S ("keepalive_period ... out of range").
     */
    suspectTimeout: z
      .int()
      .min(3000, { error: "is below 3000 ms: Galera needs at least 3 × its evs.keepalive_period (1 s)" })
      .max(15_000, { error: "is above Galera's evs.inactive_timeout (15000 ms)" })
      .default(3000)
      .meta({
        description:
          "evs.suspect_timeout in ms: how long a silent node is waited for before the others drop it and " +
          "commits go on. Shorter fails over faster but evicts a node that stalls that long (it rejoins by " +
          "IST). 3000-15000. Default: 3000 (Galera's own: 5000).",
      }),
    sstMethod: z
      .enum(["rsync", "mariabackup"])
      .default("rsync")
      .meta({ description: "How a joining node copies the whole database (state snapshot transfer). Default: rsync." }),
  })
  .prefault({})
  .meta({ description: "MariaDB Galera on the controllers." });

const clustercheck = z
  .strictObject({
    user: name.default("clustercheck").meta({
      description: "MariaDB account clustercheck logs in with (USAGE only). Default: clustercheck.",
    }),
    port: port.default(9200).meta({
      description: "Port of the clustercheck HTTP service (xinetd) HAProxy checks Galera on. Default: 9200.",
    }),
  })
  .prefault({})
  .meta({ description: "clustercheck: tells HAProxy whether a Galera node is synced (200) or not (503)." });

const rabbitmq = z
  .strictObject({
    user: name
      .default("openstack")
      .meta({ description: "RabbitMQ user of the OpenStack services. Default: openstack." }),
    // AMQP carries the vhost as a short string: at most 255 bytes.
    vhost: z
      .string()
      .regex(/^\/[A-Za-z0-9_.-]{0,254}$/, { error: "must start with / and hold at most 255 of A-Z a-z 0-9 _ . -" })
      .default("/")
      .meta({ description: "Virtual host the user gets full permissions on. Default: /." }),
    tags: z
      .array(z.enum(["administrator", "monitoring", "policymaker", "management"]))
      .default(["administrator"])
      .meta({ description: "Tags of the user (what it may do in the management UI). Default: [administrator]." }),
    port: port.default(5672).meta({ description: "AMQP port on each controller's address. Default: 5672." }),
    managementPort: port.default(15672).meta({ description: "Management UI/API port. Default: 15672." }),
    managementPlugin: z
      .boolean()
      .default(true)
      .meta({ description: "Enable the rabbitmq_management plugin. Default: true." }),
    /** The guide joins nodes 2..n as RAM nodes; ha-gen joins disc nodes unless asked (see README). */
    ramNodes: z
      .boolean()
      .default(false)
      .meta({
        description:
          "Join the controllers after the first as RAM nodes, as the guide does (deprecated by RabbitMQ; warned). " +
          "Default: false (disc nodes).",
      }),
    partitionHandling: z
      .enum(["pause_minority", "autoheal", "ignore"])
      .default("pause_minority")
      .meta({
        description:
          "cluster_partition_handling: pause_minority stops the nodes on the minority side of a network " +
          "partition so the cluster cannot diverge. Default: pause_minority.",
      }),
    policy: z
      .strictObject({
        name: name.default("ha-all").meta({ description: "Name of the policy. Default: ha-all." }),
        /** The guide's `^` also mirrors the amq.* internal queues; this is the OpenStack HA guide's pattern. */
        pattern: z
          .string()
          .min(1)
          .max(200)
          .regex(/^[^\u0000-\u001f\u007f]+$/, { error: "must not contain control characters" })
          .refine((v) => !LONE_SURROGATE.test(v), { error: UNICODE_TEXT })
          .default("^(?!amq\\.).*")
          .meta({
            description:
              "Regular expression of the queue/exchange names the policy applies to. Default: ^(?!amq\\.).* " +
              "(everything but the internal amq.* queues).",
          }),
        definition: z
          .record(
            // RabbitMQ's policy keys are all of this form (ha-mode, max-length-bytes, ...).
            z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, {
              error: "is not a RabbitMQ policy key (a-z 0-9 -, starting with a letter)",
            }),
            z.union([z.string(), z.number(), z.boolean()]),
          )
          .superRefine((d, ctx) => {
            // Values are names (queues, exchanges: AMQP short strings, at most 255 bytes) or modes.
            for (const [k, v] of Object.entries(d)) {
              if (typeof v !== "string") continue;
              const problem = LONE_SURROGATE.test(v)
                ? UNICODE_TEXT
                : CONTROL.test(v)
                  ? "must not contain control characters"
                  : new TextEncoder().encode(v).length > 255
                    ? "must be at most 255 bytes"
                    : undefined;
              if (problem) ctx.addIssue({ code: "custom", path: [k], input: v, message: problem });
            }
            if (Object.keys(d).length > 64)
              ctx.addIssue({ code: "custom", input: d, message: "may have at most 64 keys" });
          })
          .default({ "ha-mode": "all" })
          .meta({
            description: "The policy's definition (key: value). Default: { ha-mode: all } (mirror everywhere).",
          }),
        /** What the policy applies to (the guide's `set_policy` default: all). */
        applyTo: z
          .enum(["queues", "exchanges", "all"])
          .default("all")
          .meta({ description: "What the policy applies to. Default: all." }),
      })
      .prefault({})
      .meta({ description: "The policy set on the vhost (queue mirroring)." }),
  })
  .prefault({})
  .meta({ description: "RabbitMQ cluster on the controllers." });

const memcached = z
  .strictObject({
    port: port.default(11211).meta({ description: "memcached port (node address and 127.0.0.1). Default: 11211." }),
    maxConnections: z
      .int()
      .min(1)
      .max(1_000_000)
      .default(1024)
      .meta({ description: "memcached -c: simultaneous connections. Default: 1024." }),
    cacheSizeMb: z
      .int()
      .min(1)
      .max(1_048_576)
      .default(64)
      .meta({ description: "memcached -m: cache size in MiB. Default: 64." }),
  })
  .prefault({})
  .meta({ description: "memcached on the controllers." });

const etcd = z
  .strictObject({
    token: name.default("etcd-cluster-01").meta({
      description: "ETCD_INITIAL_CLUSTER_TOKEN, unique per cluster. Default: etcd-cluster-01.",
    }),
    clientPort: port.default(2379).meta({ description: "Client port. Default: 2379." }),
    peerPort: port.default(2380).meta({ description: "Peer port (between members). Default: 2380." }),
    dataDir: z
      .string()
      .regex(/^(\/[A-Za-z0-9_.-]+)+\/?$/, { error: "must be an absolute path of A-Z a-z 0-9 _ . / -" })
      // `.`, `..` or `//` could name / or a system directory, which the etcd step would chown and move.
      .refine((v) => !v.split("/").some((seg) => seg === "." || seg === ".."), {
        error: "must not contain . or .. segments",
      })
      // Linux: PATH_MAX 4096 bytes with the NUL, NAME_MAX 255 per segment.
      .refine((v) => v.length < 4096 && v.split("/").every((seg) => seg.length <= 255), {
        error: "is longer than Linux allows (4095 bytes, 255 per segment)",
      })
      .default("/var/lib/etcd/default.etcd")
      .meta({ description: "Absolute path of etcd's data directory. Default: /var/lib/etcd/default.etcd." }),
  })
  .prefault({})
  .meta({ description: "etcd on the controllers." });

const pacemakerProperties = z
  .strictObject({
    "pe-warn-series-max": z
      .int()
      .min(0)
      .default(1000)
      .meta({ description: "Scheduler inputs kept that produced warnings. Default: 1000." }),
    "pe-input-series-max": z.int().min(0).default(1000).meta({ description: "Scheduler inputs kept. Default: 1000." }),
    "pe-error-series-max": z
      .int()
      .min(0)
      .default(1000)
      .meta({ description: "Scheduler inputs kept that produced errors. Default: 1000." }),
    /** The guide writes `5` (five seconds) meaning five minutes. */
    "cluster-recheck-interval": duration.default("5min").meta({
      description: "How often the cluster re-evaluates without an event (a bare number is seconds). Default: 5min.",
    }),
    "stonith-enabled": z.boolean().default(false).meta({
      description:
        "Fence failed nodes. false is warned about: production needs a fence device. Default: false (as the guide).",
    }),
    /** The guide sets `ignore`, which lets a lone partition keep the VIP: split brain. */
    "no-quorum-policy": z
      .enum(["stop", "freeze", "ignore", "demote", "suicide"])
      .default("stop")
      .meta({
        description:
          "What a partition without quorum does: stop its resources (the VIP included). ignore is warned about " +
          "(split brain). Default: stop.",
      }),
  })
  .prefault({})
  .meta({ description: "Pacemaker cluster properties (pcs property set)." });

/** Pacemaker resource ids are XML ids: no leading digit (pcs refuses them). */
const resourceId = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/, { error: "must be 1-63 of A-Z a-z 0-9 _ . - starting with a letter or _" });

/**
 * Corosync's totem settings that govern how fast a crashed node is noticed. corosync 3's default
 * token (3000 ms; real token for 3 nodes 3000 + 1 × 650 = 3650 ms, then consensus 1.2 × that)
 * made a VIP failover take 8-10 s. 1000 ms is corosync 2's default and what pcs wrote on RHEL 7.
 * With corosync's token_coefficient (650 ms per node beyond two) that was still 1650 + 1980 ms to a
 * new membership, and a crashed DC costs pacemaker another second to elect a new one: the lab's VIP
 * holder crash left no SQL write for 5.0 s. The coefficient is 0 by default: 1000 + 1200 ms for any
 * number of controllers. TripleO's 10000 ms suits controllers in VMs that stall; raise the token (or
 * the coefficient, for many controllers) when membership flaps.
 */
const corosync = z
  .strictObject({
    token: z
      .int()
      .min(500, { error: "is below 500 ms: a busy node would be declared dead (membership flaps)" })
      .max(60_000)
      .default(1000)
      .meta({
        description:
          "corosync totem token timeout in ms (pcs cluster setup ... totem token=). Real token is this plus " +
          "tokenCoefficient per node beyond 2; a crashed node is noticed after about 2.2 times the real token. " +
          "Default: 1000 (VIP failover within ~4 s); raise it (TripleO: 10000) for controllers that stall.",
      }),
    tokenCoefficient: z
      .int()
      .min(0)
      .max(10_000)
      .default(0)
      .meta({
        description:
          "corosync totem token_coefficient in ms, added to the token per node beyond two (the real token). " +
          "Default: 0, the token as set whatever the number of controllers (corosync's own default: 650).",
      }),
  })
  .prefault({})
  .meta({ description: "Corosync's totem settings, which govern how fast a crashed controller is noticed." });

const pacemaker = z
  .strictObject({
    clusterName: name.default("openstack-cluster-01").meta({
      description: "Name of the pacemaker/corosync cluster. Default: openstack-cluster-01.",
    }),
    corosync,
    properties: pacemakerProperties,
    vipResource: resourceId.default("vip").meta({ description: "Resource id of the VIP (IPaddr2). Default: vip." }),
    vipMonitorInterval: duration.default("30s").meta({ description: "Monitor interval of the VIP. Default: 30s." }),
    /** pcs names its clone `<haproxyResource>-clone`. */
    haproxyResource: resourceId.default("lb-haproxy").meta({
      description: "Resource id of HAProxy; its clone is <id>-clone. Default: lb-haproxy.",
    }),
    /**
     * Monitor of the HAProxy clone. The guide leaves pcs's default for systemd agents (60s): a dead
     * HAProxy went unnoticed for up to a minute while the VIP pointed at it. The timeout covers a
     * systemd busy starting other units.
     */
    haproxyMonitorInterval: duration.default("5s").meta({
      description: "Monitor interval of the HAProxy clone (how soon a dead HAProxy is noticed). Default: 5s.",
    }),
    haproxyMonitorTimeout: duration.default("20s").meta({
      description: "Timeout of that monitor. Default: 20s.",
    }),
  })
  .superRefine((p, ctx) => {
    if (p.vipResource === p.haproxyResource || p.vipResource === `${p.haproxyResource}-clone`) {
      ctx.addIssue({
        code: "custom",
        path: ["vipResource"],
        input: p.vipResource,
        message: `clashes with haproxyResource ${p.haproxyResource} (or its clone ${p.haproxyResource}-clone)`,
      });
    }
  })
  .prefault({})
  .meta({ description: "Pacemaker/pcs on the controllers: the VIP and the HAProxy clone." });

const check = z
  .strictObject({
    inter: haproxyDuration.default("2000").meta({
      description: "Interval between health checks (a bare number is milliseconds). Default: 2000.",
    }),
    rise: z.int().min(1).max(100).default(2).meta({ description: "Checks passed to mark a server up. Default: 2." }),
    fall: z.int().min(1).max(100).default(5).meta({ description: "Checks failed to mark a server down. Default: 5." }),
  })
  .prefault({})
  .meta({ description: "Health checks of the backends." });

/** One HAProxy listener on the VIP, as the spec writes it (the zod schema of haproxy.services entries). */
export const haproxyService = z.strictObject({
  name: name.meta({ description: "Name of the listener, such as keystone_public_cluster. Required." }),
  /** Port bound on the VIP. */
  port: port.meta({ description: "Port bound on the VIP. Required." }),
  /** Port the backends listen on (defaults to `port`). */
  backendPort: port.optional().meta({ description: "Port the controllers serve on. Default: port." }),
  mode: z.enum(["http", "tcp"]).default("http").meta({ description: "HAProxy mode. Default: http." }),
  balance: z
    .enum(["source", "roundrobin", "leastconn"])
    .default("source")
    .meta({ description: "How clients are spread over the controllers. Default: source." }),
  /** Send an HTTP health check instead of a bare TCP connect. */
  httpCheck: z
    .boolean()
    .default(false)
    .meta({ description: "Check backends with HTTP (option httpchk) instead of a TCP connect. Default: false." }),
  /** Health-check port when it differs from the backend port (Galera: clustercheck on 9200). */
  checkPort: port
    .optional()
    .meta({ description: "Health-check port when it differs from backendPort (Galera: 9200). Default: backendPort." }),
  tcpKeepalive: z.boolean().default(true).meta({ description: "option tcpka: TCP keepalives. Default: true." }),
  /** First controller active, the others `backup` (Galera: one writer avoids certification conflicts). */
  activeBackup: z.boolean().default(false).meta({
    description: "Only the first controller serves, the others are backups (Galera's one writer). Default: false.",
  }),
  timeoutClient: haproxyDuration
    .optional()
    .meta({ description: "timeout client of this listener. Default: HAProxy defaults section (1m)." }),
  timeoutServer: haproxyDuration
    .optional()
    .meta({ description: "timeout server of this listener. Default: HAProxy defaults section (1m)." }),
  /** Idle limit once the connection is a tunnel (a websocket after its upgrade); replaces client/server. */
  timeoutTunnel: haproxyDuration
    .optional()
    .meta({ description: "Idle limit once the connection is a tunnel (a websocket). Default: none." }),
  check,
});

const haproxy = z
  .strictObject({
    maxconn: z.int().min(1).max(1_000_000).default(4000).meta({
      description: "maxconn of every listener but Galera's (derived from galera.maxConnections). Default: 4000.",
    }),
    stats: z
      .strictObject({
        port: port.default(1080).meta({ description: "Port of the stats page (VIP and node address). Default: 1080." }),
        user: name.default("admin").meta({
          description:
            "User of the stats page; its password is haproxy_stats_pass in the secrets file. Default: admin.",
        }),
        realm: z
          .string()
          .regex(/^[A-Za-z0-9 _.-]{1,64}$/, { error: "must be 1-64 of A-Z a-z 0-9 space _ . -" })
          .default("OpenStack Haproxy")
          .meta({ description: "Authentication realm of the stats page. Default: OpenStack Haproxy." }),
      })
      .prefault({})
      .meta({ description: "The HAProxy stats page." }),
    services: z
      .array(haproxyService)
      .default(() => defaultServices.map((s) => haproxyService.parse(s)))
      .meta({
        description:
          "The listeners on the VIP. Setting it replaces the whole list (compose with defaultServices and " +
          "withServices in a TS spec). Default: the guide's 11 services " +
          "(dashboard, galera, rabbitmq, glance, keystone, nova api, placement, metadata, vncproxy, neutron, cinder).",
      }),
  })
  .prefault({})
  .meta({ description: "HAProxy on the controllers, serving every API on the VIP." });

const ntp = z
  .strictObject({
    /** Upstream servers of the controllers; empty: they agree on one controller's clock (orphan mode). */
    upstream: z
      .array(hostnameOrIpv4)
      .default(["ntp1.aliyun.com"])
      .meta({
        description:
          "Upstream NTP servers (hostnames or IPv4) of the controllers; the other nodes sync from the controllers. " +
          "[] makes the controllers agree on one of their clocks. Default: [ntp1.aliyun.com] (the guide's).",
      }),
    /** Deprecated, ignored (validation warns): every controller serves time to the cluster. */
    server: hostname
      .optional()
      .meta({ description: "Deprecated and ignored (warned): every controller serves time.", deprecated: true }),
  })
  .prefault({})
  .meta({ description: "Time synchronisation (chrony)." });

/** A repository mirror's base URL: its characters are safe in sed replacements and repo files. */
const MIRROR_URL_RE = /^https?:\/\/([a-z0-9.-]+)(?::([0-9]{1,5}))?(\/[A-Za-z0-9._~%-]+)*$/;
const mirrorUrl = z
  .string()
  .max(2000)
  .regex(MIRROR_URL_RE, {
    error:
      "must be an http(s) URL with a lower-case host, without a trailing slash, query or special characters, " +
      "such as https://vault.centos.org",
  })
  .superRefine((v, ctx) => {
    const m = MIRROR_URL_RE.exec(v);
    if (!m) return;
    const [, host, port] = m;
    // The host follows the hostname rule (or is an IPv4 address).
    const ip = IPV4_RE.test(host!);
    const problem = !HOSTNAME_RE.test(host!)
      ? "is not a valid RFC 1123 hostname"
      : ip
        ? undefined
        : hostnameProblem(host!);
    if (problem) ctx.addIssue({ code: "custom", input: v, message: `has a host that ${problem}` });
    if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65535)) {
      ctx.addIssue({ code: "custom", input: v, message: "has a port outside 1-65535" });
    }
  });

const prepare = z
  .strictObject({
    /**
     * centos8: CentOS 8 reached its end of life on 2021-12-31 and mirror.centos.org no longer serves
     * it, so the guide's repository steps fail today. Every CentOS-*.repo is pointed at this mirror
     * (the CentOS vault by default, or a site mirror of the same layout); "as-installed" leaves them.
     */
    centosMirror: z
      .union([z.literal("as-installed"), mirrorUrl])
      .default("https://vault.centos.org")
      .meta({
        description:
          "centos8: base URL every CentOS repository is pointed at (CentOS 8 is end-of-life), or as-installed to " +
          "leave them. Default: https://vault.centos.org.",
      }),
    disableSelinux: z
      .boolean()
      .default(true)
      .meta({ description: "centos8: set SELinux to permissive, as the guide does. Default: true." }),
    disableFirewalld: z
      .boolean()
      .default(true)
      .meta({ description: "centos8: stop and disable firewalld, as the guide does. Default: true." }),
    extraPackages: z
      .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9+._:-]{0,254}$/, { error: "is not a package name" }))
      .default([])
      .meta({ description: "More packages to install on every node. Default: []." }),
  })
  .prefault({})
  .meta({ description: "OS preparation (step 00-prepare): repositories, packages, SELinux, firewalld." });

const safety = z
  .strictObject({
    /** Allow fewer than 3 or an even number of quorum members (warned). */
    allowUnsafeMemberCount: z.boolean().default(false).meta({
      description:
        "Allow fewer than 3 or an even number of controllers (warned: no quorum after one failure). Default: false.",
    }),
    acknowledge: z
      .array(z.string().max(64))
      .max(32)
      .default([])
      .meta({
        description:
          "Ids of warnings you have reviewed and accept (e.g. stonith-disabled): they are no longer printed on " +
          "the terminal but stay listed, marked acknowledged, in PLAN.md and plan.json. An unknown id is an error. " +
          "Default: [] (none).",
      }),
  })
  .prefault({})
  .meta({ description: "Switches that allow unsafe but legal clusters." });

/**
 * The zod schema of a cluster spec: validation, defaults and the JSON Schema (`ha-gen schema`) come
 * from it. Prefer {@link validateSpec}, which adds the cross-field checks and reports every problem.
 */
export const clusterSpecSchema = z.strictObject({
  name: name
    .default("openstack-ha")
    .meta({ description: "Name of the cluster, in plan.json and PLAN.md. Default: openstack-ha." }),
  release: z.enum(["train"]).default("train").meta({ description: "OpenStack release. Default: train." }),
  os: z
    .enum(OS_TARGETS)
    .default("centos8")
    .meta({ description: "Operating system of every node: centos8 (the guide's) or debian12. Default: centos8." }),
  /** Optional DNS domain: /etc/hosts then lists `host.domain host`. */
  domain: hostname
    .optional()
    .meta({ description: "DNS domain: /etc/hosts then lists host.domain before host. Default: none." }),
  networks: z
    .strictObject({
      management: network.meta({
        description: "The network every node and service is on; the VIP is in it. Required.",
      }),
      vlan: network.optional().meta({
        description: "A second network; corosync gets a second link on it when every controller has an address there.",
      }),
    })
    .meta({ description: "The networks the nodes are on." }),
  nodes: z
    .array(node)
    .min(1, { error: "needs at least one node" })
    .meta({ description: "Every node, in order; the first controller bootstraps Galera, RabbitMQ and pacemaker." }),
  vip: z
    .strictObject({
      address: ipv4.meta({ description: "The virtual IP: in the management network, not a node's address. Required." }),
      /** Prefix length of the VIP; defaults to the management network's. */
      prefix: z
        .int()
        .min(1)
        .max(32)
        .optional()
        .meta({ description: "Prefix length of the VIP. Default: the management network's." }),
      /** Optional name for the VIP in /etc/hosts. */
      hostname: hostname.optional().meta({ description: "A name for the VIP in /etc/hosts. Default: none." }),
    })
    .meta({ description: "The virtual IP pacemaker moves between controllers; HAProxy serves every API on it." }),
  ntp,
  prepare,
  galera,
  clustercheck,
  rabbitmq,
  memcached,
  etcd,
  pacemaker,
  haproxy,
  safety,
  overrides: overridesSchema,
});

/** What users write (defaults optional). */
export type ClusterSpecInput = z.input<typeof clusterSpecSchema>;
/** The resolved spec generators receive: every default applied. */
export type ClusterSpec = z.output<typeof clusterSpecSchema>;
/** One entry of `nodes`, defaults applied. */
export type NodeSpec = ClusterSpec["nodes"][number];
/** What a node is for: `controller` runs every clustered service; `compute` and `ceph` get the common files. */
export type Role = (typeof ROLES)[number];
/** The operating systems ha-gen renders for. */
export type OsTarget = (typeof OS_TARGETS)[number];
/** One HAProxy listener on the VIP, defaults applied. */
export type HaproxyService = ClusterSpec["haproxy"]["services"][number];
/** One HAProxy service as written in a spec (defaults optional). */
export type HaproxyServiceInput = z.input<typeof haproxyService>;
