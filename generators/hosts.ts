import type { GeneratorOutput } from "../src/core/artifact.js";
import type { Cluster } from "../src/core/model.js";
import { word } from "../src/core/quote.js";
import { hashHeader, sameOn } from "./common.js";

/**
 * /etc/hosts, identical on every node, as a whole managed file: the guide appends with `cat >>`,
 * which duplicates every line on each rerun. No `127.0.1.1 <hostname>` line: it makes corosync,
 * RabbitMQ and Galera resolve the node's own name to loopback.
 */
export function hosts(cluster: Cluster): GeneratorOutput {
  const { spec } = cluster;
  const names = (h: string) =>
    spec.domain ? `${word(`${h}.${spec.domain}`, "/etc/hosts")} ${word(h, "/etc/hosts")}` : word(h, "/etc/hosts");
  const rows: [string, string][] = [
    ["127.0.0.1", "localhost localhost.localdomain"],
    ["::1", "localhost localhost.localdomain ip6-localhost ip6-loopback"],
  ];
  if (spec.vip.hostname) rows.push([spec.vip.address, names(spec.vip.hostname)]);
  for (const n of cluster.nodes) rows.push([n.addresses.management, names(n.hostname)]);
  const width = Math.max(...rows.map(([ip]) => ip.length)) + 1;
  const content =
    hashHeader("Cluster name resolution for every node, from the ha-gen spec.") +
    rows.map(([ip, n]) => `${ip.padEnd(width)}${n}`).join("\n") +
    "\n";
  return { artifacts: sameOn("hosts", cluster.nodes, { path: "/etc/hosts", content }), steps: [] };
}
