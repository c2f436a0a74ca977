import type { GeneratorOutput } from "../src/core/artifact.js";
import type { Cluster } from "../src/core/model.js";
import { chrony } from "./chrony.js";
import { galera, galeraReplication } from "./galera.js";
import { clustercheck } from "./clustercheck.js";
import { haproxy } from "./haproxy.js";
import { pacemaker } from "./pacemaker.js";
import { prepare } from "./prepare.js";
import { rsyslog } from "./rsyslog.js";
import { etcd } from "./etcd.js";
import { memcached } from "./memcached.js";
import { rabbitmq } from "./rabbitmq.js";
import { libArtifacts } from "./common.js";
import { hosts } from "./hosts.js";
import { secretsEnv } from "./secrets-env.js";
import { sysctl } from "./sysctl.js";

export interface Generator {
  /** Artifact family id. */
  readonly id: string;
  readonly generate: (cluster: Cluster) => GeneratorOutput;
}

/**
 * Every generator, in rollout order: the plan runs the steps in the order they appear here, which
 * follows the seed guide (base environment, MariaDB/Galera, RabbitMQ, memcached, etcd, HAProxy,
 * pacemaker).
 */
export const GENERATORS: readonly Generator[] = [
  { id: "common", generate: (c) => ({ artifacts: libArtifacts(c), steps: [] }) },
  { id: "secrets", generate: secretsEnv },
  { id: "hosts", generate: hosts },
  // Packages first: every later step configures what this installs (chrony included).
  { id: "prepare", generate: prepare },
  { id: "chrony", generate: chrony },
  { id: "sysctl", generate: sysctl },
  { id: "galera", generate: galera },
  { id: "clustercheck", generate: clustercheck },
  // After clustercheck: every controller has joined and answers 200 before replication is proven.
  { id: "galera-replication", generate: galeraReplication },
  { id: "rabbitmq", generate: rabbitmq },
  { id: "memcached", generate: memcached },
  { id: "etcd", generate: etcd },
  { id: "rsyslog", generate: rsyslog },
  { id: "haproxy", generate: haproxy },
  { id: "pacemaker", generate: pacemaker },
];
