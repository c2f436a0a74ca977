import * as z from "zod";

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
const durationIn = (bare: "ms" | "s") =>
  z
    .string()
    .regex(DURATION_RE, { error: "is not a duration such as 30s or 5min" })
    .superRefine((v, ctx) => {
      const m = DURATION_RE.exec(v);
      if (m && Number(m[1]) * UNIT_MS[m[2] ?? bare]! > MAX_TIMER_MS) {
        const message = "is longer than 2147483647 ms (about 24.8 days), more than HAProxy and Pacemaker timers hold";
        ctx.addIssue({ code: "custom", input: v, message });
      }
    });
const duration = durationIn("s");
const haproxyDuration = durationIn("ms");

export const ROLES = ["controller", "compute", "ceph"] as const;
export const OS_TARGETS = ["centos8", "debian12"] as const;

const network = z.strictObject({
  cidr,
  interface: ifname,
});

/** A render writes these beside the node folders, so no node may be named like one of them. */
export const RENDER_TOP_FILES: readonly string[] = ["plan.json", "PLAN.md", "manifest.json"];

const node = z.strictObject({
  hostname: hostname.refine((h) => !RENDER_TOP_FILES.includes(h), {
    error: "is the name of a file every render writes (plan.json, manifest.json): choose another node name",
  }),
  roles: z.array(z.enum(ROLES)).min(1, { error: "needs at least one role" }),
  addresses: z.strictObject({
    management: ipv4,
    vlan: ipv4.optional(),
  }),
});

const UNIT_BYTES: Record<string, bigint> = { K: 1n << 10n, M: 1n << 20n, G: 1n << 30n };
const sizeBytes = (v: string) => BigInt(v.replace(/[KMG]$/, "")) * (UNIT_BYTES[v.at(-1)!] ?? 1n);

const galera = z
  .strictObject({
    clusterName: name.default("mariadb_galera_cluster"),
    port: port.default(3306),
    /**
     * The guide's 1000 is too few for one writer that holds every service's connection pool: 4096 as
     * TripleO. HAProxy's Galera listener is derived from it (generators/haproxy.ts), 16 kept free.
     */
    maxConnections: z.int().min(32).max(100000).default(4096),
    wsrepSlaveThreads: z.int().min(1).max(512).default(4),
    innodbBufferPoolSize: z
      .string()
      .regex(/^[0-9]{1,20}[KMG]?$/, { error: "must be a size such as 1024M" })
      .refine((v) => !/^[0-9]{1,20}[KMG]?$/.test(v) || sizeBytes(v) < 2n ** 63n, {
        error: "is larger than MariaDB's limit of 2^63-1 bytes",
      })
      .default("1024M"),
    innodbFlushLogAtTrxCommit: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(2),
    wsrepSyncWait: z.int().min(0).max(15).default(0),
    sstMethod: z.enum(["rsync", "mariabackup"]).default("rsync"),
  })
  .prefault({});

const clustercheck = z
  .strictObject({
    user: name.default("clustercheck"),
    port: port.default(9200),
  })
  .prefault({});

const rabbitmq = z
  .strictObject({
    user: name.default("openstack"),
    // AMQP carries the vhost as a short string: at most 255 bytes.
    vhost: z
      .string()
      .regex(/^\/[A-Za-z0-9_.-]{0,254}$/, { error: "must start with / and hold at most 255 of A-Z a-z 0-9 _ . -" })
      .default("/"),
    tags: z.array(z.enum(["administrator", "monitoring", "policymaker", "management"])).default(["administrator"]),
    port: port.default(5672),
    managementPort: port.default(15672),
    managementPlugin: z.boolean().default(true),
    /** The guide joins nodes 2..n as RAM nodes; ha-gen joins disc nodes unless asked (see README). */
    ramNodes: z.boolean().default(false),
    partitionHandling: z.enum(["pause_minority", "autoheal", "ignore"]).default("pause_minority"),
    policy: z
      .strictObject({
        name: name.default("ha-all"),
        /** The guide's `^` also mirrors the amq.* internal queues; this is the OpenStack HA guide's pattern. */
        pattern: z
          .string()
          .min(1)
          .max(200)
          .regex(/^[^\u0000-\u001f\u007f]+$/, { error: "must not contain control characters" })
          .refine((v) => !LONE_SURROGATE.test(v), { error: UNICODE_TEXT })
          .default("^(?!amq\\.).*"),
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
          .default({ "ha-mode": "all" }),
        /** What the policy applies to (the guide's `set_policy` default: all). */
        applyTo: z.enum(["queues", "exchanges", "all"]).default("all"),
      })
      .prefault({}),
  })
  .prefault({});

