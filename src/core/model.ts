import { osProfile, type OsProfile } from "./os.js";
import type { Secrets } from "./secrets.js";
import type { ClusterSpec, NodeSpec } from "./spec/schema.js";
import { parseCidr, type Ipv4Net } from "./net.js";

/**
 * The resolved cluster every generator receives: the defaults-applied spec, its secrets, the OS
 * profile and the derived facts generators would otherwise each recompute.
 */
export interface Cluster {
  readonly spec: ClusterSpec;
  readonly secrets: Secrets;
  readonly os: OsProfile;
  readonly nodes: readonly NodeSpec[];
  /** Controllers in spec order; the first one bootstraps Galera, RabbitMQ and pacemaker. */
  readonly controllers: readonly NodeSpec[];
  /**
   * Galera's one writer: the active server of HAProxy's active/backup listeners (the others are
   * its backups), the node Galera bootstraps on, the last one restarted in a rolling restart and
   * the last state-transfer donor. Every generator takes it from here.
   */
  readonly writer: NodeSpec;
  /** @deprecated ntp.server's node (default: the first controller); unused, every controller serves time. */
  readonly ntpServer: NodeSpec;
  readonly management: Ipv4Net;
  readonly vip: { readonly address: string; readonly prefix: number };
}

/** Assumes a spec that passed validation. */
export function resolveCluster(spec: ClusterSpec, secrets: Secrets): Cluster {
  const controllers = spec.nodes.filter((n) => n.roles.includes("controller"));
  const management = parseCidr(spec.networks.management.cidr);
  const ntpName = spec.ntp.server ?? controllers[0]?.hostname;
  const ntpServer = spec.nodes.find((n) => n.hostname === ntpName);
  if (!ntpServer || controllers.length === 0) throw new Error("internal: resolveCluster called on an unvalidated spec");
  return {
    spec,
    secrets,
    os: osProfile(spec.os),
    nodes: spec.nodes,
    controllers,
    writer: controllers[0]!,
    ntpServer,
    management,
    vip: { address: spec.vip.address, prefix: spec.vip.prefix ?? management.prefix },
  };
}
