import { fileFor, type GeneratorOutput } from "../src/core/artifact.js";
import type { Cluster } from "../src/core/model.js";
import type { NodeSpec, OsTarget } from "../src/core/spec/schema.js";
import { MARKER, merge, stepScript } from "./common.js";
import { renderTemplate } from "../src/core/template.js";
import confTpl from "./templates/etcd.conf.njk";
import unitTpl from "./templates/etcd.service.njk";
import stepTpl from "./templates/etcd.sh.njk";

/** Our unit; a file in /etc/systemd/system takes precedence over the package's. */
export const ETCD_UNIT = "/etc/systemd/system/etcd.service";
/** The unit's second EnvironmentFile: `existing` while a member that lost its data rejoins. */
export const ETCD_STATE_ENV = "/var/lib/ha-gen/etcd-cluster-state.env";
/** In the data directory once the member was healthy: its absence means the data was lost. */
export const ETCD_MEMBER_MARK = ".ha-gen-member";
/** On the node once a member was marked there (so an older, unmarked member is never "repaired"). */
export const ETCD_MARKED_STATE = "/var/lib/ha-gen/etcd-member-marked";

interface EtcdOs {
  readonly vendorUnit: string;
  /** Data directory of the single-member etcd the package's install scripts start, if any. */
  readonly packageDataDir: string | undefined;
  /** Where etcdctl comes from when it is packaged separately. */
  readonly clientHint: string;
}

const ETCD_OS: Record<OsTarget, EtcdOs> = {
  centos8: { vendorUnit: "/usr/lib/systemd/system/etcd.service", packageDataDir: undefined, clientHint: "" },
  debian12: {
    vendorUnit: "/lib/systemd/system/etcd.service",
    packageDataDir: "/var/lib/etcd/default",
    clientHint: " (Debian: package etcd-client)",
  },
};

/**
 * etcd on every controller (guide 七.4-7), one static cluster. Differences from the guide:
 * - ETCD_LISTEN_PEER_URLS on the node's management address, not 0.0.0.0;
 * - the unit is /etc/systemd/system/etcd.service instead of an edit of the packaged unit, which the
 *   next package update overwrites;
 * - ExecStart runs etcd directly: it reads ETCD_* from the environment itself, and Go already sets
 *   GOMAXPROCS to the CPU count; the guide's `bash -c "GOMAXPROCS=$(nproc) ... --name=\"${...}\""`
 *   re-quotes every value through a second shell;
 * - members start with `systemctl start --no-block` on all controllers at once (Type=notify blocks
 *   until quorum), then the step waits for every member to be healthy; a changed configuration
 *   restarts one member at a time (rolling step), each only while every member is healthy;
 * - a member whose data directory was lost (it would panic with initial-cluster-state new) is
 *   removed, added again and started empty with initial-cluster-state existing;
 * - health is checked with the v3 API (`etcdctl endpoint health`); the guide's `cluster-health` is v2;
 * - Debian's package starts a single-member etcd in /var/lib/etcd/default: ha-gen's default data
 *   directory differs, and if the spec points at that one, data present before ha-gen's first start
 *   is moved aside (never deleted; nothing is touched once ha-gen has started the member).
 */
export function etcd(cluster: Cluster): GeneratorOutput {
  const { spec, os, controllers } = cluster;
  const e = spec.etcd;
  const family = "etcd";
  const eos = ETCD_OS[os.id];
  const peerUrl = (ip: string) => `http://${ip}:${e.peerPort}`;
  const clientUrl = (ip: string) => `http://${ip}:${e.clientPort}`;
  const initialCluster = controllers.map((n) => `${n.hostname}=${peerUrl(n.addresses.management)}`).join(",");
  const endpoints = controllers.map((n) => clientUrl(n.addresses.management)).join(",");

  const envFiles = controllers.map((n) => {
    const ip = n.addresses.management;
    return fileFor(family, n.hostname, {
      path: os.etcdEnvFile,
      content: renderTemplate("etcd.conf", confTpl, {
        marker: MARKER,
        name: n.hostname,
        dataDir: e.dataDir,
        listenPeer: peerUrl(ip),
        listenClient: `${clientUrl(ip)},${clientUrl("127.0.0.1")}`,
        advertisePeer: peerUrl(ip),
        advertiseClient: clientUrl(ip),
        initialCluster,
        token: e.token,
      }),
    });
  });
  const unit = renderTemplate("etcd.service", unitTpl, {
    marker: MARKER,
    vendorUnit: eos.vendorUnit,
    envFile: os.etcdEnvFile,
    stateEnv: ETCD_STATE_ENV,
    binary: os.etcdBinary,
  });
  const units = controllers.map((n) => fileFor(family, n.hostname, { path: ETCD_UNIT, content: unit }));

  const dataDir = e.dataDir.replace(/\/+$/, "");
  const body = (self: NodeSpec) =>
    renderTemplate("etcd.sh", stepTpl, {
      unit: ETCD_UNIT,
      envFile: os.etcdEnvFile,
      dataDir,
      packageDataDir: eos.packageDataDir !== undefined && eos.packageDataDir === dataDir,
      clientHint: eos.clientHint,
      endpoints,
      healthWhat: `every etcd member reports healthy (${endpoints})`,
      members: controllers.map((n) => ({ name: n.hostname, peer: peerUrl(n.addresses.management) })),
      memberMark: ETCD_MEMBER_MARK,
      markedState: ETCD_MARKED_STATE,
      stateEnv: ETCD_STATE_ENV,
      selfName: self.hostname,
      selfPeer: peerUrl(self.addresses.management),
      selfEndpoint: clientUrl(self.addresses.management),
      otherEndpoints: controllers
        .filter((n) => n !== self)
        .map((n) => clientUrl(n.addresses.management))
        .join(","),
    });
  return merge(
    { artifacts: [...envFiles, ...units], steps: [] },
    stepScript({
      family,
      id: "41-etcd",
      title: "etcd cluster on the controllers",
      guideSection: "七.4-7 Etcd",
      nodes: controllers,
      // The first start needs every member at once; a restart one member at a time keeps quorum.
      mode: "rolling",
      verifies: [
        "ETCDCTL_API=3 etcdctl endpoint health passes for every member's client URL",
        "restart pass: every member is healthy before this one restarts, and again after",
        "a member whose data directory was lost is removed, added again and joins with initial-cluster-state existing",
        "member list shows every controller started with its peer URL",
        "etcd.service is active",
      ],
      body,
    }),
  );
}
