import { beforeAll, describe, expect, it } from "vitest";
import { scriptPath } from "../../generators/common.js";
import { osProfile } from "../../src/core/os.js";
import { SCRIPT_LIB } from "../../src/core/os.js";
import { renderCluster } from "../../src/render.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";
import { requireTool, run, tempDir } from "../helpers/checker.js";
import { netlabAsync, parseSections, stageArtifacts } from "../helpers/etcd-netlab.js";
import { EXAMPLES, artifactAt, renderExample, type ExampleName } from "../helpers/examples.js";
import { changedLines, sandbox, STUB_STATE, SYSTEMCTL_STUB } from "../helpers/pacemaker-sandbox.js";

/**
 * chrony: every generated chrony.conf through chronyd's own parser, and the 10-chrony step run for
 * real in a sandboxed copy of this machine against a fake chronyc (a real chronyd would set this
 * machine's clock), to prove its wait: synchronised, not synchronised, orphan mode, a container.
 */

const STEP = scriptPath("10-chrony");

beforeAll(() => requireTool("chronyd", "chronyc", "bash", "shellcheck", "unshare", "nsenter", "chroot", "ip"));

describe("chrony.conf: chronyd -p parses every generated file", () => {
  for (const name of ["train-ha", "lab"] as ExampleName[]) {
    it(`${name}: every node's file is accepted, with every directive it holds`, () => {
      const r = renderExample(name);
      const os = osProfile(EXAMPLES[name].os ?? "centos8");
      const files = r.artifacts.filter((a) => a.path === os.chronyConf);
      expect(files).toHaveLength(EXAMPLES[name].nodes.length);
      const t = tempDir("ha-gen-chrony-");
      try {
        for (const a of files) {
          const f = t.write(`${a.node}.conf`, a.content);
          const p = run("chronyd", ["-p", "-f", f]);
          expect(p.status, `${a.node}: ${p.stderr}`).toBe(0);
          const wanted = a.content.split("\n").filter((l) => l && !l.startsWith("#"));
          expect(p.stdout.trim().split("\n"), a.node).toEqual(wanted);
        }
      } finally {
        t.cleanup();
      }
    });
  }

  it("broken sample: a misspelt option of local is rejected", () => {
    const a = artifactAt(renderExample("lab"), "controller01", "/etc/chrony/chrony.conf");
    const t = tempDir("ha-gen-chrony-");
    try {
      const f = t.write("broken.conf", a.content.replace("local stratum 10 orphan", "local stratum 10 orphn"));
      expect(run("chronyd", ["-p", "-f", f]).status).not.toBe(0);
    } finally {
      t.cleanup();
    }
  });
});

describe("10-chrony scripts: bash -n and shellcheck", () => {
  for (const name of ["train-ha", "lab"] as ExampleName[]) {
    it(`${name}: every node's step parses and is shellcheck-clean`, () => {
      for (const a of renderExample(name).artifacts.filter((x) => x.path === STEP)) {
        expect(run("bash", ["-n"], { input: a.content }).status, a.node).toBe(0);
        const sc = run("shellcheck", ["-s", "bash", "-"], { input: a.content });
        expect(sc.status, `${a.node}: ${sc.stdout}`).toBe(0);
      }
    });
  }
});

/**
 * A fake chronyc driven by files in STUB_STATE: `refid` (tracking's reference ID), `sources`
 * (what `chronyc -n sources` prints) and `synced` (waitsync succeeds when it exists). Calls are
 * logged to STUB_STATE/calls.
 */
const CHRONYC = `echo "chronyc $*" >> ${STUB_STATE}/calls
[[ "$1" == -n ]] && shift
case "$1" in
  tracking)
    printf 'Reference ID    : %s ()\\n' "$(cat ${STUB_STATE}/refid)"
    printf 'Stratum         : 3\\nLeap status     : Normal\\n' ;;
  sources)
    printf 'MS Name/IP address         Stratum Poll Reach LastRx Last sample\\n'
    printf '===============================================================================\\n'
    cat ${STUB_STATE}/sources ;;
  waitsync) [[ -e ${STUB_STATE}/synced ]] ;;
  *) echo "chronyc stub: unsupported $*" >&2; exit 1 ;;
esac`;
/** systemctl as the shared stub, but `show -p ConditionResult` reads STUB_STATE/condition (default yes). */
const SYSTEMCTL = SYSTEMCTL_STUB.replace(
  "show) echo yes ;;",
  `show) cat ${STUB_STATE}/condition 2>/dev/null || echo yes ;;`,
);

