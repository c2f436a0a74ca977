import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Artifact } from "../../src/core/artifact.js";
import { renderCluster } from "../../src/render.js";
import { epmdDropIn, RABBITMQ_CONF, RABBITMQ_ENV_CONF, RABBITMQCTL } from "../../generators/rabbitmq.js";
import { requireTool, run, tempDir } from "../helpers/checker.js";
import { labNodes, netlabAsync, parseSections, shellcheckScripts, stageArtifacts } from "../helpers/etcd-netlab.js";
import { EXAMPLES, renderExample, type ExampleName } from "../helpers/examples.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";

/**
 * Real checks of the RabbitMQ family with Debian 12's RabbitMQ 3.10.8: every controller's
 * rabbitmq-env.conf, rabbitmq.conf, enabled_plugins and cookie, installed at their real paths in a
 * private node namespace, boot a real broker that listens where the spec says; for the lab example
 * the generated join and configure scripts then build a 3-node cluster, and a second run changes
 * nothing.
 */

const CTL = `runuser -u rabbitmq -- env HOME=/var/lib/rabbitmq ${RABBITMQCTL}`;
const FAMILIES = new Set(["rabbitmq", "hosts", "common", "secrets"]);

beforeAll(() =>
  requireTool(
    "unshare",
    "nsenter",
    "ip",
    "runuser",
    "ss",
    RABBITMQCTL,
    "/usr/lib/rabbitmq/bin/rabbitmq-server",
    "bash",
    "shellcheck",
  ),
);

/** Bash that boots one broker per controller from its installed artifacts, waits for each, and reports. */
function bootScript(nodes: { name: string; addr: string; manifest: string }[], dir: string): string {
  const start = nodes
    .map(
      (n) =>
        `netlab_node ${n.name} ${n.addr} "netlab_root ${dir}/${n.name}-root && netlab_install ${n.manifest} ` +
        `&& touch /etc/.netlab-installed && cd /var/lib/rabbitmq && exec runuser -u rabbitmq -- ` +
        `env HOME=/var/lib/rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server >${dir}/${n.name}.log 2>&1"`,
    )
    .join("\n");
  const wait = nodes
    .map(
      (n) => `start=$SECONDS
# The CLI only once the node's files are in place: run before rabbitmq-env.conf, it would start
# an epmd of its own without ERL_EPMD_ADDRESS.
until netlab_exec ${n.name} test -e /etc/.netlab-installed; do sleep 0.05; done
until netlab_exec ${n.name} ${CTL} -q -t 10 await_startup >/dev/null 2>&1; do
  if ! netlab_alive ${n.name}; then echo "=== boot-failed ${n.name}"; tail -n 300 ${dir}/${n.name}.log; exit 3; fi
  if (( SECONDS - start > 150 )); then echo "=== boot-timeout ${n.name}"; tail -n 300 ${dir}/${n.name}.log; exit 4; fi
  sleep 0.5
done
echo "=== env ${n.name}"; netlab_exec ${n.name} ${CTL} -q environment
echo "=== listen ${n.name}"; netlab_exec ${n.name} ss -Hltn | awk '{ print $4 }' | sort
echo "=== status ${n.name}"; netlab_exec ${n.name} ${CTL} -q -s status --formatter json`,
    )
    .join("\n");
  return `${start}\n${wait}\n`;
}

function stageExample(r: ReturnType<typeof renderExample>, name: ExampleName, dir: string) {
  return labNodes(EXAMPLES[name]).map((n) => ({
    ...n,
    manifest: stageArtifacts(
      dir,
      n.name,
      r.artifacts.filter((a) => a.node === n.name && FAMILIES.has(a.family)),
    ),
  }));
}

