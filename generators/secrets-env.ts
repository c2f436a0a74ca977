import type { GeneratorOutput } from "../src/core/artifact.js";
import type { Cluster } from "../src/core/model.js";
import { SECRETS_ENV } from "../src/core/os.js";
import { sh } from "../src/core/quote.js";
import { secretEnvName, type SecretKey } from "../src/core/secrets.js";
import { hashHeader, sameOn } from "./common.js";

/**
 * The secrets the base layer's scripts use, and only those: the OpenStack service passwords stay in
 * the operator's secrets file until the services that use them are deployed.
 */
export const CONTROLLER_SECRETS: readonly SecretKey[] = [
  "clustercheck_pass",
  "hacluster_pass",
  "mariadb_root_pass",
  "rabbit_pass",
];

export function secretsEnv(cluster: Cluster): GeneratorOutput {
  const content =
    hashHeader("Secrets for the ha-gen step scripts on this node (root only).") +
    CONTROLLER_SECRETS.map((k) => `${secretEnvName(k)}=${sh(cluster.secrets[k])}`).join("\n") +
    "\n";
  return {
    artifacts: sameOn("secrets", cluster.controllers, { path: SECRETS_ENV, content, mode: 0o600, secret: true }),
    steps: [],
  };
}
