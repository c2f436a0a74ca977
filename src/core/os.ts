import type { OsTarget } from "./spec/schema.js";

/** Everything that differs between the target operating systems: paths, users, service names, packages. */
export interface OsProfile {
  readonly id: OsTarget;
  readonly chronyConf: string;
  readonly chronyService: string;
  readonly galeraCnf: string;
  readonly galeraProvider: string;
  readonly mysqlSocket: string;
  readonly mysqlPidFile: string;
  /** `log-error` target; undefined leaves MariaDB's packaged default (journal on Debian). */
  readonly mysqlLogError: string | undefined;
  /** Where a login shell that refuses logins lives (system users ha-gen creates). */
  readonly nologin: string;
  /**
   * epmd's systemd socket units as the packages ship them, each given a drop-in that binds it to
   * the management address. Debian's erlang-base: epmd.socket on [::]:4369; Fedora's erlang (the
   * CentOS 8 OpenStack repositories) also has the template epmd@.socket its rabbitmq-server unit
   * pulls in as epmd@0.0.0.0.socket.
   */
  readonly epmdSocketUnits: readonly string[];
  /** Environment file of the pcsd unit (PCSD_BIND_ADDR). */
  readonly pcsdEnvFile: string;
  readonly memcachedConf: string;
  readonly memcachedUser: string;
  readonly etcdEnvFile: string;
  readonly etcdBinary: string;
  readonly rabbitmqUser: string;
  readonly packageManager: "dnf" | "apt";
}

const PROFILES: Record<OsTarget, OsProfile> = {
  centos8: {
    id: "centos8",
    chronyConf: "/etc/chrony.conf",
    chronyService: "chronyd",
    galeraCnf: "/etc/my.cnf.d/openstack.cnf",
    galeraProvider: "/usr/lib64/galera/libgalera_smm.so",
    mysqlSocket: "/var/lib/mysql/mysql.sock",
    mysqlPidFile: "/run/mariadb/mariadb.pid",
    mysqlLogError: "/var/log/mariadb/mariadb.log",
    nologin: "/usr/sbin/nologin",
    epmdSocketUnits: ["epmd.socket", "epmd@.socket"],
    pcsdEnvFile: "/etc/sysconfig/pcsd",
    memcachedConf: "/etc/sysconfig/memcached",
    memcachedUser: "memcached",
    etcdEnvFile: "/etc/etcd/etcd.conf",
    etcdBinary: "/usr/bin/etcd",
    rabbitmqUser: "rabbitmq",
    packageManager: "dnf",
  },
  debian12: {
    id: "debian12",
    chronyConf: "/etc/chrony/chrony.conf",
    chronyService: "chrony",
    // Sorts after 50-server.cnf, whose bind-address=127.0.0.1 it must override.
    galeraCnf: "/etc/mysql/mariadb.conf.d/60-galera.cnf",
    galeraProvider: "/usr/lib/galera/libgalera_smm.so",
    mysqlSocket: "/run/mysqld/mysqld.sock",
    mysqlPidFile: "/run/mysqld/mysqld.pid",
    mysqlLogError: undefined,
    nologin: "/usr/sbin/nologin",
    epmdSocketUnits: ["epmd.socket"],
    pcsdEnvFile: "/etc/default/pcsd",
    memcachedConf: "/etc/memcached.conf",
    memcachedUser: "memcache",
    etcdEnvFile: "/etc/default/etcd",
    etcdBinary: "/usr/bin/etcd",
    rabbitmqUser: "rabbitmq",
    packageManager: "apt",
  },
};

export function osProfile(id: OsTarget): OsProfile {
  return PROFILES[id];
}

/** Where ha-gen keeps its own files on every node. */
export const HA_GEN_DIR = "/etc/ha-gen";
/** Per-node file with the secrets that node's scripts need (0600 root). */
export const SECRETS_ENV = "/etc/ha-gen/secrets.env";
/** Step scripts and their shared library. */
export const SCRIPT_DIR = "/usr/local/lib/ha-gen";
export const SCRIPT_LIB = "/usr/local/lib/ha-gen/lib.sh";
/**
 * The system user xinetd runs clustercheck as; its group alone may read the clustercheck
 * credentials. Created by 00-prepare, before the credentials file is pushed with that group.
 */
export const CLUSTERCHECK_OS_USER = "clustercheck";
/** Galera group communication (fixed; validation reserves it). */
export const GALERA_PORT = 4567;
/** epmd, the Erlang port mapper RabbitMQ's nodes and CLI tools find each other through. */
export const EPMD_PORT = 4369;
/** RabbitMQ's Erlang distribution listener (clustering, CLI tools); fixed, validation reserves it. */
export const RABBITMQ_DIST_PORT = 25672;
/**
 * Seconds after a RabbitMQ start began past which a broker still booting is taken as hung and
 * restarted by the start step: RabbitMQ itself gives up waiting for its peers' tables after
 * 10 × 30 s (mnesia_table_loading_retry_limit × _timeout) and exits; 60 s margin on top.
 */
export const RABBITMQ_BOOT_HANG_S = 360;
/** pcsd, pcs's daemon (node authentication, cluster setup, web UI). */
export const PCSD_PORT = 2224;
/** Written by `pcs cluster setup`; the same path on every target. */
export const COROSYNC_CONF = "/etc/corosync/corosync.conf";
/** MariaDB's data directory on both targets (the packages' default, the Galera option file's datadir). */
export const MYSQL_DATADIR = "/var/lib/mysql";
/** HAProxy's chroot on both targets (the packages create it). */
export const HAPROXY_CHROOT = "/var/lib/haproxy";
/** HAProxy's stats socket (mode 600, level operator), inside its chroot. */
export const HAPROXY_STATS_SOCKET = `${HAPROXY_CHROOT}/stats`;
