import { describe, expect, it } from "vitest";
import { SYNC_TRIES } from "../../generators/chrony.js";
import { scriptPath } from "../../generators/common.js";
import { osProfile } from "../../src/core/os.js";
import { renderCluster } from "../../src/render.js";
import { validateSpec } from "../../src/index.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";
import { EXAMPLES as SPECS, artifactAt, renderExample, type ExampleName } from "../helpers/examples.js";

/** Directive lines of a chrony.conf (comments dropped). */
const directives = (conf: string) => conf.split("\n").filter((l) => l && !l.startsWith("#"));

describe("chrony: one clock, every controller a source", () => {
  for (const name of ["train-ha", "lab"] as ExampleName[]) {
    const spec = SPECS[name];
    const os = osProfile(spec.os ?? "centos8");
    const r = renderExample(name);
    const controllers = spec.nodes.filter((n) => n.roles.includes("controller"));
    const upstream = spec.ntp?.upstream ?? [];

    it(`${name}: controllers follow the upstream servers and each other, in orphan mode`, () => {
      for (const c of controllers) {
        const d = directives(artifactAt(r, c.hostname, os.chronyConf).content);
        // The other controllers as servers (client mode): symmetric peers are slow to agree.
        const others = controllers.filter((o) => o !== c).map((o) => `server ${o.addresses.management} iburst`);
        expect(d.filter((l) => /^(server|peer|pool) /.test(l))).toEqual([
          ...upstream.map((u) => `server ${u} iburst`),
          ...others,
        ]);
        expect(d).toContain(`allow ${spec.networks.management.cidr}`);
        expect(d).toContain("local stratum 10 orphan");
      }
    });

    it(`${name}: every other node follows every controller, serves no one, has no local clock`, () => {
      for (const n of spec.nodes.filter((x) => !x.roles.includes("controller"))) {
        const d = directives(artifactAt(r, n.hostname, os.chronyConf).content);
        expect(d.filter((l) => /^(server|peer|pool) /.test(l))).toEqual(
          controllers.map((c) => `server ${c.addresses.management} iburst`),
        );
        expect(d.some((l) => /^(allow|local|peer) /.test(l))).toBe(false);
      }
    });

    it(`${name}: the step waits for synchronisation, bounded, and only controllers accept their own clock`, () => {
      const step = r.plan.steps.find((s) => s.id === "10-chrony")!;
      expect(step.nodes).toEqual(spec.nodes.map((n) => n.hostname));
      for (const n of spec.nodes) {
        const s = artifactAt(r, n.hostname, scriptPath("10-chrony")).content;
        expect(s).toContain(`SYNC_TRIES=${SYNC_TRIES}\n`);
        expect(s).toContain('chronyc waitsync "$SYNC_TRIES" 0 0 1');
        expect(s).toContain(`ORPHAN_OK=${n.roles.includes("controller") ? 1 : 0}\n`);
        expect(s).toMatch(/if ! wait_for_sync; then\n\s+chronyc -n sources >&2 \|\| true\n\s+die /);
      }
    });
  }

  it("ntp.server is no longer used: accepted with a warning, and it changes no file", () => {
    const spec = { ...SPECS["train-ha"], ntp: { upstream: ["ntp1.aliyun.com"], server: "compute02" } };
    const v = validateSpec(spec);
    expect(v.ok).toBe(true);
    expect(v.warnings.map((w) => `${w.path}: ${w.message}`)).toContain(
      "ntp.server: is no longer used: every controller serves time (remove the setting)",
    );
    const a = renderCluster(spec, FAKE_SECRETS).artifacts;
    expect(a).toEqual(renderExample("train-ha").artifacts);
  });
});
