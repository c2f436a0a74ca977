import { beforeAll, describe, expect, it } from "vitest";
import { CLUSTER_STEP, PCSD_STEP, RESOURCES_STEP } from "../../generators/pacemaker.js";
import { scriptPath } from "../../generators/common.js";
import { SCRIPT_LIB, SECRETS_ENV } from "../../src/core/os.js";
import { renderCluster } from "../../src/render.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";
import { changedLines, sandbox, STUB_STATE, SYSTEMCTL_STUB } from "../helpers/pacemaker-sandbox.js";
import { requireTool, run } from "../helpers/checker.js";
import { EXAMPLES as SPECS, artifactAt, renderExample, type ExampleName } from "../helpers/examples.js";
import {
  changes,
  crmVerifyOk,
  primitiveParams,
  runOffline,
  simulate,
  validateIpaddr2,
  type OfflineResult,
} from "../helpers/pacemaker-offline.js";

const EXAMPLES: ExampleName[] = ["train-ha", "lab"];

/** interval and timeout of every monitor op of the primitive `id` in a CIB. */
function monitorOps(cib: string, id: string): { interval?: string; timeout?: string }[] {
  const start = cib.indexOf(`<primitive id="${id}"`);
  const block = start < 0 ? "" : cib.slice(start, cib.indexOf("</primitive>", start));
  return [...block.matchAll(/<op [^>]*name="monitor"[^>]*>/g)].map(([op]) => ({
    interval: /interval="([^"]*)"/.exec(op)?.[1],
    timeout: /timeout="([^"]*)"/.exec(op)?.[1],
  }));
}

function inputs(name: ExampleName) {
  const r = renderExample(name);
  const first = r.plan.steps.find((s) => s.id === RESOURCES_STEP)!.nodes[0]!;
  const spec = SPECS[name];
  return {
    r,
    clusterName: spec.pacemaker?.clusterName ?? "openstack-cluster-01",
    libSh: artifactAt(r, first, SCRIPT_LIB).content,
    hosts: artifactAt(r, first, "/etc/hosts").content,
    resourcesScript: artifactAt(r, first, scriptPath(RESOURCES_STEP)).content,
    clusterScript: artifactAt(r, first, scriptPath(CLUSTER_STEP)).content,
    nodeAddress: spec.nodes.find((n) => n.hostname === first)!.addresses.management,
  };
}

/**
 * What the guide's own commands leave in the CIB: reverse colocation and order, /24 VIP without nic,
 * recheck 5 s, quorum ignored.
 */
function guideCib(vip: string): string {
  return (
    `<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="9" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="cib-bootstrap-options-pe-warn-series-max" name="pe-warn-series-max" value="1000"/>
        <nvpair id="cib-bootstrap-options-pe-input-series-max" name="pe-input-series-max" value="1000"/>
        <nvpair id="cib-bootstrap-options-pe-error-series-max" name="pe-error-series-max" value="1000"/>
        <nvpair id="cib-bootstrap-options-cluster-recheck-inte" name="cluster-recheck-interval" value="5"/>
        <nvpair id="cib-bootstrap-options-stonith-enabled" name="stonith-enabled" value="false"/>
        <nvpair id="cib-bootstrap-options-no-quorum-policy" name="no-quorum-policy" value="ignore"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources>
      <primitive id="vip" class="ocf" type="IPaddr2" provider="heartbeat">
        <instance_attributes id="vip-instance_attributes">
          <nvpair id="vip-instance_attributes-cidr_netmask" name="cidr_netmask" value="24"/>
          <nvpair id="vip-instance_attributes-ip" name="ip" value="${vip}"/>
        </instance_attributes>
        <operations>
          <op name="monitor" interval="30s" id="vip-monitor-interval-30s"/>
          <op name="start" interval="0s" timeout="20s" id="vip-start-interval-0s"/>
          <op name="stop" interval="0s" timeout="20s" id="vip-stop-interval-0s"/>
        </operations>
      </primitive>
      <clone id="lb-haproxy-clone">
        <primitive id="lb-haproxy" class="systemd" type="haproxy">
          <operations>
            <op name="monitor" interval="60s" id="lb-haproxy-monitor-interval-60s"/>
          </operations>
        </primitive>
      </clone>
    </resources>
    <constraints>
      <rsc_order first="vip" then="lb-haproxy-clone" kind="Optional" id="order-vip-lb-haproxy-clone-Optional" ` +
    `first-action="start" then-action="start"/>
      <rsc_colocation rsc="lb-haproxy-clone" with-rsc="vip" score="INFINITY" ` +
    `id="colocation-lb-haproxy-clone-vip-INFINITY"/>
    </constraints>
  </configuration>
  <status/>
</cib>
`
  );
}

