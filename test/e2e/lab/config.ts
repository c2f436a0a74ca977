import { lstatSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Fixed facts of the container lab. The addresses match examples/lab/cluster.ts and live in
 * 198.51.100.0/24 (TEST-NET-2) only, inside network namespaces the harness creates.
 */

export const REPO = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
export const LAB_SPEC = resolve(REPO, "examples/lab/cluster.ts");

export const LAB_SUBNET = "198.51.100.0/24";
export const BRIDGE_IP = "198.51.100.1";
export const VIP = "198.51.100.10";
export const PREFIX = 24;

export interface LabNode {
  readonly name: string;
  readonly ip: string;
  /** The node's own network namespace (/run/netns/<netns>). */
  readonly netns: string;
  /** Lab-side end of the node's veth, a port of br0 in the `lab` namespace. */
  readonly veth: string;
}

export const NODES: readonly LabNode[] = [1, 2, 3].map((i) => {
  const name = `controller0${i}`;
  return { name, ip: `198.51.100.1${i}`, netns: `lab-${name}`, veth: `v-0${i}` };
});

export function node(name: string): LabNode {
  const n = NODES.find((x) => x.name === name);
  if (!n) throw new Error(`no lab node ${name}`);
  return n;
}

/** Namespace holding br0; every command that talks to a node runs here. */
export const LAB_NETNS = "lab";
export const BRIDGE = "br0";

/** Our cgroup subtree (one child per container, so their units never share a cgroup). */
export const CGROUP_NAME = "ha-gen-lab";
/** Machine-name prefix of short-lived client containers (mysql/curl from the lab namespace). */
export const CLIENT_PREFIX = "ha-gen-lab-client";

/** Git-ignored per-checkout work dir: node overlays, keys, ssh_config, logs, figures. */
export const STATE_DIR = resolve(process.env.HA_GEN_LAB_DIR ?? resolve(REPO, ".lab"));
export const RUN_DIR = resolve(STATE_DIR, "run");
export const NODES_DIR = resolve(STATE_DIR, "nodes");
export const LOG_DIR = resolve(STATE_DIR, "logs");

/**
 * Machine-wide cache outside the work tree, so a fresh clone in CI reuses an image already built
 * on the machine. Also holds the machine-wide owner file (namespace names are global). In the
 * user's cache home, not the shared temporary directory: the lab boots that image as root.
 */
export const CACHE_DIR = resolve(
  process.env.HA_GEN_LAB_CACHE ??
    join(
      process.env.XDG_CACHE_HOME && isAbsolute(process.env.XDG_CACHE_HOME)
        ? process.env.XDG_CACHE_HOME
        : join(homedir(), ".cache"),
      "ha-gen-lab",
    ),
);

/** Creates CACHE_DIR (0700) and refuses one that is not ours alone: another user could plant an image in it. */
export function ensureCacheDir(): string {
  mkdirSync(CACHE_DIR, { recursive: true, mode: 0o700 });
  const st = lstatSync(CACHE_DIR);
  const uid = process.getuid?.();
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
    const found = st.isDirectory()
      ? `a directory of uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}`
      : "no directory";
    throw new Error(
      `${CACHE_DIR}: the lab's image cache must be a directory owned by uid ${uid} and writable by it alone ` +
        `(found ${found})`,
    );
  }
  return CACHE_DIR;
}
export const OWNER_FILE = resolve(CACHE_DIR, "owner.json");

export const SUITE = "bookworm";

/**
 * Every package the rollout (debian12 target) uses, baked into the image: the lab has no uplink,
 * so anything not baked cannot be installed by the rollout. Changing this list changes the image key.
 */
export const IMAGE_PACKAGES: readonly string[] = [
  // the services of the control plane
  "mariadb-server",
  "mariadb-client",
  "galera-4",
  "rsync",
  "lsof",
  "socat",
  "xinetd",
  "haproxy",
  "rabbitmq-server",
  "etcd-server",
  "etcd-client",
  "memcached",
  "chrony",
  "rsyslog",
  "pacemaker",
  "pacemaker-cli-utils",
  "pcs",
  "corosync",
  "resource-agents",
  // what step scripts and checks call (crudini: under the guide's openstack-config)
  "crudini",
  "curl",
  "ca-certificates",
  "iproute2",
  "iputils-ping",
  "netcat-openbsd",
  "procps",
  "psmisc",
  "kmod",
  "python3",
  "less",
  "vim-tiny",
  // the node itself: booted by nspawn, reached over SSH/SFTP
  "systemd",
  "systemd-sysv",
  "dbus",
  "openssh-server",
  "openssh-sftp-server",
  "openssh-client",
];

/** Services that would create cluster state on first start with their default config. */
export const IMAGE_DISABLED_SERVICES = ["mariadb", "rabbitmq-server", "etcd", "corosync", "pacemaker", "haproxy"];

/** Bumped when the bake recipe (not the package list) changes in a way that needs a new image. */
export const BAKE_RECIPE_VERSION = 1;

/** Upper bounds (generous: 2 cores, both saturated during pcs and RabbitMQ start). */
export const LIMITS = {
  sshReadyMs: 120_000,
  commandMs: 300_000,
  deployMs: 1_500_000,
};