interface State {
  readonly refid: string;
  readonly sources: string;
  readonly synced: boolean;
  /** The unit's ConditionResult (no: skipped, as in a container). */
  readonly condition?: "yes" | "no";
}

async function runStep(name: ExampleName, node: string, s: State) {
  expect(SYSTEMCTL).not.toBe(SYSTEMCTL_STUB);
  const r = renderExample(name);
  const os = osProfile(EXAMPLES[name].os ?? "centos8");
  const pick = (path: string) => {
    const a = artifactAt(r, node, path);
    return { path: a.path, content: a.content, mode: a.mode };
  };
  const res = await sandbox({
    files: [pick(SCRIPT_LIB), pick(STEP), pick(os.chronyConf)],
    stubs: { systemctl: SYSTEMCTL, chronyc: CHRONYC },
    setup: [
      `printf '%s\\n' ${s.refid} > ${STUB_STATE}/refid`,
      `cat > ${STUB_STATE}/sources <<'SRC'\n${s.sources}\nSRC`,
      s.synced ? `touch ${STUB_STATE}/synced` : "",
      `echo ${s.condition ?? "yes"} > ${STUB_STATE}/condition`,
    ].join("\n"),
    script: STEP,
    runs: 1,
    inspect: `grep '^chronyc waitsync' ${STUB_STATE}/calls || true`,
  });
  return { run: res.runs[0]!, waitsync: res.inspect.trim() };
}

const CONTROLLER = "198.51.100.11";

