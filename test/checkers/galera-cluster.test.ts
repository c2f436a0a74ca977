import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { osProfile } from "../../src/core/os.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";
import { renderCluster } from "../../src/render.js";
import { EXAMPLES } from "../helpers/examples.js";
import { runGaleraCluster } from "../helpers/galera-cluster.js";
import {
  changedLines,
  exitCode,
  makeBaseDatadirs,
  nodeArtifacts,
  runSandbox,
  section,
  type BaseDatadirs,
} from "../helpers/galera-sandbox.js";

/**
 * The lab's Galera scripts on a real 3-node cluster (Debian's MariaDB and Galera, every node's
 * address on one namespace's loopback). The SST scripts (rsync, mariabackup) are not installed on
 * the checker machines: state transfers go through a stand-in wsrep_sst_rsync that copies no data
 * (see galera-cluster.ts). The container lab runs the real rsync SST.
 */

let base: BaseDatadirs;
beforeAll(() => {
  base = makeBaseDatadirs();
});
afterAll(() => base?.cleanup());

const spec = EXAMPLES.lab;
const CNF = osProfile("debian12").galeraCnf;

function clusterNodes() {
  const r = renderCluster(spec, FAKE_SECRETS);
  return spec.nodes.map((n) => ({
    name: n.hostname,
    address: n.addresses.management,
    files: nodeArtifacts(r.artifacts, n.hostname),
  }));
}

const VIP = spec.vip.address;
const WRITER = spec.nodes[0]!.addresses.management;

const STATUS = String.raw`
status() {
  local n
  for n in controller01 controller02 controller03; do
    echo "$n $(sql "$n" "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN
      ('wsrep_cluster_size', 'wsrep_cluster_status', 'wsrep_local_state_comment', 'wsrep_cluster_state_uuid')
      ORDER BY VARIABLE_NAME" | tr '\n' ' ')"
  done
}
`;

