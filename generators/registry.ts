import type { GeneratorOutput } from "../src/artifact.js";
import type { Cluster } from "../src/model.js";
import { chrony } from "./chrony.js";
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
  { id: "chrony", generate: chrony },
  { id: "sysctl", generate: sysctl },
  // @prepare
  // @galera
  // @clustercheck
  // @rabbitmq
  // @memcached
  // @etcd
  // @rsyslog
  // @haproxy
  // @pacemaker
];