function expectBooted(sections: Map<string, string>, r: ReturnType<typeof renderExample>, name: ExampleName): void {
  const spec = EXAMPLES[name];
  for (const n of labNodes(spec)) {
    const env = sections.get(`env ${n.name}`);
    expect(env, `${n.name} booted (${[...sections.keys()].join(", ")})`).toBeDefined();
    expect(env).toContain(`{tcp_listeners,[{"${n.ip}",5672}]}`);
    expect(env).toContain("{cluster_partition_handling,pause_minority}");
    const listen = sections.get(`listen ${n.name}`)!.split("\n");
    expect(listen).toContain(`${n.ip}:5672`);
    expect(listen).toContain(`${n.ip}:15672`);
    expect(listen.filter((l) => /^(0\.0\.0\.0|\[::\]|\*):(5672|15672)$/.test(l))).toEqual([]);
    // epmd and the Erlang distribution: on the management address (epmd also on loopback), never
    // on a wildcard address.
    expect(listen, JSON.stringify(listen)).toContain(`${n.ip}:4369`);
    expect(listen).toContain(`${n.ip}:25672`);
    const epmd = listen.filter((l) => l.endsWith(":4369")).sort();
    expect(epmd).toEqual([`${n.ip}:4369`, "127.0.0.1:4369", "[::1]:4369"].sort());
    expect(listen.filter((l) => l.endsWith(":25672"))).toEqual([`${n.ip}:25672`]);
    const status = JSON.parse(sections.get(`status ${n.name}`)!) as {
      active_plugins: string[];
      data_directory: string;
    };
    expect(status.active_plugins).toContain("rabbitmq_management");
    // NODENAME from rabbitmq-env.conf: the node is rabbit@<host>, also for the CLI.
    expect(status.data_directory).toBe(`/var/lib/rabbitmq/mnesia/rabbit@${n.name}`);
    expect(r.artifacts.find((a) => a.node === n.name && a.path === RABBITMQ_CONF)).toBeDefined();
  }
}

