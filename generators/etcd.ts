import { fileFor, type GeneratorOutput } from "../src/core/artifact.js";
import type { Cluster } from "../src/core/model.js";
import type { OsTarget } from "../src/core/spec/schema.js";
import { MARKER, merge, stepScript } from "./common.js";
import { renderTemplate } from "../src/core/template.js";
import confTpl from "./templates/etcd.conf.njk";
import unitTpl from "./templates/etcd.service.njk";
import stepTpl from "./templates/etcd.sh.njk";

/** Our unit; a file in /etc/systemd/system takes precedence over the package's. */
export const ETCD_UNIT = "/etc/systemd/system/etcd.service";

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
 *   until quorum), then the step waits for every member to be healthy;
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
    binary: os.etcdBinary,
  });
  const units = controllers.map((n) => fileFor(family, n.hostname, { path: ETCD_UNIT, content: unit }));

  const body = renderTemplate("etcd.sh", stepTpl, {
    unit: ETCD_UNIT,
    envFile: os.etcdEnvFile,
    dataDir: e.dataDir,
    packageDataDir: eos.packageDataDir !== undefined && eos.packageDataDir === e.dataDir.replace(/\/+$/, ""),
    clientHint: eos.clientHint,
    endpoints,
    healthWhat: `every etcd member reports healthy (${endpoints})`,
    members: controllers.map((n) => ({ name: n.hostname, peer: peerUrl(n.addresses.management) })),
  });
  return merge(
    { artifacts: [...envFiles, ...units], steps: [] },
    stepScript({
      family,
      id: "41-etcd",
      title: "etcd cluster on the controllers",
      guideSection: "七.4-7 Etcd",
      nodes: controllers,
      mode: "parallel",
      verifies: [
        "ETCDCTL_API=3 etcdctl endpoint health passes for every member's client URL",
        "member list shows every controller started with its peer URL",
        "etcd.service is active",
      ],
      body,
    }),
  );
}
