import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Artifact } from "../../src/core/artifact.js";
import { osProfile } from "../../src/core/os.js";
import { ETCD_UNIT } from "../../generators/etcd.js";
import { requireTool, run, tempDir } from "../helpers/checker.js";
import { labNodes, netlab, parseSections, shellcheckScripts, stageArtifacts } from "../helpers/etcd-netlab.js";
import { EXAMPLES, renderExample, type ExampleName } from "../helpers/examples.js";

/**
 * Real checks of the etcd family with Debian 12's etcd 3.4.23: each example's three members run
 * at once, each in its own network namespace holding its management address, configured only by
 * its generated environment file and started the way the generated unit says (EnvironmentFile=,
 * User=, WorkingDirectory=, ExecStart=). They must elect a leader and report healthy; the unit
 * passes systemd-analyze verify.
 */

beforeAll(() =>
  requireTool("unshare", "nsenter", "ip", "runuser", "ss", "etcd", "etcdctl", "systemd-analyze", "bash", "shellcheck"),
);

interface UnitExec {
  envFile: string;
  user: string;
  workDir: string;
  execStart: string;
}

/** The [Service] settings this check emulates, read from the generated unit. */
function unitExec(unit: string): UnitExec {
  const get = (key: string) => {
    const m = new RegExp(`^${key}=(.*)$`, "m").exec(unit);
    if (!m) throw new Error(`unit has no ${key}=`);
    return m[1]!;
  };
  return {
    envFile: get("EnvironmentFile"),
    user: get("User"),
    workDir: get("WorkingDirectory"),
    execStart: get("ExecStart"),
  };
}

/** Bash: start every member as its unit would, wait (bounded) for all to be healthy, then report. */
function clusterScript(
  r: ReturnType<typeof renderExample>,
  name: ExampleName,
  dir: string,
  files: (node: string) => Artifact[],
): string {
  const nodes = labNodes(EXAMPLES[name]);
  const endpoints = nodes.map((n) => `http://${n.ip}:2379`).join(",");
  const start = nodes
    .map((n) => {
      const unit = r.artifacts.find((a) => a.node === n.name && a.path === ETCD_UNIT)!;
      const u = unitExec(unit.content);
      const manifest = stageArtifacts(dir, n.name, files(n.name));
      // systemd reads EnvironmentFile= itself; the file is also valid for a shell (envValue),
      // which this check relies on.
      return (
        `netlab_node ${n.name} ${n.addr} "netlab_root ${dir}/${n.name}-root && netlab_install ${manifest} ` +
        `&& set -a && . ${u.envFile} && set +a && cd ${u.workDir} ` +
        `&& exec runuser -u ${u.user} -- ${u.execStart} >${dir}/${n.name}.log 2>&1"`
      );
    })
    .join("\n");
  const first = nodes[0]!.name;
  return (
    `${start}
start=$SECONDS
until netlab_exec ${first} env ETCDCTL_API=3 etcdctl --endpoints=${endpoints} --dial-timeout=1s --command-timeout=2s ` +
    `endpoint health >/dev/null 2>&1; do
  if (( SECONDS - start > 30 )); then echo "=== timeout"; break; fi
  sleep 0.2
done
echo "=== health"; netlab_exec ${nodes[1]!.name} env ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 ` +
    `--dial-timeout=2s endpoint health --cluster 2>&1 || echo HEALTH-FAILED
echo "=== members"; netlab_exec ${first} env ETCDCTL_API=3 etcdctl --endpoints=${endpoints} member list 2>&1
echo "=== status"; netlab_exec ${first} env ETCDCTL_API=3 etcdctl --endpoints=${endpoints} endpoint status -w json 2>&1
${nodes
  .map(
    (n) =>
      `echo "=== listen ${n.name}"; netlab_exec ${n.name} ss -Hltn | awk '{ print $4 }' | sort\n` +
      `echo "=== log ${n.name}"; cat ${dir}/${n.name}.log`,
  )
  .join("\n")}
`
  );
}

function etcdFiles(r: ReturnType<typeof renderExample>) {
  return (node: string) =>
    r.artifacts.filter(
      (a) => a.node === node && (a.family === "etcd" || a.family === "hosts") && !a.path.endsWith(".sh"),
    );
}