describe("RabbitMQ artifacts boot real brokers (RabbitMQ 3.10.8)", () => {
  // One directory per test: the tests run concurrently and their nodes share hostnames.
  const dirs: ReturnType<typeof tempDir>[] = [];
  const newDir = () => {
    const d = tempDir("ha-gen-rabbitmq-");
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) d.cleanup();
  });

  it.concurrent("train-ha: every controller's configuration boots a broker " +
    "listening on its management address", async () => {
    const tmp = newDir();
    const r = renderExample("train-ha");
    const nodes = stageExample(r, "train-ha", tmp.dir);
    const res = await netlabAsync(bootScript(nodes, tmp.dir));
    const sections = parseSections(res.stdout);
    expect(res.status, res.stdout.slice(-3000) + res.stderr.slice(-2000)).toBe(0);
    expectBooted(sections, r, "train-ha");
  }, 300_000);

  it.concurrent("lab: brokers boot, the generated join and configure scripts build the cluster, " +
    "a rerun changes nothing", async () => {
    const tmp = newDir();
    const r = renderExample("lab");
    const nodes = stageExample(r, "lab", tmp.dir);
    // A policy RabbitMQ refuses: the same configure script must then fail.
    const broken = structuredClone(EXAMPLES.lab) as Record<string, unknown>;
    broken.rabbitmq = { policy: { definition: { "ha-mode": "everywhere" } } };
    const brokenScript = renderCluster(broken, FAKE_SECRETS).artifacts.find(
      (a: Artifact) => a.node === "controller01" && a.path.endsWith("/32-rabbitmq-configure.sh"),
    )!;
    writeFileSync(join(tmp.dir, "32-broken.sh"), brokenScript.content);
    const s = "/usr/local/lib/ha-gen";
    const steps =
      `
for pass in 1 2; do
  for n in controller02 controller03 controller01; do
    echo "=== join$pass $n"; netlab_exec $n bash ${s}/31-rabbitmq-join.sh 2>&1 || { echo "=== join-failed $n"; exit 5; }
  done
  echo "=== configure$pass"; netlab_exec controller01 bash ${s}/32-rabbitmq-configure.sh 2>&1 ` +
      `|| { echo "=== configure-failed"; exit 6; }
done
echo "=== cluster"; netlab_exec controller03 ${CTL} -q -s cluster_status --formatter json
echo "=== policies"; netlab_exec controller02 ${CTL} -q -s list_policies -p /
echo "=== users"; netlab_exec controller02 ${CTL} -q -s list_users
echo "=== auth"; printf '%s\\n' "$1" | netlab_exec controller03 ${CTL} -q authenticate_user openstack ` +
      `2>&1 && echo AUTH-OK
echo "=== broken"; rc=0; netlab_exec controller01 bash ${tmp.dir}/32-broken.sh 2>&1 || rc=$?; echo "rc=$rc"
# The restart pass's health wait of 30-rabbitmq-start, against the real cluster.
fns=${tmp.dir}/back-in-cluster.sh
netlab_exec controller01 cat ${s}/30-rabbitmq-start.sh |
  sed -n '/^rmq() {/,/^}/p; /^cluster_json() {/p; /^back_in_cluster() {/,/^}/p' > "$fns"
echo "=== back"
all3="rabbit@controller01 rabbit@controller02 rabbit@controller03"
netlab_exec controller02 bash -c ". $fns; back_in_cluster $all3 && echo BACK"
netlab_exec controller02 bash -c ". $fns; back_in_cluster rabbit@controller01 rabbit@nowhere || echo NOT-BACK"
# Lost data: a broker reset without telling its peers (force_reset), which still list it; then
# the join step in plan order. First controller02 (seed: the first controller), then controller01
# (seed: controller02).
for lost in controller02 controller01; do
  netlab_exec $lost ${CTL} -q stop_app
  netlab_exec $lost ${CTL} -q force_reset
  netlab_exec $lost ${CTL} -q start_app
  for n in controller02 controller03 controller01; do
    echo "=== rejoin-$lost $n"
    netlab_exec $n bash ${s}/31-rabbitmq-join.sh 2>&1 || { echo "=== rejoin-failed $lost $n"; exit 7; }
  done
  echo "=== cluster-after-$lost"; netlab_exec controller03 ${CTL} -q -s cluster_status --formatter json 2>&1
done
`;
    // The rejoin drills double the work: a loaded 2-core machine needs the room.
    const res = await netlabAsync(bootScript(nodes, tmp.dir) + steps, [FAKE_SECRETS.rabbit_pass], 560_000);
    const sec = parseSections(res.stdout);
    expect(res.status, res.stdout.slice(-4000) + res.stderr.slice(-2000)).toBe(0);
    expectBooted(sec, r, "lab");

    expect(sec.get("join1 controller02")).toContain(
      "ha-gen:changed joined rabbit@controller02 to the RabbitMQ cluster of rabbit@controller01 as a disc node",
    );
    expect(sec.get("join1 controller03")).toContain("ha-gen:changed joined rabbit@controller03");
    const configure1 = sec.get("configure1")!;
    expect(configure1).toContain("ha-gen:changed created RabbitMQ user openstack");
    expect(configure1).toContain("ha-gen:changed deleted RabbitMQ's default guest user");
    expect(
      sec
        .get("users")!
        .split("\n")
        .map((l) => l.split("\t")[0]),
    ).toEqual(["openstack"]);
    expect(configure1).toContain("ha-gen:changed set RabbitMQ policy ha-all on vhost /");
    expect(configure1).not.toContain(FAKE_SECRETS.rabbit_pass);
    for (const key of ["join2 controller02", "join2 controller03", "join2 controller01", "configure2"]) {
      expect(sec.get(key), key).toBeDefined();
      expect(sec.get(key), key).not.toContain("ha-gen:changed");
    }

    const cluster = JSON.parse(sec.get("cluster")!) as {
      disk_nodes: string[];
      ram_nodes: string[];
      running_nodes: string[];
    };
    const all = ["rabbit@controller01", "rabbit@controller02", "rabbit@controller03"];
    expect([...cluster.disk_nodes].sort()).toEqual(all);
    expect(cluster.ram_nodes).toEqual([]);
    expect([...cluster.running_nodes].sort()).toEqual(all);
    expect(sec.get("policies")!.split("\n")).toContain('/\tha-all\t^(?!amq\\.).*\tall\t{"ha-mode":"all"}\t0');
    expect(sec.get("auth")).toContain("AUTH-OK");

    // The health wait's check: true with every broker running unpartitioned, false for one that is not.
    expect(sec.get("back")).toBe("BACK\nNOT-BACK");
    for (const lost of ["controller02", "controller01"]) {
      const seed = lost === "controller01" ? "controller02" : "controller01";
      expect(sec.get(`rejoin-${lost} ${lost}`)).toContain(
        `ha-gen:changed made rabbit@${seed} forget the old membership of rabbit@${lost} (reset or lost its data)`,
      );
      expect(sec.get(`rejoin-${lost} ${lost}`)).toContain(
        `ha-gen:changed joined rabbit@${lost} to the RabbitMQ cluster of rabbit@${seed} as a disc node`,
      );
      for (const n of all.map((x) => x.slice("rabbit@".length)).filter((x) => x !== lost)) {
        expect(sec.get(`rejoin-${lost} ${n}`), n).not.toContain("ha-gen:changed");
      }
      const after = JSON.parse(sec.get(`cluster-after-${lost}`)!) as typeof cluster & { partitions: unknown };
      expect([...after.disk_nodes].sort()).toEqual(all);
      expect([...after.running_nodes].sort()).toEqual(all);
    }

    const brokenOut = sec.get("broken")!;
    expect(brokenOut).toMatch(/rc=[1-9]/);
    expect(brokenOut).toContain("Validation failed");
  }, 600_000);

  it.concurrent("without the bindings, epmd and the distribution listen on every address (seen)", async () => {
    const tmp = newDir();
    const r = renderExample("lab");
    const node = labNodes(EXAMPLES.lab)[0]!;
    const files = r.artifacts
      .filter((a) => a.node === node.name && FAMILIES.has(a.family))
      .map((a) => {
        const unbound = /^distribution\.listener\..*\n/gm;
        if (a.path === RABBITMQ_CONF) return { ...a, content: a.content.replace(unbound, "") };
        if (a.path === RABBITMQ_ENV_CONF) return { ...a, content: a.content.replace(/^ERL_EPMD_ADDRESS=.*\n/m, "") };
        return a;
      });
    const manifest = stageArtifacts(tmp.dir, "unbound", files);
    const res = await netlabAsync(bootScript([{ ...node, manifest }], tmp.dir), [], 200_000);
    const sec = parseSections(res.stdout);
    expect(res.status, res.stdout.slice(-3000) + res.stderr.slice(-2000)).toBe(0);
    const listen = sec.get(`listen ${node.name}`)!.split("\n");
    expect(listen.filter((l) => /^(0\.0\.0\.0|\[::\]|\*):(4369|25672)$/.test(l)).length).toBeGreaterThan(0);
  }, 300_000);

  it.concurrent("a broken rabbitmq.conf keeps the broker from booting (same check)", async () => {
    const tmp = newDir();
    const r = renderExample("lab");
    const node = labNodes(EXAMPLES.lab)[0]!;
    const files = r.artifacts
      .filter((a) => a.node === node.name && FAMILIES.has(a.family))
      .map((a) =>
        a.path === RABBITMQ_CONF ? { ...a, content: a.content.replace("pause_minority", "pause_minorty") } : a,
      );
    const manifest = stageArtifacts(tmp.dir, "broken", files);
    const res = await netlabAsync(bootScript([{ ...node, manifest }], tmp.dir), [], 200_000);
    const sec = parseSections(res.stdout);
    expect(res.status).not.toBe(0);
    expect(sec.has(`env ${node.name}`)).toBe(false);
    expect(res.stdout).toMatch(/=== boot-(failed|timeout)/);
    expect(res.stdout).toContain("pause_minorty");
  }, 300_000);
});