type Inputs = ReturnType<typeof inputs>;
const runs = new Map<string, { i: Inputs; out: OfflineResult }>();

beforeAll(async () => {
  requireTool("unshare", "pcs", "cibadmin", "crm_verify", "crm_resource", "corosync", "bash", "shellcheck", "ip");
  // pcs costs about a CPU-second per call: the three independent runs overlap.
  const jobs: [string, Inputs, Promise<OfflineResult>][] = EXAMPLES.map((name) => {
    const i = inputs(name);
    return [name, i, runOffline({ ...i, rerun: true })];
  });
  const guide = inputs("train-ha");
  jobs.push([
    "guide",
    guide,
    runOffline({ ...guide, clusterScript: undefined, cib: guideCib("10.15.253.88"), rerun: true }),
  ]);
  for (const [key, i, p] of jobs) runs.set(key, { i, out: await p });
}, 300_000);

describe("pacemaker scripts against pcs, crm_verify and corosync (offline, isolated)", () => {
  for (const name of EXAMPLES) {
    it(`${name}: resources on a blank CIB pass crm_verify, and a rerun changes nothing`, () => {
      const { out } = runs.get(name)!;
      expect(out.resources.status, out.resources.stderr).toBe(0);
      expect(changes(out.resources).length).toBeGreaterThan(0);
      expect(crmVerifyOk(out.crmVerify), `${out.crmVerify?.stdout}${out.crmVerify?.stderr}`).toBe(true);
      // Idempotent: the second run on its own result changes nothing.
      expect(out.rerun?.status, out.rerun?.stderr).toBe(0);
      expect(changes(out.rerun)).toEqual([]);
      expect(out.cib).toMatch(
        new RegExp(
          '<rsc_colocation rsc="vip" with-rsc="lb-haproxy-clone" score="INFINITY" ' +
            String.raw`id="colocation-vip-with-lb-haproxy-clone"\/>`,
        ),
      );
      expect(out.cib).toMatch(/<rsc_order first="lb-haproxy-clone" then="vip" kind="Optional"/);
      expect(out.cib).toMatch(/name="cluster-recheck-interval" value="5min"/);
      expect(out.cib).toMatch(/name="no-quorum-policy" value="stop"/);
      // A dead HAProxy is noticed within seconds, not pcs's default minute.
      expect(monitorOps(out.cib, "lb-haproxy")).toEqual([{ interval: "5s", timeout: "20s" }]);
    });

    it(`${name}: pcs cluster setup accepts the generated arguments and corosync -t the result`, () => {
      const { i, out } = runs.get(name)!;
      expect(out.setup?.status, out.setup?.stderr).toBe(0);
      expect(out.corosyncConf).toContain(`cluster_name: ${i.clusterName}`);
      for (const n of SPECS[name].nodes.filter((x) => x.roles.includes("controller"))) {
        const ring0 = n.addresses.management.replaceAll(".", "\\.");
        const entry = `ring0_addr: ${ring0}\\s+(ring1_addr: \\S+\\s+)?name: ${n.hostname}\\s`;
        expect(out.corosyncConf).toMatch(new RegExp(entry));
        // With a vlan network (train-ha), knet's second link runs over it.
        const link1 = n.addresses.vlan ? `ring1_addr: ${n.addresses.vlan}\n` : "ring1_addr";
        if (n.addresses.vlan) expect(out.corosyncConf).toContain(link1);
        else expect(out.corosyncConf).not.toContain(link1);
      }
      // The spec's token (default 1000 ms, not corosync 3's 3000) and coefficient (0, not 650)
      // reach the totem section.
      expect(out.corosyncConf).toMatch(/^totem \{\n(\s+.*\n)*?\s+token: 1000\n/m);
      expect(out.corosyncConf).toMatch(/^totem \{\n(\s+.*\n)*?\s+token_coefficient: 0\n/m);
      expect(out.corosyncTest?.status, `${out.corosyncTest?.stdout}${out.corosyncTest?.stderr}`).toBe(0);
    });

    it(`${name}: the VIP's IPaddr2 parameters pass the agent's own validation; /33 does not`, async () => {
      const { i, out } = runs.get(name)!;
      const params = primitiveParams(out.cib, "vip");
      expect(Object.keys(params).sort()).toEqual(["cidr_netmask", "ip", "nic"]);
      const nodeCidr = `${i.nodeAddress}/${params.cidr_netmask!}`;
      const v = await validateIpaddr2(params, params.nic!, nodeCidr);
      expect(v.status, v.stdout + v.stderr).toBe(0);
      const bad = await validateIpaddr2({ ...params, cidr_netmask: "33" }, params.nic!, nodeCidr);
      expect(bad.status).not.toBe(0);
    });
  }

  it("train-ha: a CIB built by the guide's commands is repaired and then verifies", () => {
    const { out } = runs.get("guide")!;
    expect(out.resources.status, out.resources.stderr).toBe(0);
    const c = changes(out.resources).join("\n");
    expect(c).toContain("removed the guide's reverse colocation constraint colocation-lb-haproxy-clone-vip-INFINITY");
    expect(c).toContain("removed the guide's reverse order constraint order-vip-lb-haproxy-clone-Optional");
    expect(c).toContain("updated the parameters of vip");
    expect(c).toMatch(/set cluster properties .*cluster-recheck-interval=5min.*no-quorum-policy=stop/);
    expect(c).not.toContain("created resource");
    expect(out.cib).not.toContain('rsc="lb-haproxy-clone" with-rsc="vip"');
    expect(out.cib).not.toContain('first="vip" then="lb-haproxy-clone"');
    expect(primitiveParams(out.cib, "vip")).toEqual({ cidr_netmask: "12", ip: "10.15.253.88", nic: "ens192" });
    // The guide's clone monitored every 60s: replaced, not added beside it.
    expect(c).toContain("updated the monitor of lb-haproxy");
    expect(monitorOps(out.cib, "lb-haproxy")).toEqual([{ interval: "5s", timeout: "20s" }]);
    expect(crmVerifyOk(out.crmVerify), `${out.crmVerify?.stdout}${out.crmVerify?.stderr}`).toBe(true);
    expect(changes(out.rerun)).toEqual([]);
  });

  it("pacemaker's scheduler: ours runs HAProxy on every controller with the VIP on one; " +
    "the guide's runs HAProxy only beside the VIP", async () => {
    const nodes = ["controller01", "controller02", "controller03"];
    const ours = await simulate(runs.get("lab")!.out.cib, nodes, nodes, true, ["vip", "lb-haproxy-clone"]);
    expect(ours.result.status, ours.result.stderr).toBe(0);
    expect(ours.locate["lb-haproxy-clone"]!.sort()).toEqual(nodes);
    expect(ours.locate.vip).toHaveLength(1);
    const guide = await simulate(guideCib("198.51.100.10"), nodes, nodes, true, ["vip", "lb-haproxy-clone"]);
    expect(guide.result.status, guide.result.stderr).toBe(0);
    expect(guide.locate.vip).toHaveLength(1);
    expect(guide.locate["lb-haproxy-clone"]).toEqual(guide.locate.vip);
  }, 120_000);

  it("pacemaker's scheduler: a partition without quorum gives up the VIP with ours (stop); " +
    "the guide's (ignore) keeps it", async () => {
    const nodes = ["controller01", "controller02", "controller03"];
    const ours = await simulate(runs.get("lab")!.out.cib, nodes, ["controller01"], false, ["vip"]);
    expect(ours.result.status, ours.result.stderr).toBe(0);
    expect(ours.locate.vip).toEqual([]);
    const guide = await simulate(guideCib("198.51.100.10"), nodes, ["controller01"], false, ["vip"]);
    expect(guide.locate.vip).toEqual(["controller01"]);
  }, 120_000);

  it("broken sample: colocating the VIP with the primitive instead of its clone is rejected", async () => {
    const { i, out } = runs.get("lab")!;
    const broken = i.resourcesScript.replace(
      'colocation add "$vip" with "$clone"',
      'colocation add "$vip" with "$haproxy"',
    );
    expect(broken).not.toBe(i.resourcesScript);
    // Start from the good result without its constraints, so only the broken command runs.
    const cib = out.cib.replace(/<constraints>[\s\S]*<\/constraints>/, "<constraints/>");
    const bad = await runOffline({ ...i, resourcesScript: broken, clusterScript: undefined, cib });
    expect(bad.resources.status).not.toBe(0);
    expect(bad.resources.stderr).toMatch(/clone/i);
  }, 120_000);
});

describe("pacemaker step scripts: bash -n and shellcheck", () => {
  for (const name of EXAMPLES) {
    it(`${name}: every pacemaker script parses and is shellcheck-clean`, () => {
      const r = renderExample(name);
      const scripts = new Map<string, string>();
      for (const a of r.artifacts)
        if (a.family === "pacemaker" && a.path.endsWith(".sh")) scripts.set(a.content, `${a.node}:${a.path}`);
      expect(scripts.size).toBeGreaterThanOrEqual(3);
      for (const [content, where] of scripts) {
        const n = run("bash", ["-n"], { input: content });
        expect(n.status, `${where}: ${n.stderr}`).toBe(0);
        const sc = run("shellcheck", ["-s", "bash", "-"], { input: content });
        expect(sc.status, `${where}: ${sc.stdout}`).toBe(0);
      }
    });
  }
  it("broken sample: shellcheck rejects an unquoted expansion", () => {
    const r = renderExample("lab");
    const s = artifactAt(r, "controller01", scriptPath(PCSD_STEP)).content.replace(
      `printf 'hacluster:%s\\n' "$HACLUSTER_PASS"`,
      `printf 'hacluster:%s\\n' $HACLUSTER_PASS`,
    );
    expect(s).toContain("$HACLUSTER_PASS | chpasswd");
    const sc = run("shellcheck", ["-s", "bash", "-"], { input: s });
    expect(sc.status).not.toBe(0);
    expect(sc.stdout).toContain("SC2086");
  });
});

/**
 * The real pcsd, started by the systemctl stub's start hook with the environment file its unit
 * reads (a restart stops the previous one first); it runs for at most a minute.
 */
const PCSD_HOOK = `#!/bin/bash
# As systemctl restart does: the old pcsd is gone before the new one starts. It is killed outright
# (pcsd, then the timeout process that runs it): on a busy machine it sometimes sat on SIGTERM for 30 s.
old=$(cat ${STUB_STATE}/pcsd.pid 2>/dev/null)
if [[ -n "$old" ]] && kill -0 "$old" 2>/dev/null; then
  pkill -9 -P "$old" 2>/dev/null || true
  kill -9 "$old" 2>/dev/null || true
  for i in $(seq 1 300); do ss -Hltn "sport = :2224" | grep -q . || break; sleep 0.1; done
fi
( set -a; . /etc/default/pcsd; set +a; exec timeout 60 /usr/sbin/pcsd ) >>/var/log/pcsd-stub.log 2>&1 &
echo $! > ${STUB_STATE}/pcsd.pid
# pcsd (Ruby) may take tens of seconds to listen on a busy machine: wait up to 60 s.
for i in $(seq 1 600); do ss -Hltn "sport = :2224" | grep -q . && break; sleep 0.1; done`;
/** Where pcsd listens, one address a line, sorted. */
const PCSD_LISTENERS = `echo "listeners: $(ss -Hltn 'sport = :2224' | awk '{ print $4 }' | sort | paste -sd' ')"`;
const PCS_STUB = `echo "pcs $*" >> ${STUB_STATE}/calls
if [[ "$1 $2" == "cluster destroy" ]]; then rm -f /etc/corosync/corosync.conf; fi`;
/** Checks, in the sandbox, that hacluster's stored hash matches the password in secrets.env. */
const CHECK_PASSWORD = `. ${SECRETS_ENV}
{ getent shadow hacluster | cut -d: -f2; printf '%s\\n' "$HACLUSTER_PASS"; } | python3 -W ignore -c '
import crypt, sys
stored = sys.stdin.readline().rstrip("\\n"); pw = sys.stdin.readline().rstrip("\\n")
print("password ok" if crypt.crypt(pw, stored) == stored else "password WRONG")'
kill "$(cat ${STUB_STATE}/pcsd.pid 2>/dev/null)" 2>/dev/null || true`;

describe.concurrent("60-pcsd run for real in a sandboxed copy of this machine (systemctl, pcs stubbed)", () => {
  // Everything chpasswd must carry through: quotes, $, backslash, colon, space, non-ASCII.
  const password = "a'b\"c$d\\e:f g-é中";
  const r = renderCluster(SPECS.lab, { ...FAKE_SECRETS, hacluster_pass: password });
  const pick = (path: string) => {
    const a = artifactAt(r, "controller01", path);
    return { path: a.path, content: a.content, mode: a.mode };
  };
  // The node's hostname and /etc/hosts as 00-prepare leaves them (the step checks them first).
  const base = [pick(SCRIPT_LIB), pick(SECRETS_ENV), pick(scriptPath(PCSD_STEP)), pick("/etc/hosts")];
  const hostname = "echo controller01";
  const stubSetup = (corosync: string) => `printf '%s\\n' 198.51.100.11 > ${STUB_STATE}/address
cat > ${STUB_STATE}/on-start-pcsd <<'HOOK'
${PCSD_HOOK}
HOOK
chmod +x ${STUB_STATE}/on-start-pcsd
mkdir -p /etc/corosync
cat > /etc/corosync/corosync.conf <<'CONF'
${corosync}
CONF`;

  it(
    "debian12: sets the password (hostile characters included), " +
      "removes the packaged corosync.conf, starts pcsd; a rerun changes nothing",
    async () => {
      const packaged =
        "totem {\n\tversion: 2\n\tcluster_name: debian\n}\n" +
        "nodelist {\n\tnode {\n\t\tname: node1\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n}";
      const res = await sandbox({
        files: base,
        stubs: { systemctl: SYSTEMCTL_STUB, pcs: PCS_STUB, hostname },
        setup: stubSetup(packaged),
        script: scriptPath(PCSD_STEP),
        runs: 2,
        addresses: ["198.51.100.11"],
        inspect: [
          PCSD_LISTENERS,
          "grep PCSD_BIND_ADDR= /etc/default/pcsd",
          CHECK_PASSWORD,
          `cat ${STUB_STATE}/calls | grep '^pcs'`,
          '[[ -e /etc/corosync/corosync.conf ]] && echo "corosync.conf left" || echo "corosync.conf removed"',
        ].join("\n"),
      });
      const [first, second] = res.runs;
      expect(first!.status, first!.stderr).toBe(0);
      expect(changedLines(first!)).toEqual([
        "ha-gen:changed set the password of hacluster",
        "ha-gen:changed removed the packaged single-node corosync configuration (pcs cluster destroy)",
        'ha-gen:changed set PCSD_BIND_ADDR="198.51.100.11,127.0.0.1" in /etc/default/pcsd',
        "ha-gen:changed enabled pcsd",
        "ha-gen:changed started pcsd",
      ]);
      // The real pcsd, from the edited environment file: the management address and loopback only.
      expect(res.inspect).toContain("listeners: 127.0.0.1:2224 198.51.100.11:2224\n");
      // The packaged file's other lines stay; its commented example too.
      expect(res.inspect).toContain(`#PCSD_BIND_ADDR='::'\nPCSD_BIND_ADDR="198.51.100.11,127.0.0.1"\n`);
      expect(second!.status, second!.stderr).toBe(0);
      expect(changedLines(second!)).toEqual([]);
      expect(res.inspect).toContain("password ok");
      expect(res.inspect).toContain("corosync.conf removed");
      expect(res.inspect.split("\n").filter((l) => l.startsWith("pcs "))).toEqual(["pcs cluster destroy"]);
      // The password never reaches a log line.
      expect(first!.stdout + first!.stderr).not.toContain('b"c$d');
    },
  );

  it("a pcsd already on every address (as after the package's boot) moves to the management address", async () => {
    const res = await sandbox({
      files: base,
      stubs: { systemctl: SYSTEMCTL_STUB, pcs: PCS_STUB, hostname },
      setup: [
        stubSetup(""),
        "rm -f /etc/corosync/corosync.conf",
        `${STUB_STATE}/on-start-pcsd`,
        `mkdir -p ${STUB_STATE}/systemd`,
        `touch ${STUB_STATE}/systemd/pcsd.active ${STUB_STATE}/systemd/pcsd.enabled`,
        `${PCSD_LISTENERS} > ${STUB_STATE}/before`,
      ].join("\n"),
      script: scriptPath(PCSD_STEP),
      runs: 2,
      addresses: ["198.51.100.11"],
      inspect: `cat ${STUB_STATE}/before\n${PCSD_LISTENERS}\nkill "$(cat ${STUB_STATE}/pcsd.pid)"`,
    });
    const [first, second] = res.runs;
    expect(first!.status, first!.stderr).toBe(0);
    expect(changedLines(first!)).toContain("ha-gen:changed restarted pcsd (bind address changed)");
    expect(second!.status, second!.stderr).toBe(0);
    expect(changedLines(second!)).toEqual([]);
    const [before, after] = res.inspect.trim().split("\n");
    // Before: the packaged default, every address (the step's check would have failed on it).
    expect(before).toBe("listeners: 0.0.0.0:2224 [::]:2224");
    expect(after).toBe("listeners: 127.0.0.1:2224 198.51.100.11:2224");
  });

  it("a node of another cluster stops the step and keeps its corosync.conf", async () => {
    const foreign =
      "totem {\n\tcluster_name: payroll\n}\n" +
      "nodelist {\n\tnode {\n\t\tring0_addr: 10.1.1.1\n\t}\n\tnode {\n\t\tring0_addr: 10.1.1.2\n\t}\n}";
    const res = await sandbox({
      files: base,
      stubs: { systemctl: SYSTEMCTL_STUB, pcs: PCS_STUB, hostname },
      setup: stubSetup(foreign),
      script: scriptPath(PCSD_STEP),
      runs: 1,
      addresses: ["198.51.100.11"],
      inspect:
        `grep -c payroll /etc/corosync/corosync.conf; touch ${STUB_STATE}/calls; ` +
        `grep -c '^pcs' ${STUB_STATE}/calls || true`,
    });
    expect(res.runs[0]!.status).not.toBe(0);
    expect(res.runs[0]!.stderr).toContain("belongs to another corosync cluster");
    expect(res.inspect.split("\n").slice(0, 2)).toEqual(["1", "0"]);
  });
});

describe.concurrent(
  "62-pacemaker-resources in live mode, in a sandbox against a simulated cluster " +
    "(pcs cluster cib/cib-push stubbed)",
  () => {
    const nodes = ["controller01", "controller02", "controller03"];
    const LIVE = "/var/tmp/ha-gen-live-cib.xml";
    // The live cluster is a CIB file whose status crm_simulate fills in; a push re-runs the scheduler.
    const pcsStub = `case "$1 $2" in
  "cluster cib") cat "$LIVE_CIB" ;;
  "cluster cib-push")
    echo "pcs $*" >> ${STUB_STATE}/calls
    crm_simulate -x "$3" ${nodes.map((n) => `-u ${n}`).join(" ")} --quorum=true -S -O "$LIVE_CIB" >/dev/null ;;
  *) unset CIB_file; exec /usr/sbin/pcs "$@" ;;
esac`;
    const live = async (cib: string) => {
      const r = renderExample("lab");
      const pick = (path: string) => ({ path, content: artifactAt(r, "controller01", path).content, mode: 0o755 });
      return sandbox({
        files: [pick(SCRIPT_LIB), pick(scriptPath(RESOURCES_STEP)), { path: LIVE, content: cib }],
        stubs: { pcs: pcsStub },
        env: { CIB_file: LIVE, LIVE_CIB: LIVE },
        script: scriptPath(RESOURCES_STEP),
        runs: 1,
        inspect: `touch ${STUB_STATE}/calls; cat ${STUB_STATE}/calls`,
      });
    };

    it("a cluster already as specified: nothing pushed, nothing changed, verified", async () => {
      const sim = await simulate(runs.get("lab")!.out.cib, nodes, nodes, true, []);
      const res = await live(sim.cib);
      expect(res.runs[0]!.status, res.runs[0]!.stderr).toBe(0);
      expect(changedLines(res.runs[0]!)).toEqual([]);
      expect(res.inspect.trim()).toBe("");
      expect(res.runs[0]!.stderr).toMatch(/VIP 198\.51\.100\.10 is on controller0[123]/);
    }, 180_000);

    it("a cluster built by the guide: repaired on a shadow CIB, " +
      "pushed as a diff once, then HAProxy runs everywhere", async () => {
      const sim = await simulate(guideCib("198.51.100.10"), nodes, nodes, true, ["lb-haproxy-clone"]);
      expect(sim.locate["lb-haproxy-clone"]).toHaveLength(1);
      const res = await live(sim.cib);
      expect(res.runs[0]!.status, res.runs[0]!.stderr).toBe(0);
      expect(changedLines(res.runs[0]!)).toContain("ha-gen:changed pushed the changes to the cluster");
      expect(res.inspect.trim()).toMatch(/^pcs cluster cib-push \S+\/cib\.xml diff-against=\S+\/orig\.xml$/);
      expect(res.runs[0]!.stderr).toContain("ready after");
    }, 180_000);
  },
);