describe.concurrent("10-chrony's wait, against a fake chronyc in a sandbox", () => {
  it("a synchronised node with a selected source passes after one waitsync of 60 tries x 1 s", async () => {
    const { run: r, waitsync } = await runStep("train-ha", "compute01", {
      refid: "0A0FFDA3",
      sources:
        "^* 10.15.253.163   3   6   377   12   +20us[ +25us] +/-  14ms\n" +
        "^+ 10.15.253.195   3   6   377   11   +31us[ +31us] +/-  15ms",
      synced: true,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(waitsync).toBe("chronyc waitsync 60 0 0 1");
    expect(r.stderr).toContain("chronyd is synchronised");
    expect(changedLines(r)).toContain("ha-gen:changed enabled chronyd");
  });

  it("a node that selects no source fails with the sources it saw", async () => {
    const { run: r } = await runStep("train-ha", "compute01", {
      refid: "00000000",
      sources: "^? 10.15.253.163   0   6     0     -     +0ns[   +0ns] +/-    0ns",
      synced: false,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("chronyd selected no time source within 60s (sources above)");
    expect(r.stderr).toContain("^? 10.15.253.163");
  });

  it("waitsync passing is not enough: no selected source (no ^* or =* line) fails", async () => {
    const { run: r } = await runStep("lab", "controller02", {
      refid: "C633640B",
      sources: "=+ 198.51.100.11  10   6   377   12   +20us[ +25us] +/-  14ms",
      synced: true,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("chronyd selected no time source");
  });

  it("a controller following another controller passes", async () => {
    const { run: r } = await runStep("lab", "controller02", {
      refid: "C633640B",
      sources: `^* ${CONTROLLER}  10   6   377   12   +20us[ +25us] +/-  14ms`,
      synced: true,
    });
    expect(r.status, r.stderr).toBe(0);
  });

  it("orphan mode: the controller left on its own clock (LOCAL, 7F7F0101) passes once the wait ran out", async () => {
    const { run: r, waitsync } = await runStep("lab", "controller01", {
      refid: "7F7F0101",
      sources: "=? 198.51.100.12  10   6   377   12   +20us[ +25us] +/-  14ms",
      synced: false,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(waitsync).toBe("chronyc waitsync 60 0 0 1");
    expect(r.stderr).toContain("this controller serves the cluster's time from its own clock (orphan mode)");
  });

  it("a non-controller never accepts its own clock (it has no local directive)", async () => {
    const { run: r } = await runStep("train-ha", "cephnode01", { refid: "7F7F0101", sources: "", synced: false });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("check that the controllers answer NTP (UDP 123) from this node");
  });

  it("a container, where chrony's unit is skipped (no CAP_SYS_TIME): no wait, the host keeps time", async () => {
    const { run: r, waitsync } = await runStep("lab", "controller03", {
      refid: "00000000",
      sources: "",
      synced: false,
      condition: "no",
    });
    expect(r.status, r.stderr).toBe(0);
    expect(waitsync).toBe("");
    expect(r.stderr).toContain(
      "chrony is skipped on this node (its unit conditions are not met, as in a container): the host keeps time",
    );
  });
});

/**
 * Real chronyd on every node of the lab plus a compute node, each in its own network namespace on
 * a private bridge (`chronyd -x`: it never touches this machine's clock), then the generated
 * 10-chrony step on each (systemctl stubbed: chronyd already runs). No upstream server: the
 * controllers must agree among themselves (orphan mode) and the compute node follow them.
 */
describe("10-chrony against real chronyd daemons (orphan mode, no upstream)", () => {
  it("every node's step passes: one controller serves its own clock, the others and compute01 follow", async () => {
    const spec = {
      ...EXAMPLES.lab,
      nodes: [
        ...EXAMPLES.lab.nodes,
        { hostname: "compute01", roles: ["compute" as const], addresses: { management: "198.51.100.21" } },
      ],
      safety: { allowUnsafeMemberCount: false },
    };
    const r = renderCluster(spec, FAKE_SECRETS);
    const t = tempDir("ha-gen-chrony-lab-");
    try {
      const nodes = spec.nodes.map((n) => ({
        name: n.hostname,
        addr: `${n.addresses.management}/24`,
        manifest: stageArtifacts(
          t.dir,
          n.hostname,
          r.artifacts.filter((a) => a.node === n.hostname && (a.family === "chrony" || a.family === "common")),
        ),
      }));
      const stub = t.write(
        "systemctl",
        '#!/bin/bash\n# chronyd already runs (started by the test)\ncase "$1" in show) echo yes ;; *) exit 0 ;; esac\n',
        0o755,
      );
      const script = [
        ...nodes.map(
          (n) =>
            `netlab_node ${n.name} ${n.addr} "netlab_root ${t.dir}/${n.name}-root && netlab_install ${n.manifest}` +
            ` && mount -t tmpfs none /run && install -m 0755 ${stub} /usr/local/sbin/systemctl` +
            ` && exec chronyd -x -d -f /etc/chrony/chrony.conf >${t.dir}/${n.name}.log 2>&1"`,
        ),
        "sleep 1",
        ...nodes.map(
          (n) =>
            `( netlab_exec ${n.name} bash ${STEP} >${t.dir}/${n.name}.step 2>&1; echo $? >${t.dir}/${n.name}.rc ) &`,
        ),
        "wait_steps() { local n; for n in " +
          nodes.map((n) => n.name).join(" ") +
          "; do until [[ -s " +
          t.dir +
          "/$n.rc ]]; do sleep 0.5; done; done; }",
        "wait_steps",
        ...nodes.map(
          (n) =>
            `echo "=== step ${n.name}"; cat ${t.dir}/${n.name}.step; echo "rc=$(cat ${t.dir}/${n.name}.rc)"\n` +
            `echo "=== tracking ${n.name}"; netlab_exec ${n.name} chronyc -n tracking |` +
            ` sed -n 's/^Reference ID *: \\([0-9A-F]*\\).*/\\1/p'\n` +
            `echo "=== sources ${n.name}"; netlab_exec ${n.name} chronyc -n sources | grep -E '^[=^#]'`,
        ),
      ].join("\n");
      const res = await netlabAsync(script, [], 200_000);
      const s = parseSections(res.stdout);
      const out = `${res.stdout}\n${res.stderr}`;
      for (const n of nodes) expect(s.get(`step ${n.name}`), out).toMatch(/rc=0$/);
      const controllers = ["controller01", "controller02", "controller03"];
      const leaders = controllers.filter((c) => s.get(`tracking ${c}`) === "7F7F0101");
      expect(leaders, out).toHaveLength(1);
      expect(s.get(`step ${leaders[0]}`)).toContain("serves the cluster's time from its own clock (orphan mode)");
      const leaderIp = spec.nodes.find((n) => n.hostname === leaders[0])!.addresses.management;
      for (const c of controllers.filter((x) => x !== leaders[0]))
        expect(s.get(`sources ${c}`), out).toContain(`^* ${leaderIp} `);
      expect(s.get("sources compute01"), out).toMatch(/^\^\* 198\.51\.100\.1[123] /m);
    } finally {
      t.cleanup();
    }
  }, 240_000);
});
