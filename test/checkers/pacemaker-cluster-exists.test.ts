import { describe, expect, it } from "vitest";
import { scriptPath } from "../../generators/common.js";
import { CLUSTER_STEP } from "../../generators/pacemaker.js";
import { SCRIPT_LIB, SECRETS_ENV } from "../../src/core/os.js";
import { artifactAt, renderExample } from "../helpers/examples.js";
import { changedLines, sandbox, STUB_STATE } from "../helpers/pacemaker-sandbox.js";

/**
 * 61-pacemaker-cluster on a node whose cluster exists (deploy's guard then runs it with
 * HA_GEN_CLUSTER_EXISTS=1), in a sandboxed copy of this machine with pcs and crm_mon stubbed: a
 * cluster stopped everywhere is started; without a corosync.conf here, nothing is set up.
 */

const STEP = scriptPath(CLUSTER_STEP);
/** pcs logs its calls; `cluster start` brings the stubbed cluster up (crm_mon then answers). */
const PCS = `echo "pcs $*" >> ${STUB_STATE}/calls
[[ "$1 $2" == "cluster start" ]] && touch ${STUB_STATE}/running
exit 0`;
const CRM_MON = `[[ -e ${STUB_STATE}/running ]] || exit 102
printf 'Cluster Summary:\\n  * Current DC: controller01 - partition with quorum\\n'
printf 'Node List:\\n  * Online: [ controller01 controller02 controller03 ]\\n'`;

function files(withConf: boolean, token = "1000", coefficient: string | null = "0") {
  const r = renderExample("lab");
  const pick = (path: string) => {
    const a = artifactAt(r, "controller01", path);
    return { path: a.path, content: a.content, mode: a.mode };
  };
  const conf = [
    "totem {\n    cluster_name: openstack-cluster-01",
    `    token: ${token}`,
    ...(coefficient === null ? [] : [`    token_coefficient: ${coefficient}`]),
    "}\nnodelist {",
    ...["controller01", "controller02", "controller03"].map(
      (n, i) => `    node {\n        ring0_addr: 198.51.100.1${i + 1}\n        name: ${n}\n    }`,
    ),
    "}\n",
  ].join("\n");
  return [
    pick(SCRIPT_LIB),
    pick(SECRETS_ENV),
    pick(STEP),
    ...(withConf ? [{ path: "/etc/corosync/corosync.conf", content: conf }] : []),
  ];
}

describe.concurrent("61-pacemaker-cluster when deploy found the cluster (HA_GEN_CLUSTER_EXISTS=1)", () => {
  it("a cluster stopped everywhere is started with pcs cluster start --all, then verified", async () => {
    const res = await sandbox({
      files: files(true),
      stubs: { pcs: PCS, crm_mon: CRM_MON },
      env: { HA_GEN_CLUSTER_EXISTS: "1" },
      script: STEP,
      runs: 2,
      inspect: `cat ${STUB_STATE}/calls`,
    });
    const [first, second] = res.runs;
    expect(first!.status, first!.stderr).toBe(0);
    expect(changedLines(first!)).toEqual(["ha-gen:changed started cluster openstack-cluster-01"]);
    expect(second!.status, second!.stderr).toBe(0);
    expect(changedLines(second!)).toEqual([]);
    expect(res.inspect.trim().split("\n")).toEqual(["pcs cluster start --all --wait=300"]);
  });

  it.each([
    ["an old token", "3000", "3000"],
    ["the spec's token with corosync's default coefficient", "1000", "1000"],
  ])("%s: both are set through pcs cluster config update (corosync reloads them)", async (_, token, was) => {
    const res = await sandbox({
      files: files(true, token, null),
      stubs: { pcs: PCS, crm_mon: CRM_MON },
      setup: `touch ${STUB_STATE}/running`,
      env: { HA_GEN_CLUSTER_EXISTS: "1" },
      script: STEP,
      runs: 1,
      inspect: `cat ${STUB_STATE}/calls`,
    });
    expect(res.runs[0]!.status, res.runs[0]!.stderr).toBe(0);
    expect(changedLines(res.runs[0]!)).toEqual([
      `ha-gen:changed set corosync's token to 1000 ms and token_coefficient to 0 ms (was ${was} and the default)`,
    ]);
    expect(res.inspect.trim().split("\n")).toEqual(["pcs cluster config update totem token=1000 token_coefficient=0"]);
  });

  it("no corosync.conf on this node: refused, no pcs host auth or cluster setup", async () => {
    const res = await sandbox({
      files: files(false),
      stubs: { pcs: PCS, crm_mon: CRM_MON },
      // This machine's own corosync.conf (the sandbox's lower layer) is not this node's.
      setup: "rm -f /etc/corosync/corosync.conf",
      env: { HA_GEN_CLUSTER_EXISTS: "1" },
      script: STEP,
      runs: 1,
      inspect: `cat ${STUB_STATE}/calls 2>/dev/null || true`,
    });
    expect(res.runs[0]!.status).not.toBe(0);
    expect(res.runs[0]!.stderr).toContain("not creating a cluster (pcs cluster setup would wipe it)");
    expect(res.inspect.trim()).toBe("");
  });
});
