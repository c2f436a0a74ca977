import { describe, expect, it } from "vitest";
import { scriptPath } from "../../generators/common.js";
import { CLUSTER_STEP, PCSD_STEP, RESOURCES_STEP, xpathLiteral } from "../../generators/pacemaker.js";
import { UnquotableValueError } from "../../src/core/quote.js";
import { renderCluster, SpecError } from "../../src/index.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";
import { EXAMPLES as SPECS, artifactAt, renderExample } from "../helpers/examples.js";

describe("pacemaker steps", () => {
  for (const name of ["train-ha", "lab"] as const) {
    const r = renderExample(name);
    const ctl = SPECS[name].nodes.filter((n) => n.roles.includes("controller")).map((n) => n.hostname);
    const spec = SPECS[name];

    it(`${name}: pcsd bound to each controller's management address and loopback, in its OS's environment file`, () => {
      const envFile = name === "lab" ? "/etc/default/pcsd" : "/etc/sysconfig/pcsd";
      for (const n of spec.nodes.filter((x) => x.roles.includes("controller"))) {
        const s = artifactAt(r, n.hostname, scriptPath(PCSD_STEP)).content;
        expect(s).toContain(`pcsd_env=${envFile}\n`);
        expect(s).toContain(`bind_line='PCSD_BIND_ADDR="${n.addresses.management},127.0.0.1"'\n`);
        expect(s).toContain('wild=$(wildcard_listeners "$pcsd_port")');
        expect(s).toContain("systemctl restart pcsd");
      }
    });

    it(`${name}: pcsd on every controller in parallel, then cluster and resources on the first`, () => {
      const ids = r.plan.steps.map((s) => s.id);
      const at = (id: string) => r.plan.steps.find((s) => s.id === id)!;
      expect(ids.slice(-3)).toEqual([PCSD_STEP, CLUSTER_STEP, RESOURCES_STEP]);
      expect(at(PCSD_STEP).nodes).toEqual(ctl);
      expect(at(PCSD_STEP).mode).toBe("parallel");
      expect(at(CLUSTER_STEP).nodes).toEqual([ctl[0]]);
      expect(at(RESOURCES_STEP).nodes).toEqual([ctl[0]]);
      expect(r.artifacts.filter((a) => a.path === scriptPath(RESOURCES_STEP)).map((a) => a.node)).toEqual([ctl[0]]);
    });

    it(`${name}: passwords travel on stdin only and never sit in a script`, () => {
      for (const a of r.artifacts.filter((x) => x.family === "pacemaker")) {
        expect(a.content).not.toContain(FAKE_SECRETS.hacluster_pass);
        expect(a.content).not.toMatch(/passwd --stdin|\s-p\s+\S|--password/);
      }
      const pcsd = artifactAt(r, ctl[1]!, scriptPath(PCSD_STEP)).content;
      expect(pcsd).toContain(`printf 'hacluster:%s\\n' "$HACLUSTER_PASS" | chpasswd`);
      const setup = artifactAt(r, ctl[0]!, scriptPath(CLUSTER_STEP)).content;
      expect(setup).toContain(`printf '%s\\n' "$HACLUSTER_PASS" | pcs host auth "\${nodes[@]}" -u hacluster`);
    });

    it(`${name}: every controller joins with its management address; an existing cluster is never re-created`, () => {
      const s = artifactAt(r, ctl[0]!, scriptPath(CLUSTER_STEP)).content;
      const nodes = spec.nodes.filter((n) => n.roles.includes("controller"));
      expect(s).toContain(`controllers=( ${nodes.map((n) => n.hostname).join(" ")} )`);
      expect(s).toContain(`addresses=( ${nodes.map((n) => n.addresses.management).join(" ")} )`);
      expect(s).toContain("token=1000\ntoken_coefficient=0\n");
      expect(s).toContain('totem=(token="$token" token_coefficient="$token_coefficient")');
      expect(s).toContain(
        'pcs cluster setup "$cluster_name" "${nodes[@]}" totem "${totem[@]}" --start --enable --wait=300',
      );
      // An existing cluster gets a changed token through pcs (written everywhere, corosync reloaded).
      expect(s).toContain('pcs cluster config update totem "${totem[@]}" >&2');
      expect(s).toMatch(
        new RegExp(
          String.raw`if \[\[ -f "\$corosync_conf" && "\$\(conf_cluster_name\)` +
            String.raw`" == "\$cluster_name" \]\]; then\n\s+# Never re-create`,
        ),
      );
      expect(s).toContain("partition with quorum");
      // Every controller has a vlan address in train-ha: corosync's second knet link runs there.
      if (name === "train-ha") {
        expect(s).toContain(`link1_addresses=( ${nodes.map((n) => n.addresses.vlan).join(" ")} )`);
        expect(s).toContain('nodes+=("${controllers[$i]}" "addr=${addresses[$i]}" "addr=${link1_addresses[$i]}")');
      } else {
        expect(s).not.toContain("link1_addresses");
      }
    });

    it(`${name}: properties, VIP and clone as the spec says, VIP colocated with the clone`, () => {
      const s = artifactAt(r, ctl[0]!, scriptPath(RESOURCES_STEP)).content;
      expect(s).toContain(
        "properties=( pe-warn-series-max=1000 pe-input-series-max=1000 pe-error-series-max=1000 " +
          "cluster-recheck-interval=5min stonith-enabled=false no-quorum-policy=stop )",
      );
      const prefix = name === "lab" ? 24 : 12;
      const nic = spec.networks.management.interface;
      expect(s).toContain(
        `vip_agent_options=( ip=${spec.vip.address} cidr_netmask=${prefix} nic=${nic} op monitor interval=30s)`,
      );
      expect(s).toContain("haproxy_monitor=( interval=5s timeout=20s )");
      const create = 'pcs_f resource create "$haproxy" systemd:haproxy op monitor "${haproxy_monitor[@]}" clone';
      expect(s).toContain(`${create} "\${force[@]}"`);
      // An existing clone with another monitor (the guide's pcs default, 60s) gets this one instead.
      expect(s).toContain('pcs_f resource op remove "$id"');
      expect(s).toContain('pcs_f resource op add "$haproxy" monitor "${haproxy_monitor[@]}"');
      expect(s).toContain(
        'pcs_f constraint colocation add "$vip" with "$clone" INFINITY id=colocation-vip-with-lb-haproxy-clone',
      );
      expect(s).toContain(
        'pcs_f constraint order start "$clone" "then" "$vip" kind=Optional id=order-lb-haproxy-clone-then-vip',
      );
      expect(s).not.toMatch(/colocation add "\$clone" with "\$vip"/);
      expect(s).toContain('pcs cluster cib-push "$cib" diff-against="$work/orig.xml"');
      expect(s).toMatch(/if \(\( dirty \)\); then\n\s+pcs cluster cib-push/);
      expect(s).toContain("wait_until 180");
    });

    it(`${name}: Debian's packaged corosync.conf is removed only when it names nothing but 127.0.0.1`, () => {
      const s = artifactAt(r, ctl[0]!, scriptPath(PCSD_STEP)).content;
      expect(s).toMatch(/if \[\[ "\$addresses" == "127\.0\.0\.1" \]\]; then\n\s+pcs cluster destroy < \/dev\/null/);
      expect(s).toContain('die "this node belongs to another corosync cluster');
      expect(s).toContain('wait_until 60 "pcsd listens on ${address}:${pcsd_port}" tcp_open "$address" "$pcsd_port"');
    });
  }

  it("spec settings reach the scripts: names, properties, interval", () => {
    const spec = {
      ...SPECS.lab,
      pacemaker: {
        clusterName: "lab.ha_2",
        vipResource: "api_vip",
        haproxyResource: "lb",
        vipMonitorInterval: "10s",
        haproxyMonitorInterval: "3s",
        haproxyMonitorTimeout: "1min",
        properties: { "no-quorum-policy": "freeze" as const, "cluster-recheck-interval": "3min" },
      },
    };
    const r = renderCluster(spec, FAKE_SECRETS);
    const res = artifactAt(r, "controller01", scriptPath(RESOURCES_STEP)).content;
    expect(res).toContain("vip=api_vip\n");
    expect(res).toContain("clone=lb-clone\n");
    expect(res).toContain("cluster-recheck-interval=3min");
    expect(res).toContain("no-quorum-policy=freeze");
    expect(res).toContain("op monitor interval=10s)");
    expect(res).toContain("haproxy_monitor=( interval=3s timeout=1min )");
    expect(res).toContain(`[@interval="3s"][@timeout="1min"]`);
    expect(res).toContain("id=colocation-api_vip-with-lb-clone");
    expect(artifactAt(r, "controller02", scriptPath(PCSD_STEP)).content).toContain("cluster_name=lab.ha_2\n");
    expect(artifactAt(r, "controller01", scriptPath(CLUSTER_STEP)).content).toContain("cluster_name=lab.ha_2\n");
  });

  it("no second corosync link unless every controller has a vlan address", () => {
    type Spec = (typeof SPECS)["train-ha"] & { nodes: { addresses: { vlan?: string } }[] };
    const spec = structuredClone(SPECS["train-ha"]) as Spec;
    delete spec.nodes[1]!.addresses.vlan;
    const s = artifactAt(renderCluster(spec, FAKE_SECRETS), "controller01", scriptPath(CLUSTER_STEP)).content;
    expect(s).not.toContain("link1_addresses");
  });

  it("resource ids pcs would refuse, or that clash, are spec errors", () => {
    for (const pacemaker of [
      { vipResource: "1vip" },
      { haproxyResource: "lb haproxy" },
      { vipResource: "lb", haproxyResource: "lb" },
      { vipResource: "lb-clone", haproxyResource: "lb" },
    ]) {
      expect(() => renderCluster({ ...SPECS.lab, pacemaker }, FAKE_SECRETS)).toThrow(SpecError);
    }
  });
});

describe("xpathLiteral", () => {
  it("quotes with whichever quote the value lacks, concat() when it has both", () => {
    expect(xpathLiteral("vip")).toBe('"vip"');
    expect(xpathLiteral('a"b')).toBe(`'a"b'`);
    expect(xpathLiteral(`a'b"c`)).toBe(`concat("a'b", '"', "c")`);
    expect(xpathLiteral(`"`)).toBe(`'"'`);
    expect(xpathLiteral(`'"`)).toBe(`concat("'", '"', "")`);
    expect(xpathLiteral("")).toBe('""');
    expect(xpathLiteral("$x \\ 中\n")).toBe('"$x \\ 中\n"');
    expect(() => xpathLiteral("a\u0000b")).toThrow(UnquotableValueError);
  });
});