describe("Galera on three real nodes: the bootstrap step on a running cluster only ever joins it", () => {
  it("an option change restarts the backups, then controller01 (the writer) last; a stopped one is started", () => {
    const scenario = `${STATUS}
step boot
run_script controller01 20-galera-bootstrap
step join2
run_script controller02 21-galera-join
step join3
run_script controller03 21-galera-join
step formed
status
step evs
sql controller02 "SELECT @@wsrep_provider_options" | grep -o 'evs.suspect_timeout = [^;]*'
step donors
on controller01 grep -ho "requested state transfer from '[^']*'. Selected [^ ]* *([^)]*)" /var/log/stub-mariadb.log
export HA_GEN_CLUSTER_EXISTS=1
step changed
for n in controller01 controller02 controller03; do
  on $n sed -i 's/^wsrep_slave_threads = 4$/wsrep_slave_threads = 2/' ${CNF}
done
run_script controller01 20-galera-bootstrap
# The writer's drain waits for a client session on its MariaDB address (one that ends after 5 s,
# as HAProxy cuts them), not for one on the VIP's same port (HAProxy's frontend on the VIP holder).
ip addr add ${VIP}/32 dev lo
sql controller01 "CREATE USER drain@'%' IDENTIFIED BY 'drain'"
python3 -c '
import socket, time
l = socket.create_server(("${VIP}", 3306)); c = socket.create_connection(("${VIP}", 3306)); time.sleep(60)' &
vip_pid=$!
# 21-galera-join in plan order: the backups, then the writer; the cluster after each.
for n in controller02 controller03 controller01; do
  step roll-$n
  if [[ $n == controller01 ]]; then
    timeout 5 mysql --no-defaults -h ${WRITER} -u drain -pdrain -e 'SELECT SLEEP(10)' >/dev/null 2>&1 &
  fi
  run_script $n 21-galera-join
  status
done
kill $vip_pid
step after-change
status
step drained
for n in controller02 controller03 controller01; do echo "$n $(on $n tail -n 1 /run/stub/stops)"; done
step stopped
on controller01 systemctl stop mariadb
run_script controller01 20-galera-bootstrap
step after-start
status
step rerun
run_script controller01 20-galera-bootstrap
step calls
on controller01 grep -c galera_new_cluster /run/stub/calls
`;
    const res = runGaleraCluster({ os: "debian12", nodes: clusterNodes(), datadir: base.socketRoot, scenario });
    const out = res.stdout + res.stderr;
    const rc = (s: string, id: string, node: string) => new RegExp(`^rc\\[${id}@${node}\\]=(\\d+)$`, "m").exec(s)?.[1];
    expect(rc(section(out, "boot"), "20-galera-bootstrap", "controller01"), out).toBe("0");
    const bootstrapped = "ha-gen:changed bootstrapped a new Galera cluster on this node";
    expect(changedLines(section(out, "boot"))).toContain(bootstrapped);
    expect(rc(section(out, "join3"), "21-galera-join", "controller03"), out).toBe("0");
    const lines = (name: string) =>
      section(out, name)
        .trim()
        .split("\n")
        .map((l) => l.trim());
    const formed = lines("formed");
    const uuid = / ([0-9a-f-]{36}) /.exec(formed[0]!)?.[1];
    expect(uuid, out).toBeDefined();
    const synced = (n: string) => `${n} 3 ${uuid} Primary Synced`;
    expect(formed).toEqual(["controller01", "controller02", "controller03"].map(synced));
    // The running provider took the spec's suspect timeout (3000 ms; Galera's own is PT5S).
    expect(section(out, "evs").trim(), out).toBe("evs.suspect_timeout = PT3S");
    // The joiners' donors: controller02 asks for controller03, not yet there, and falls back (the
    // trailing comma) to controller01; controller03 gets controller02, not the writer.
    expect(section(out, "donors"), out).toMatch(/from 'controller03,'\. Selected \S+ *\(controller01\)/);
    expect(section(out, "donors"), out).toMatch(/from 'controller02,'\. Selected \S+ *\(controller02\)/);

    // The bootstrap step leaves the writer for last; 21-galera-join restarts one node at a time,
    // the writer last, and every node is Synced in a 3-member cluster after each restart.
    const changed = section(out, "changed");
    expect(rc(changed, "20-galera-bootstrap", "controller01"), out).toBe("0");
    expect(changedLines(changed)).toEqual([]);
    expect(changed).toContain("option file changed: this node (the writer) restarts last, in 21-galera-join");
    const rolled = "ha-gen:changed restarted mariadb (option file changed; rolling restart)";
    for (const n of ["controller02", "controller03", "controller01"]) {
      const roll = section(out, `roll-${n}`);
      expect(rc(roll, "21-galera-join", n), out).toBe("0");
      expect(changedLines(roll)).toEqual([rolled]);
      expect(roll).toContain("wsrep_cluster_size back to 3");
      const status = roll
        .trim()
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => /^controller0\d /.test(l));
      expect(status).toEqual(["controller01", "controller02", "controller03"].map(synced));
    }
    expect(lines("after-change")).toEqual(["controller01", "controller02", "controller03"].map(synced));
    // Each node was desynced (clustercheck's 503: HAProxy moves its clients) when it was stopped,
    // and came back Synced, its desync gone with the restart. No HAProxy here: no session to wait for.
    for (const n of ["controller02", "controller03"]) {
      expect(section(out, `roll-${n}`), out).toContain("drained for 3s: no client session left on this node");
    }
    const writerDrain = /drained for (\d+)s: no client session left on this node/.exec(
      section(out, "roll-controller01"),
    );
    expect(Number(writerDrain?.[1]), out).toBeGreaterThanOrEqual(5);
    expect(Number(writerDrain?.[1]), out).toBeLessThan(13);
    expect(lines("drained")).toEqual(
      ["controller02", "controller03", "controller01"].map((n) => `${n} stop mariadb in state Donor/Desynced`),
    );

    const stopped = section(out, "stopped");
    expect(rc(stopped, "20-galera-bootstrap", "controller01"), out).toBe("0");
    expect(changedLines(stopped)).toEqual(["ha-gen:changed started mariadb (joined the running Galera cluster)"]);
    expect(lines("after-start")).toEqual(["controller01", "controller02", "controller03"].map(synced));

    expect(changedLines(section(out, "rerun"))).toEqual([]);
    // Only the first bootstrap ever ran galera_new_cluster.
    expect(section(out, "calls").trim()).toBe("1");
  }, 300_000);
});

describe("the bootstrap step told that a cluster exists never starts a new one", () => {
  it("HA_GEN_CLUSTER_EXISTS=1 and no controller answers: refused, even on a fresh datadir", () => {
    const r = renderCluster(spec, FAKE_SECRETS);
    const scenario = `step refused
export HA_GEN_CLUSTER_EXISTS=1
run_script 20-galera-bootstrap
unset HA_GEN_CLUSTER_EXISTS
step calls
grep -c galera_new_cluster /run/stub/calls || true
`;
    const files = nodeArtifacts(r.artifacts, "controller01");
    const res = runSandbox({ os: "debian12", nodeAddress: "198.51.100.11", files, datadir: base.socketRoot, scenario });
    const out = res.stdout + res.stderr;
    const refused = section(out, "refused");
    expect(exitCode(refused, "20-galera-bootstrap"), out).not.toBe(0);
    expect(refused).toContain("not bootstrapping a second cluster");
    expect(section(out, "calls").trim()).toBe("0");
  }, 120_000);
});