describe("RabbitMQ step scripts pass bash -n and shellcheck", () => {
  for (const name of ["train-ha", "lab"] as const) {
    it(name, () => {
      const r = renderExample(name);
      const scripts = r.artifacts.filter((a) => a.family === "rabbitmq" && a.path.endsWith(".sh"));
      // 30 and 31 on each of 3 controllers (31 rejoins a reset first controller too), 32 on the first.
      expect(scripts.length).toBe(7);
      expect(shellcheckScripts(scripts)).toEqual([]);
    });
  }

  it("shellcheck rejects a broken sample", () => {
    const r = renderExample("lab");
    const script = r.artifacts.find((a) => a.path.endsWith("/31-rabbitmq-join.sh"))!;
    const broken = {
      ...script,
      content: script.content.replace('in_list disk_nodes "$seed"', "in_list disk_nodes $sed"),
    };
    expect(shellcheckScripts([broken]).join("\n")).toMatch(/SC2154|SC2086/);
  });
});

describe("epmd socket drop-ins: systemd-analyze verify with Debian's epmd units", () => {
  /** Debian's epmd.socket and epmd.service with `dropIn` as its drop-in; stderr of verify and its exit status. */
  function verify(dropIn: string): { status: number | null; stderr: string } {
    const t = tempDir("ha-gen-epmd-");
    try {
      for (const u of ["epmd.socket", "epmd.service"]) t.write(u, readFileSync(`/lib/systemd/system/${u}`, "utf8"));
      t.write("epmd.socket.d/50-ha-gen.conf", dropIn);
      const r = run("systemd-analyze", ["verify", "--man=no", "--recursive-errors=no", join(t.dir, "epmd.socket")], {
        env: { ...process.env, SYSTEMD_UNIT_PATH: `${t.dir}:` },
      });
      return { status: r.status, stderr: r.stderr };
    } finally {
      t.cleanup();
    }
  }

  for (const name of ["train-ha", "lab"] as const) {
    it(`${name}: every controller's drop-in is accepted`, () => {
      requireTool("systemd-analyze");
      const r = renderExample(name);
      const dropIns = r.artifacts.filter((a) => a.path === epmdDropIn("epmd.socket"));
      expect(dropIns).toHaveLength(3);
      for (const a of dropIns) expect(verify(a.content), a.node).toEqual({ status: 0, stderr: "" });
    });
  }

  it("rejects a broken sample (misspelled key)", () => {
    const a = renderExample("lab").artifacts.find((x) => x.path === epmdDropIn("epmd.socket"))!;
    const v = verify(a.content.replace("FreeBind=", "FreeBinde="));
    expect(v.status).not.toBe(0);
    expect(v.stderr).toContain("Unknown key 'FreeBinde'");
  });
});