function expectHealthy(sec: Map<string, string>, r: ReturnType<typeof renderExample>, name: ExampleName) {
  const nodes = labNodes(EXAMPLES[name]);
  expect(sec.has("timeout"), sec.get(`log ${nodes[0]!.name}`)).toBe(false);
  expect(sec.get("health")).not.toContain("HEALTH-FAILED");
  for (const n of nodes) {
    expect(sec.get("health")).toContain(`http://${n.ip}:2379 is healthy`);
    const log = sec.get(`log ${n.name}`)!;
    expect(log).toContain("etcdserver: starting server");
    expect(log).not.toContain("unrecognized environment variable");
    expect(log).toContain(`recognized and used environment variable ETCD_NAME=${n.name}`);
    // Peers only on the management address (the guide: 0.0.0.0); clients there and on loopback.
    expect(sec.get(`listen ${n.name}`)!.split("\n")).toEqual([`${n.ip}:2379`, `${n.ip}:2380`, "127.0.0.1:2379"].sort());
  }
  const status = JSON.parse(sec.get("status")!) as {
    Status: { header: { member_id: number | string }; leader: number | string };
  }[];
  expect(status).toHaveLength(nodes.length);
  const leaders = new Set(status.map((s) => String(s.Status.leader)));
  expect(leaders.size).toBe(1);
  expect(status.map((s) => String(s.Status.header.member_id))).toContain([...leaders][0]);
  // The step script's own verification patterns match what etcdctl really prints.
  const script = r.artifacts.find((a) => a.node === nodes[0]!.name && a.path.endsWith("/41-etcd.sh"))!.content;
  const patterns = [...script.matchAll(/grep -Fq -- '([^']+)' <<<"\$members"/g)].map((m) => m[1]!);
  expect(patterns).toHaveLength(nodes.length);
  for (const p of patterns) expect(sec.get("members")).toContain(p);
}

describe("etcd members from the generated env files and unit form a healthy cluster (etcd 3.4.23)", () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir("ha-gen-etcd-");
  });
  afterAll(() => tmp.cleanup());

  for (const name of ["train-ha", "lab"] as const) {
    it(`${name}: three members elect a leader and every endpoint is healthy`, () => {
      const r = renderExample(name);
      const dir = `${tmp.dir}/${name}`;
      run("mkdir", ["-p", dir]);
      const res = netlab(clusterScript(r, name, dir, etcdFiles(r)), [], 120_000);
      expect(res.status, res.stderr).toBe(0);
      expectHealthy(parseSections(res.stdout), r, name);
    });
  }

  it("a misspelled variable in the env file is caught by the same check", () => {
    const r = renderExample("lab");
    const dir = `${tmp.dir}/broken`;
    run("mkdir", ["-p", dir]);
    const env = osProfile("debian12").etcdEnvFile;
    const files = (node: string) =>
      etcdFiles(r)(node).map((a) =>
        a.path === env
          ? { ...a, content: a.content.replace("ETCD_INITIAL_CLUSTER_TOKEN=", "ETCD_INITIAL_CLUSTR_TOKEN=") }
          : a,
      );
    const res = netlab(clusterScript(r, "lab", dir, files), [], 120_000);
    expect(res.status, res.stderr).toBe(0);
    const sec = parseSections(res.stdout);
    expect(() => expectHealthy(sec, r, "lab")).toThrow();
    expect(sec.get("log controller01")).toContain("unrecognized environment variable ETCD_INITIAL_CLUSTR_TOKEN");
  });
});

describe("etcd.service passes systemd-analyze verify", () => {
  const verify = (unit: string) => {
    const t = tempDir("ha-gen-etcd-unit-");
    try {
      const f = t.write("etcd.service", unit);
      return run("systemd-analyze", ["verify", "--man=no", "--recursive-errors=no", f]);
    } finally {
      t.cleanup();
    }
  };

  for (const name of ["train-ha", "lab"] as const) {
    it(name, () => {
      const units = renderExample(name).artifacts.filter((a) => a.path === ETCD_UNIT);
      expect(units).toHaveLength(3);
      for (const u of new Set(units.map((a) => a.content))) {
        const res = verify(u);
        expect(res.status, res.stderr).toBe(0);
        expect(res.stderr.trim(), res.stderr).toBe("");
      }
    });
  }

  it("rejects a broken sample", () => {
    const unit = renderExample("lab").artifacts.find((a) => a.path === ETCD_UNIT)!.content;
    const res = verify(unit.replace("Type=notify", "Type=notfy"));
    expect(res.status).not.toBe(0);
    expect(res.stderr).toContain("Failed to parse service type, ignoring: notfy");
  });
});

describe("etcd step script passes bash -n and shellcheck", () => {
  for (const name of ["train-ha", "lab"] as const) {
    it(name, () => {
      const scripts = renderExample(name).artifacts.filter((a) => a.family === "etcd" && a.path.endsWith(".sh"));
      expect(scripts).toHaveLength(3);
      expect(shellcheckScripts(scripts)).toEqual([]);
    });
  }

  it("shellcheck rejects a broken sample", () => {
    const script = renderExample("lab").artifacts.find((a) => a.path.endsWith("/41-etcd.sh"))!;
    expect(
      shellcheckScripts([
        { ...script, content: script.content.replace('"$data_dir" ]]', "$data_dir ]] && cd $data_dir") },
      ]),
    ).not.toEqual([]);
  });
});