const memcached = z
  .strictObject({
    port: port.default(11211),
    maxConnections: z.int().min(1).max(1_000_000).default(1024),
    cacheSizeMb: z.int().min(1).max(1_048_576).default(64),
  })
  .prefault({});

const etcd = z
  .strictObject({
    token: name.default("etcd-cluster-01"),
    clientPort: port.default(2379),
    peerPort: port.default(2380),
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
      .default("/var/lib/etcd/default.etcd"),
  })
  .prefault({});

const pacemakerProperties = z
  .strictObject({
    "pe-warn-series-max": z.int().min(0).default(1000),
    "pe-input-series-max": z.int().min(0).default(1000),
    "pe-error-series-max": z.int().min(0).default(1000),
    /** The guide writes `5` (five seconds) meaning five minutes. */
    "cluster-recheck-interval": duration.default("5min"),
    "stonith-enabled": z.boolean().default(false),
    /** The guide sets `ignore`, which lets a lone partition keep the VIP: split brain. */
    "no-quorum-policy": z.enum(["stop", "freeze", "ignore", "demote", "suicide"]).default("stop"),
  })
  .prefault({});

/** Pacemaker resource ids are XML ids: no leading digit (pcs refuses them). */
const resourceId = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/, { error: "must be 1-63 of A-Z a-z 0-9 _ . - starting with a letter or _" });

/**
 * Corosync's totem settings that govern how fast a crashed node is noticed. corosync 3's default
 * token (3000 ms; real token for 3 nodes 3000 + 1 × 650 = 3650 ms, then consensus 1.2 × that)
 * made a VIP failover take 8-10 s. 1000 ms is corosync 2's default and what pcs wrote on RHEL 7:
 * real token 1650 ms and consensus ~2 s for 3 nodes, ~4 s to a new membership on a LAN. TripleO's
 * 10000 ms suits controllers in VMs that stall; raise it when membership flaps.
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
          "650 ms per node beyond 2; a crashed node is noticed after about 2.2 times the real token. " +
          "Default 1000 (VIP failover within ~5 s); raise it (TripleO: 10000) for controllers that stall.",
      }),
  })
  .prefault({});

const pacemaker = z
  .strictObject({
    clusterName: name.default("openstack-cluster-01"),
    corosync,
    properties: pacemakerProperties,
    vipResource: resourceId.default("vip"),
    vipMonitorInterval: duration.default("30s"),
    /** pcs names its clone `<haproxyResource>-clone`. */
    haproxyResource: resourceId.default("lb-haproxy"),
    /**
     * Monitor of the HAProxy clone. The guide leaves pcs's default for systemd agents (60s): a dead
     * HAProxy went unnoticed for up to a minute while the VIP pointed at it. The timeout covers a
     * systemd busy starting other units.
     */
    haproxyMonitorInterval: duration.default("5s"),
    haproxyMonitorTimeout: duration.default("20s"),
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
  .prefault({});

const check = z
  .strictObject({
    inter: haproxyDuration.default("2000"),
    rise: z.int().min(1).max(100).default(2),
    fall: z.int().min(1).max(100).default(5),
  })
  .prefault({});

export const haproxyService = z.strictObject({
  name,
  /** Port bound on the VIP. */
  port,
  /** Port the backends listen on (defaults to `port`). */
  backendPort: port.optional(),
  mode: z.enum(["http", "tcp"]).default("http"),
  balance: z.enum(["source", "roundrobin", "leastconn"]).default("source"),
  /** Send an HTTP health check instead of a bare TCP connect. */
  httpCheck: z.boolean().default(false),
  /** Health-check port when it differs from the backend port (Galera: clustercheck on 9200). */
  checkPort: port.optional(),
  tcpKeepalive: z.boolean().default(true),
  /** First controller active, the others `backup` (Galera: one writer avoids certification conflicts). */
  activeBackup: z.boolean().default(false),
  timeoutClient: haproxyDuration.optional(),
  timeoutServer: haproxyDuration.optional(),
  /** Idle limit once the connection is a tunnel (a websocket after its upgrade); replaces client/server. */
  timeoutTunnel: haproxyDuration.optional(),
  check,
});

