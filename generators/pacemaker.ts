import type { GeneratorOutput } from "../src/core/artifact.js";
import type { Cluster } from "../src/core/model.js";
import { COROSYNC_CONF, PCSD_PORT } from "../src/core/os.js";
import { UnquotableValueError } from "../src/core/quote.js";
import { merge, scriptPath, stepScript } from "./common.js";
import { haproxyCloneId } from "./haproxy.js";
import { renderTemplate } from "../src/core/template.js";
import clusterTpl from "./templates/pacemaker-cluster.sh.njk";
import pcsdTpl from "./templates/pacemaker-pcsd.sh.njk";
import resourcesTpl from "./templates/pacemaker-resources.sh.njk";

export const PCSD_STEP = "60-pcsd";
export const CLUSTER_STEP = "61-pacemaker-cluster";
export const RESOURCES_STEP = "62-pacemaker-resources";
/** Seconds pcs waits for the cluster to start; the lab measured ~50 s on 2 busy cores. */
const START_WAIT = 300;

/**
 * XPath 1.0 string literal: single or double quotes, or concat() when the value holds both
 * (XPath has no escape character).
 */
export function xpathLiteral(value: string): string {
  if (value.includes("\u0000")) throw new UnquotableValueError("an XPath literal", "contains NUL");
  if (!value.includes('"')) return `"${value}"`;
  if (!value.includes("'")) return `'${value}'`;
  return `concat(${value
    .split('"')
    .map((part) => `"${part}"`)
    .join(`, '"', `)})`;
}

/** `name=value` properties in spec order, with booleans as pacemaker writes them. */
export function clusterProperties(cluster: Cluster): string[] {
  return Object.entries(cluster.spec.pacemaker.properties).map(([k, v]) => `${k}=${String(v)}`);
}

/** Corosync gets a second knet link on the vlan network when every controller has an address there. */
export function secondLink(cluster: Cluster): boolean {
  return cluster.spec.networks.vlan !== undefined && cluster.controllers.every((c) => c.addresses.vlan !== undefined);
}

/** Constraint ids ha-gen owns (explicit, so reruns and reviews find them). */
export function constraintIds(cluster: Cluster): { colocation: string; order: string } {
  const { vipResource } = cluster.spec.pacemaker;
  const clone = haproxyCloneId(cluster);
  return { colocation: `colocation-${vipResource}-with-${clone}`, order: `order-${clone}-then-${vipResource}` };
}

function resourcesContext(cluster: Cluster) {
  const { spec } = cluster;
  const pm = spec.pacemaker;
  const L = xpathLiteral;
  const vip = pm.vipResource;
  const res = pm.haproxyResource;
  const clone = haproxyCloneId(cluster);
  const vipParams: [string, string][] = [
    ["ip", cluster.vip.address],
    ["cidr_netmask", String(cluster.vip.prefix)],
    ["nic", spec.networks.management.interface],
  ];
  const prim = (id: string) => `//primitive[@id=${L(id)}]`;
  const ids = constraintIds(cluster);
  return {
    scriptName: `${RESOURCES_STEP}.sh`,
    vip,
    vipAddress: cluster.vip.address,
    vipOptions: vipParams.map(([k, v]) => `${k}=${v}`),
    vipMonitor: `interval=${pm.vipMonitorInterval}`,
    haproxyMonitor: [`interval=${pm.haproxyMonitorInterval}`, `timeout=${pm.haproxyMonitorTimeout}`],
    haproxy: res,
    clone,
    controllers: cluster.controllers.map((c) => c.hostname),
    properties: clusterProperties(cluster),
    colocationId: ids.colocation,
    orderId: ids.order,
    x: {
      vip: prim(vip),
      vipAgent: `${prim(vip)}[@class="ocf"][@provider="heartbeat"][@type="IPaddr2"]`,
      vipWanted: [
        ...vipParams.map(([k, v]) => `${prim(vip)}/instance_attributes/nvpair[@name=${L(k)}][@value=${L(v)}]`),
        `${prim(vip)}/operations/op[@name="monitor"][@interval=${L(pm.vipMonitorInterval)}]`,
      ],
      haproxy: prim(res),
      haproxyAgent: `${prim(res)}[@class="systemd"][@type="haproxy"]`,
      // Exactly one monitor, with the wanted interval and timeout (pcs update replaces them all).
      haproxyMonitor:
        `${prim(res)}/operations[count(op[@name="monitor"]) = 1]/op[@name="monitor"]` +
        `[@interval=${L(pm.haproxyMonitorInterval)}][@timeout=${L(pm.haproxyMonitorTimeout)}]`,
      haproxyMonitors: `${prim(res)}/operations/op[@name="monitor"]`,
      haproxyCloned: `//clone[@id=${L(clone)}]/primitive[@id=${L(res)}]`,
      haproxyNested: `//*[self::group or self::clone or self::master or self::bundle]/primitive[@id=${L(res)}]`,
      colocation: `//rsc_colocation[@rsc=${L(vip)}][@with-rsc=${L(clone)}][@score="INFINITY"]`,
      anyColocation: `//rsc_colocation[@rsc=${L(vip)}][@with-rsc=${L(clone)}]`,
      reverseColocation: `//rsc_colocation[@rsc=${L(clone)}][@with-rsc=${L(vip)}]`,
      order:
        `//rsc_order[@first=${L(clone)}][@then=${L(vip)}][@kind="Optional"]` +
        `[not(@first-action) or @first-action="start"][not(@then-action) or @then-action="start"]`,
      anyOrder: `//rsc_order[@first=${L(clone)}][@then=${L(vip)}]`,
      reverseOrder: `//rsc_order[@first=${L(vip)}][@then=${L(clone)}]`,
    },
  };
}

