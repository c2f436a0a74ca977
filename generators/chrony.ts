import { merge, sameOn, stepScript, MARKER } from "./common.js";
import type { GeneratorOutput } from "../src/core/artifact.js";
import type { Cluster } from "../src/core/model.js";
import { sh } from "../src/core/quote.js";
import { renderTemplate } from "../src/core/template.js";
import tpl from "./templates/chrony.conf.njk";

/**
 * chrony: one node (the first controller unless the spec says otherwise) follows the upstream
 * servers and serves the management network; every other node follows it. The guide's
 * `allow 10.15.253.163/12` is written as the management network (chronyd ignores host bits, so it
 * is the same network). The packaged keyfile and leapsectz lines stay, as in the guide's in-place
 * edit. The step waits for `chronyc tracking` and prints `chronyc sources` (the guide's check).
 */
export function chrony(cluster: Cluster): GeneratorOutput {
  const { os, spec, ntpServer } = cluster;
  const driftfile = os.id === "debian12" ? "/var/lib/chrony/chrony.drift" : "/var/lib/chrony/drift";
  // The packaged file's keyfile (NTP authentication keys) and leap-second table, which the guide
  // keeps by editing chrony.conf in place.
  const keyfile = os.id === "debian12" ? "/etc/chrony/chrony.keys" : "/etc/chrony.keys";
  const common = { marker: MARKER, driftfile, keyfile };
  const serverContext = { ...common, isServer: true, upstream: spec.ntp.upstream, allow: cluster.management.cidr };
  const server = renderTemplate("chrony.conf", tpl, serverContext);
  const client = renderTemplate("chrony.conf", tpl, { ...common, isServer: false, server: ntpServer.hostname });
  const clients = cluster.nodes.filter((n) => n !== ntpServer);
  const svc = sh(os.chronyService);
  const conf = sh(os.chronyConf);
  return merge(
    { artifacts: [...sameOn("chrony", [ntpServer], { path: os.chronyConf, content: server }), ...sameOn("chrony", clients, { path: os.chronyConf, content: client })], steps: [] },
    stepScript({
      family: "chrony",
      id: "10-chrony",
      title: "Time synchronisation (chrony)",
      guideSection: "四.2 设置时间同步",
      nodes: cluster.nodes,
      mode: "parallel",
      verifies: [
        "chronyd runs with the generated configuration and answers chronyc tracking",
        "chronyc sources is shown (the guide's check)",
      ],
      body: `ensure_enabled ${svc}
# chrony.service is skipped where the node may not set the clock (a container without
# CAP_SYS_TIME): the host's clock is then authoritative and there is nothing to run.
systemctl start ${svc} || true
if [[ "$(systemctl show -p ConditionResult --value ${svc})" == "no" ]]; then
  log "${os.chronyService} is skipped on this node (its unit conditions are not met); the host keeps time"
  exit 0
fi
restart_if_changed ${svc} chrony ${conf}
wait_until 30 "chronyd answers" chronyc -n tracking
# The guide's check: the sources and their state, for the deploy log.
chronyc -n sources >&2 || true
`,
    }),
  );
}