const DEFAULT_SERVICES: z.input<typeof haproxyService>[] = [
  { name: "dashboard_cluster", port: 80, httpCheck: true },
  // 90m (TripleO): longer than oslo.db's connection_recycle_time (3600 s), so HAProxy never cuts a
  // pooled connection before the service recycles it; the guide's 1m defaults did.
  {
    name: "galera_cluster",
    port: 3306,
    mode: "tcp",
    httpCheck: true,
    checkPort: 9200,
    activeBackup: true,
    tcpKeepalive: true,
    timeoutClient: "90m",
    timeoutServer: "90m",
    check: { inter: "1s", rise: 2, fall: 2 },
  },
  {
    name: "rabbitmq_cluster",
    port: 5673,
    backendPort: 5672,
    mode: "tcp",
    balance: "roundrobin",
    timeoutClient: "3h",
    timeoutServer: "3h",
    check: { inter: "10s", rise: 2, fall: 5 },
  },
  { name: "glance_api_cluster", port: 9292, httpCheck: true, timeoutClient: "3h", timeoutServer: "3h" },
  { name: "keystone_public_cluster", port: 5000, httpCheck: true },
  { name: "nova_compute_api_cluster", port: 8774, httpCheck: true },
  { name: "nova_placement_cluster", port: 8778 },
  { name: "nova_metadata_api_cluster", port: 8775 },
  // noVNC consoles are websockets, idle while someone reads the screen: 1h as kolla.
  { name: "nova_vncproxy_cluster", port: 6080, timeoutTunnel: "1h" },
  { name: "neutron_api_cluster", port: 9696, httpCheck: true },
  { name: "cinder_api_cluster", port: 8776, httpCheck: true },
];

const haproxy = z
  .strictObject({
    maxconn: z.int().min(1).max(1_000_000).default(4000),
    stats: z
      .strictObject({
        port: port.default(1080),
        user: name.default("admin"),
        realm: z
          .string()
          .regex(/^[A-Za-z0-9 _.-]{1,64}$/, { error: "must be 1-64 of A-Z a-z 0-9 space _ . -" })
          .default("OpenStack Haproxy"),
      })
      .prefault({}),
    services: z.array(haproxyService).default(() => DEFAULT_SERVICES.map((s) => haproxyService.parse(s))),
  })
  .prefault({});

const ntp = z
  .strictObject({
    /** Upstream servers of the controllers; empty: they agree on one controller's clock (orphan mode). */
    upstream: z.array(hostnameOrIpv4).default(["ntp1.aliyun.com"]),
    /** Deprecated, ignored (validation warns): every controller serves time to the cluster. */
    server: hostname.optional(),
  })
  .prefault({});

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
    centosMirror: z.union([z.literal("as-installed"), mirrorUrl]).default("https://vault.centos.org"),
    disableSelinux: z.boolean().default(true),
    disableFirewalld: z.boolean().default(true),
    extraPackages: z
      .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9+._:-]{0,254}$/, { error: "is not a package name" }))
      .default([]),
  })
  .prefault({});

const safety = z
  .strictObject({
    /** Allow fewer than 3 or an even number of quorum members (warned). */
    allowUnsafeMemberCount: z.boolean().default(false),
  })
  .prefault({});

export const clusterSpecSchema = z.strictObject({
  name: name.default("openstack-ha"),
  release: z.enum(["train"]).default("train"),
  os: z.enum(OS_TARGETS).default("centos8"),
  /** Optional DNS domain: /etc/hosts then lists `host.domain host`. */
  domain: hostname.optional(),
  networks: z.strictObject({
    management: network,
    vlan: network.optional(),
  }),
  nodes: z.array(node).min(1, { error: "needs at least one node" }),
  vip: z.strictObject({
    address: ipv4,
    /** Prefix length of the VIP; defaults to the management network's. */
    prefix: z.int().min(1).max(32).optional(),
    /** Optional name for the VIP in /etc/hosts. */
    hostname: hostname.optional(),
  }),
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
});

/** What users write (defaults optional). */
export type ClusterSpecInput = z.input<typeof clusterSpecSchema>;
/** The resolved spec generators receive: every default applied. */
export type ClusterSpec = z.output<typeof clusterSpecSchema>;
export type NodeSpec = ClusterSpec["nodes"][number];
export type Role = (typeof ROLES)[number];
export type OsTarget = (typeof OS_TARGETS)[number];
export type HaproxyService = ClusterSpec["haproxy"]["services"][number];