/**
 * Pacemaker/corosync on the controllers via pcs (guide 八, 九.6), in three steps: pcsd on every
 * controller, the cluster created once from the first, then properties, VIP and HAProxy clone
 * applied idempotently on a shadow CIB. Fixes to the guide:
 * - `echo PW | passwd --stdin hacluster` and `pcs host auth ... -p PW` put the password on
 *   command lines → chpasswd and pcs read it on stdin; a rerun compares it with the stored hash.
 * - `pcs cluster setup` by name only (corosync binds whatever the names resolve to) → each node
 *   with `addr=<management address>`; an existing cluster is never re-created (setup destroys it).
 * - `cluster-recheck-interval=5` is five seconds, not the five minutes the text wants → `5min`
 *   (spec default).
 * - `no-quorum-policy=ignore` on three nodes lets a minority partition keep the VIP (split brain)
 *   → `stop` by default (spec; validation warns on ignore).
 * - VIP with `cidr_netmask=24` on the /12 management network and no `nic` → the VIP's prefix
 *   (defaults to the network's) and the management interface.
 * - `colocation add lb-haproxy-clone with vip` stops HAProxy on every node but the VIP's, against
 *   the guide's own intent of HAProxy running everywhere → `vip with lb-haproxy-clone`; the order
 *   becomes `start lb-haproxy-clone then vip` (Optional); the guide's reverse constraints are
 *   removed from an existing CIB.
 * - pcsd listened on every address (the guide opens its web UI on https://<node>:2224) → the
 *   management address and loopback (PCSD_BIND_ADDR in the packaged environment file, one
 *   managed line), verified with ss.
 * - The HAProxy clone kept pcs's default monitor for systemd agents (60s), so a dead HAProxy kept
 *   the VIP for up to a minute → `op monitor interval=5s timeout=20s` (spec), also set on an
 *   existing clone.
 * - one corosync ring on the management network → a second knet link on the vlan network when
 *   every controller has an address there (an existing cluster's links are left; a warning says so).
 * - Debian's packaged single-node corosync.conf blocks `pcs host auth`/`cluster setup` → removed
 *   with `pcs cluster destroy`, only when it names no other node than 127.0.0.1.
 */
export function pacemaker(cluster: Cluster): GeneratorOutput {
  const { spec } = cluster;
  const first = cluster.controllers[0]!;
  const pcsd = stepScript({
    family: "pacemaker",
    id: PCSD_STEP,
    // pcs and corosync know each node by its hostname: check it before any of them runs.
    requireHostname: true,
    title: "pcsd and the hacluster password on every controller",
    guideSection: "八.2.1-2.2 启动pcs服务 / 修改集群管理员hacluster密码",
    nodes: cluster.controllers,
    mode: "parallel",
    verifies: [
      "hacluster has the generated password",
      `pcsd is enabled and listens on port ${PCSD_PORT} of the management address and loopback, on no wildcard address`,
    ],
    body: (n) =>
      renderTemplate("pacemaker-pcsd.sh", pcsdTpl, {
        clusterName: spec.pacemaker.clusterName,
        address: n.addresses.management,
        corosyncConf: COROSYNC_CONF,
        pcsdEnvFile: cluster.os.pcsdEnvFile,
        bind: `${n.addresses.management},127.0.0.1`,
        port: PCSD_PORT,
      }),
  });
  const setup = stepScript({
    family: "pacemaker",
    id: CLUSTER_STEP,
    title: "Create the pacemaker cluster (once)",
    guideSection: "八.2.3-2.6 认证操作 / 创建并命名集群 / 集群启动",
    nodes: [first],
    mode: "serial",
    verifies: [
      "every controller is online in the cluster, in a partition with quorum",
      `corosync.conf's totem token is ${spec.pacemaker.corosync.token} ms and token_coefficient ` +
        `${spec.pacemaker.corosync.tokenCoefficient} ms (an existing cluster is updated and reloaded)`,
    ],
    guard: {
      kind: "pacemaker-cluster",
      nodes: cluster.controllers.map((c) => c.hostname),
      probe: { corosyncConf: COROSYNC_CONF },
    },
    body: renderTemplate("pacemaker-cluster.sh", clusterTpl, {
      scriptName: `${CLUSTER_STEP}.sh`,
      clusterName: spec.pacemaker.clusterName,
      corosyncConf: COROSYNC_CONF,
      controllers: cluster.controllers.map((c) => ({
        name: c.hostname,
        address: c.addresses.management,
        vlan: c.addresses.vlan,
      })),
      secondLink: secondLink(cluster),
      token: spec.pacemaker.corosync.token,
      tokenCoefficient: spec.pacemaker.corosync.tokenCoefficient,
      waitSeconds: START_WAIT,
    }),
  });
  const resources = stepScript({
    family: "pacemaker",
    id: RESOURCES_STEP,
    title: "Cluster properties, VIP and HAProxy clone",
    guideSection: "八.2.10 设置高可用属性 / 八.3 配置vip / 九.6 设置pcs资源",
    nodes: [first],
    mode: "serial",
    verifies: [
      "crm_verify -L accepts the live configuration",
      `${spec.pacemaker.vipResource} (${cluster.vip.address}) is started`,
      `${haproxyCloneId(cluster)} runs on every controller`,
    ],
    body: renderTemplate("pacemaker-resources.sh", resourcesTpl, resourcesContext(cluster)),
  });
  return merge(pcsd, setup, resources);
}

/** Where the resources script lands on the first controller (for reviews: `--cib FILE`). */
export const RESOURCES_SCRIPT = scriptPath(RESOURCES_STEP);
