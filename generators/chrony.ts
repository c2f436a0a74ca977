import { fileFor, type GeneratorOutput } from "../src/core/artifact.js";
import type { Cluster } from "../src/core/model.js";
import type { NodeSpec } from "../src/core/spec/schema.js";
import { renderTemplate } from "../src/core/template.js";
import { MARKER, merge, stepScript } from "./common.js";
import tpl from "./templates/chrony.conf.njk";
import stepTpl from "./templates/chrony-step.sh.njk";

/** Tries of `chronyc waitsync`, one second apart: how long the step waits for synchronisation. */
export const SYNC_TRIES = 60;

/**
 * chrony (guide 四.2). Fixes to the guide:
 * - one time server (controller01) that every other node follows: when it is down, nothing keeps
 *   the cluster on one clock → every controller serves time: the upstream servers plus the other
 *   controllers (as servers: symmetric `peer`s were measured to stay apart for over a minute) and
 *   `local stratum 10 orphan`, so they agree with each other when no upstream answers; every
 *   other node follows all controllers. `ntp.server` is no longer used.
 * - `allow 10.15.253.163/12` (a host address with a prefix) → the management network.
 * - the guide only looks at `chronyc sources` → the step waits for synchronisation (`chronyc
 *   waitsync`, bounded) and fails unless a source is selected (or, on a controller, orphan mode's
 *   local clock); where the unit is skipped (a container without CAP_SYS_TIME) it does not wait.
 */
export function chrony(cluster: Cluster): GeneratorOutput {
  const { os, spec, controllers } = cluster;
  const driftfile = os.id === "debian12" ? "/var/lib/chrony/chrony.drift" : "/var/lib/chrony/drift";
  // The packaged file's keyfile (NTP authentication keys), which the guide keeps by editing
  // chrony.conf in place.
  const keyfile = os.id === "debian12" ? "/etc/chrony/chrony.keys" : "/etc/chrony.keys";
  const host = (n: NodeSpec) => ({ name: n.hostname, address: n.addresses.management });
  const isController = (n: NodeSpec) => controllers.includes(n);
  const conf = (n: NodeSpec) =>
    renderTemplate("chrony.conf", tpl, {
      marker: MARKER,
      isController: isController(n),
      upstream: spec.ntp.upstream,
      peers: controllers.filter((c) => c !== n).map(host),
      servers: controllers.map(host),
      allow: cluster.management.cidr,
      driftfile,
      keyfile,
    });
  const artifacts = cluster.nodes.map((n) => fileFor("chrony", n.hostname, { path: os.chronyConf, content: conf(n) }));
  return merge(
    { artifacts, steps: [] },
    stepScript({
      family: "chrony",
      id: "10-chrony",
      title: "Time synchronisation (chrony)",
      guideSection: "四.2 设置时间同步",
      nodes: cluster.nodes,
      // The first start on every node at once (the controllers agree among themselves); a changed
      // chrony.conf restarts one node at a time, each synchronised again before the next.
      mode: "rolling",
      verifies: [
        "chronyd runs with the generated configuration and answers chronyc",
        `synchronised within ${SYNC_TRIES} s: a selected source, or on a controller its own clock in orphan mode`,
      ],
      body: (n) =>
        renderTemplate("chrony-step.sh", stepTpl, {
          service: os.chronyService,
          conf: os.chronyConf,
          tries: SYNC_TRIES,
          orphanOk: isController(n) ? 1 : 0,
          hasUpstream: isController(n) && spec.ntp.upstream.length > 0,
        }),
    }),
  );
}
