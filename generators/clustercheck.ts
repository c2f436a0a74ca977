import type { GeneratorOutput } from "../src/core/artifact.js";
import { fileFor } from "../src/core/artifact.js";
import type { Cluster } from "../src/core/model.js";
import { CLUSTERCHECK_OS_USER } from "../src/core/os.js";
import { cnf } from "../src/core/quote.js";
import type { NodeSpec } from "../src/core/spec/schema.js";
import { hashHeader, MARKER, merge, sameOn, stepScript } from "./common.js";
import { CLUSTERCHECK_CNF, galeraFunctions } from "./galera.js";
import { renderTemplate } from "../src/core/template.js";
import stepTpl from "./templates/clustercheck-step.sh.njk";
import scriptTpl from "./templates/clustercheck.sh.njk";
import xinetdTpl from "./templates/clustercheck-xinetd.njk";

/**
 * The Galera health check HAProxy asks on port 9200 (guide 五.3): a small clustercheck of our own,
 * run by xinetd. Fixes to the guide:
 * - ships /usr/local/bin/clustercheck instead of `wget`-ting an unpinned script from GitHub at
 *   install time and copying it into /usr/bin (a package-managed path), and keeps its password in
 *   a 0640 root:clustercheck option file instead of inside the script;
 * - xinetd runs it as the system user clustercheck (the guide: root; 00-prepare creates the
 *   user), whose group alone can read the credentials, bound to the node address and reachable
 *   from the management network only (the guide: every address, from anywhere);
 * - the /etc/services entry is one managed line, never duplicated (the guide hand-edits the file).
 */

export const FAMILY = "clustercheck";
export const CLUSTERCHECK_BIN = "/usr/local/bin/clustercheck";
export const XINETD_SERVICE = "/etc/xinetd.d/galera-monitor";

/** The line 23-clustercheck keeps in /etc/services. */
export function servicesLine(cluster: Cluster): string {
  return `galera-monitor ${cluster.spec.clustercheck.port}/tcp # ${MARKER} (Galera clustercheck)`;
}

/** The clustercheck account's option file (read by clustercheck with --defaults-extra-file). */
export function clustercheckCnf(cluster: Cluster): string {
  return (
    hashHeader(`MariaDB login of the Galera health check (${CLUSTERCHECK_BIN}, run as ${CLUSTERCHECK_OS_USER}).`) +
    [
      "[client]",
      `user = ${cnf(cluster.spec.clustercheck.user)}`,
      `password = ${cnf(cluster.secrets.clustercheck_pass)}`,
      `socket = ${cnf(cluster.os.mysqlSocket)}`,
    ].join("\n") +
    "\n"
  );
}

export function clustercheckScript(): string {
  // The client is `mysql` on both targets (Debian 12: a link to mariadb).
  return renderTemplate("clustercheck.sh", scriptTpl, {
    marker: MARKER,
    credentials: CLUSTERCHECK_CNF,
    client: "mysql",
  });
}

export function xinetdService(cluster: Cluster, node: NodeSpec): string {
  return renderTemplate("clustercheck-xinetd", xinetdTpl, {
    marker: MARKER,
    node: node.hostname,
    port: cluster.spec.clustercheck.port,
    address: node.addresses.management,
    user: CLUSTERCHECK_OS_USER,
    server: CLUSTERCHECK_BIN,
    network: cluster.management.cidr,
  });
}

export function clustercheck(cluster: Cluster): GeneratorOutput {
  const { controllers } = cluster;
  const port = cluster.spec.clustercheck.port;
  return merge(
    {
      artifacts: [
        ...sameOn(FAMILY, controllers, { path: CLUSTERCHECK_BIN, content: clustercheckScript(), mode: 0o755 }),
        ...sameOn(FAMILY, controllers, {
          path: CLUSTERCHECK_CNF,
          content: clustercheckCnf(cluster),
          mode: 0o640,
          group: CLUSTERCHECK_OS_USER,
          secret: true,
        }),
        ...controllers.map((n) =>
          fileFor(FAMILY, n.hostname, { path: XINETD_SERVICE, content: xinetdService(cluster, n) }),
        ),
      ],
      steps: [],
    },
    stepScript({
      family: FAMILY,
      id: "23-clustercheck",
      title: "Galera health check (clustercheck via xinetd)",
      guideSection: "五.3 设置心跳检测clustercheck",
      nodes: [...controllers.filter((c) => c !== cluster.writer), cluster.writer],
      // HAProxy takes a node whose check does not answer out of rotation: restart one at a time,
      // the writer (HAProxy's active server) last.
      mode: "rolling",
      verifies: [
        `clustercheck answers HTTP 200 on <node address>:${port}`,
        `wsrep_cluster_size is ${controllers.length} and wsrep_ready ON on every controller`,
      ],
      body: (n) =>
        renderTemplate("clustercheck-step.sh", stepTpl, {
          functions: galeraFunctions(cluster, n),
          servicesLine: servicesLine(cluster),
          xinetdService: XINETD_SERVICE,
          clustercheck: CLUSTERCHECK_BIN,
          address: n.addresses.management,
          port,
        }),
    }),
  );
}
