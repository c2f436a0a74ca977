import type { GeneratorOutput } from "../src/core/artifact.js";
import type { Cluster } from "../src/core/model.js";
import { renderTemplate } from "../src/core/template.js";
import { hashHeader, merge, sameOn, stepScript } from "./common.js";
import stepTpl from "./templates/sysctl-step.sh.njk";

export const SYSCTL_FILE = "/etc/sysctl.d/60-ha-gen.conf";
export const MODULES_FILE = "/etc/modules-load.d/ha-gen.conf";

/**
 * Kernel parameters as a drop-in instead of appending to /etc/sysctl.conf (the guide's `echo >>`
 * duplicates lines on every rerun), and br_netfilter loaded at boot: without it the
 * net.bridge.* keys do not exist and `sysctl -p` fails.
 */
export function sysctl(cluster: Cluster): GeneratorOutput {
  const base = [
    "net.ipv4.ip_forward = 1",
    "net.bridge.bridge-nf-call-iptables = 1",
    "net.bridge.bridge-nf-call-ip6tables = 1",
  ];
  const common = `${hashHeader("Kernel parameters for the OpenStack HA base layer.") + base.join("\n")}\n`;
  const controller =
    hashHeader(
      "Kernel parameters for the OpenStack HA base layer.",
      "Controllers: HAProxy binds the VIP even while another node holds it.",
    ) +
    [...base, "net.ipv4.ip_nonlocal_bind = 1"].join("\n") +
    "\n";
  const others = cluster.nodes.filter((n) => !n.roles.includes("controller"));
  const modules = `${hashHeader(`Needed by the net.bridge.* keys in ${SYSCTL_FILE}`)}br_netfilter\n`;
  return merge(
    {
      artifacts: [
        ...sameOn("sysctl", cluster.controllers, { path: SYSCTL_FILE, content: controller }),
        ...sameOn("sysctl", others, { path: SYSCTL_FILE, content: common }),
        ...sameOn("sysctl", cluster.nodes, { path: MODULES_FILE, content: modules }),
      ],
      steps: [],
    },
    stepScript({
      family: "sysctl",
      id: "11-sysctl",
      title: "Kernel parameters (sysctl, br_netfilter)",
      guideSection: "四.3 内核参数",
      nodes: cluster.nodes,
      mode: "parallel",
      verifies: ["every key of the drop-in reads back with its configured value"],
      body: renderTemplate("sysctl-step.sh", stepTpl, { file: SYSCTL_FILE }),
    }),
  );
}
