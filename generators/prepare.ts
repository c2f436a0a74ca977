import { fileFor, type GeneratorOutput } from "../src/core/artifact.js";
import type { Cluster } from "../src/core/model.js";
import { CLUSTERCHECK_OS_USER } from "../src/core/os.js";
import type { NodeSpec, OsTarget } from "../src/core/spec/schema.js";
import { MARKER, merge, stepScript } from "./common.js";
import { renderTemplate } from "../src/core/template.js";
import tpl from "./templates/prepare.sh.njk";
import openstackConfigTpl from "./templates/openstack-config.sh.njk";

/** openstack-utils' openstack-config, as a wrapper over crudini (the guide's later parts use it). */
export const OPENSTACK_CONFIG = "/usr/local/bin/openstack-config";

/** ha-gen's state directory on every node (stamps of applied configuration). */
export const STATE_DIR = "/var/lib/ha-gen";

/**
 * Packages per target and role. Controllers get everything the later steps run; every node gets
 * what the base layer uses there. Debian 12 is the container lab, whose image is baked offline
 * with exactly its controller list (anything else fails to install there).
 */
export const PACKAGES: Record<OsTarget, { controller: readonly string[]; every: readonly string[] }> = {
  centos8: {
    controller: [
      "mariadb",
      "mariadb-server",
      "mariadb-server-galera",
      "galera",
      "xinetd",
      "rsync",
      // The guide: it silences errors MariaDB logs after a restart (Debian's packages do not
      // link it, so the debian12 list has none).
      "libibverbs",
      "rabbitmq-server",
      "erlang",
      "memcached",
      "python3-memcached",
      "etcd",
      "pacemaker",
      "pcs",
      "corosync",
      "fence-agents-all",
      "resource-agents",
      "haproxy",
      "chrony",
      "rsyslog",
      "crudini",
      "python3-openstackclient",
      "python3-PyMySQL",
    ],
    every: ["chrony", "python3-openstackclient", "crudini"],
  },
  debian12: {
    controller: [
      "mariadb-server",
      "mariadb-client",
      "galera-4",
      "rsync",
      "xinetd",
      "haproxy",
      "rabbitmq-server",
      "etcd-server",
      "etcd-client",
      "memcached",
      "chrony",
      "rsyslog",
      "pacemaker",
      "pcs",
      "corosync",
      "resource-agents",
      "curl",
    ],
    // crudini: under the openstack-config wrapper, as on CentOS.
    every: ["chrony", "crudini"],
  },
};

/** Packages one node gets: its role's list, then the spec's extras, without repeats. */
export function packagesFor(cluster: Cluster, node: NodeSpec): string[] {
  const table = PACKAGES[cluster.os.id];
  const isController = node.roles.includes("controller");
  const base = isController ? [...table.controller, ...table.every] : [...table.every];
  // mariabackup SST needs the backup tool and socat on every Galera member.
  const sst = isController && cluster.spec.galera.sstMethod === "mariabackup" ? ["mariadb-backup", "socat"] : [];
  return [...new Set([...base, ...sst, ...cluster.spec.prepare.extraPackages])];
}

/**
 * OS preparation on every node (guide 四.3-4): SELinux and firewalld off, repositories, every
 * package later steps need, ha-gen's state directory, the system users ha-gen's services run as
 * (controllers: clustercheck, for xinetd). Fixes to the guide:
 * - EPEL from `rpm -Uvh https://dl.fedoraproject.org/...` (unpinned download) → the
 *   epel-release package from CentOS extras.
 * - openstack-utils installed from a CentOS 7 koji build URL (an EL7 package on EL8) → crudini,
 *   which it wraps, and /usr/local/bin/openstack-config, a small wrapper over it with the same
 *   --set/--get/--del command line, on every node.
 * - Packages installed one service at a time, mid-way through the guide → all up front, so the
 *   later steps only configure; skipped entirely when every package is already there.
 * - `sed s/SELINUX=enforcing/.../` missed `permissive` → any SELINUX= value becomes disabled.
 * - Repository ids `HighAvailability`/`PowerTools` are lower-case from CentOS 8.3 on → the id
 *   present in /etc/yum.repos.d is found case-insensitively.
 * - CentOS 8 is end-of-life and mirror.centos.org/mirrorlist.centos.org no longer serve it → every
 *   CentOS-*.repo (also those the release packages add) points at the vault or a site mirror.
 * - Hostnames are set by hand in the guide, or never → each node gets the spec's hostname
 *   (hostnamectl, only when it differs), verified to resolve to its management address.
 * - Debian: package scripts would start corosync, etcd, RabbitMQ with packaged defaults → a
 *   temporary policy-rc.d keeps them stopped; the files ha-gen pushed win over the packaged
 *   ones (--force-confold).
 */
export function prepare(cluster: Cluster): GeneratorOutput {
  const { spec, os } = cluster;
  const body = (node: NodeSpec): string => {
    // Before any file owned by them is pushed (deploy waits for owners until this step is done).
    const controller = node.roles.includes("controller");
    const users = controller ? [{ name: CLUSTERCHECK_OS_USER, comment: "Galera health check (ha-gen)" }] : [];
    return renderTemplate("prepare.sh", tpl, {
      os: os.id,
      stateDir: STATE_DIR,
      node: { name: node.hostname, address: node.addresses.management },
      disableSelinux: spec.prepare.disableSelinux,
      disableFirewalld: spec.prepare.disableFirewalld,
      centosMirror: spec.prepare.centosMirror === "as-installed" ? undefined : spec.prepare.centosMirror,
      packages: packagesFor(cluster, node),
      users,
      nologin: os.nologin,
      openstackConfig: OPENSTACK_CONFIG,
    });
  };
  const wrapper = renderTemplate("openstack-config.sh", openstackConfigTpl, { marker: MARKER });
  const wrappers = cluster.nodes.map((n) =>
    fileFor("prepare", n.hostname, { path: OPENSTACK_CONFIG, content: wrapper, mode: 0o755 }),
  );
  const step = stepScript({
    family: "prepare",
    id: "00-prepare",
    title: "OS preparation: hostname, SELinux, firewalld, repositories, packages",
    guideSection: "四.3-4 内核参数、selinux、iptables / 下载Train版的软件包",
    nodes: cluster.nodes,
    mode: "parallel",
    verifies: [
      "the hostname is the spec's and resolves to the management address",
      "every package of the node's role is installed",
      ...(os.id === "centos8" && spec.prepare.disableSelinux ? ["SELinux is not enforcing"] : []),
      ...(spec.prepare.disableFirewalld ? ["firewalld is not running"] : []),
      "openstack-config (over crudini) answers",
    ],
    body,
  });
  return merge({ artifacts: wrappers, steps: [] }, step);
}
