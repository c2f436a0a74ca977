import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ETCD_UNIT } from "../../generators/etcd.js";
import { osProfile } from "../../src/core/os.js";
import { requireTool, run, tempDir } from "../helpers/checker.js";
import { labNodes, netlabAsync, parseSections, stageArtifacts } from "../helpers/etcd-netlab.js";
import { EXAMPLES, renderExample } from "../helpers/examples.js";

/**
 * The rendered 41-etcd step itself, run against real etcd 3.4 members (Debian 12's), one per
 * network namespace of a netlab on the lab example's 198.51.100.0/24 addresses. Only systemctl is
 * a stub: it runs etcd the way the generated unit says (every EnvironmentFile= in order, User=,
 * WorkingDirectory=, ExecStart=) and logs every call. Shown:
 * - the start pass on every member at once forms the cluster; the restart pass changes nothing;
 * - a changed etcd.conf: the start pass restarts nothing, the restart pass restarts the members
 *   one at a time in plan order, and a monitor sampling every member's health never sees fewer
 *   than 2 of 3 healthy (quorum kept) while a writer puts a key every 0.2 s without one failure;
 * - a member whose data directory was wiped (after a crash) comes back: the step removes it, adds
 *   it again, starts it with initial-cluster-state existing, and it serves the keys written before.
 */

beforeAll(() => requireTool("unshare", "nsenter", "ip", "runuser", "setsid", "etcd", "etcdctl", "bash"));

const SCRIPT = "/usr/local/lib/ha-gen/41-etcd.sh";

/** systemctl for etcd.service only, as the generated unit runs it; every call is logged with a timestamp. */
const SYSTEMCTL_STUB = `#!/bin/bash
set -u
unit=${ETCD_UNIT}
pidf=/var/lib/stub-etcd.pid
printf '%s %s\\n' "$(date +%s.%N)" "$*" >> /var/log/stub-systemctl.log
running() { [[ -f $pidf ]] && kill -0 "$(cat "$pidf")" 2>/dev/null; }
start() {
  running && return 0
  (
    set -a
    while IFS= read -r f; do
      f=\${f#EnvironmentFile=}
      if [[ $f == -* ]]; then f=\${f#-}; [[ -e $f ]] || continue; fi
      # shellcheck source=/dev/null
      . "$f"
    done < <(grep '^EnvironmentFile=' "$unit")
    set +a
    cd "$(sed -n 's/^WorkingDirectory=//p' "$unit")" || exit 1
    exec setsid runuser -u "$(sed -n 's/^User=//p' "$unit")" -- $(sed -n 's/^ExecStart=//p' "$unit")
  ) >>/var/log/etcd.log 2>&1 </dev/null &
  echo $! > "$pidf"
}
stop() {
  if running; then
    local p
    p=$(cat "$pidf")
    kill "$p"
    while kill -0 "$p" 2>/dev/null; do sleep 0.05; done
  fi
  rm -f "$pidf"
}
args=()
for a in "$@"; do [[ $a == --* ]] || args+=("$a"); done
case "\${args[0]}" in
  is-active) if running; then echo active; else echo inactive; exit 3; fi ;;
  is-enabled|enable|daemon-reload|reset-failed) ;;
  start) start ;;
  stop) stop ;;
  restart) printf '%s restart-begin\\n' "$(date +%s.%N)" >> /var/log/stub-restarts.log; stop; start ;;
  *) echo "stub systemctl: unsupported: $*" >&2; exit 1 ;;
esac
`;

describe("41-etcd on real etcd members: rolling restart and a lost data directory", () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir("ha-gen-etcd-roll-");
  });
  afterAll(() => tmp.cleanup());

  it("keeps quorum through a rolling restart and repairs a wiped member", async () => {
    const r = renderExample("lab");
    const nodes = labNodes(EXAMPLES.lab);
    const envFile = osProfile("debian12").etcdEnvFile;
    const dir = tmp.dir;
    const stub = tmp.write("systemctl", SYSTEMCTL_STUB, 0o755);
    const endpoints = nodes.map((n) => `http://${n.ip}:2379`).join(",");
    const starts = nodes
      .map((n) => {
        const files = r.artifacts.filter((a) => a.node === n.name && (a.family === "etcd" || a.family === "common"));
        const manifest = stageArtifacts(dir, n.name, files);
        return (
          `netlab_node ${n.name} ${n.addr} "netlab_root ${dir}/${n.name}-root && netlab_install ${manifest} ` +
          `&& install -D -m 0755 ${stub} /usr/local/sbin/systemctl && exec sleep infinity"`
        );
      })
      .join("\n");
    const [n1, n2] = nodes;
    const step = (node: string, pass: string, log: string) =>
      `netlab_exec ${node} env PATH=/usr/local/sbin:$PATH HA_GEN_ROLL=${pass} bash ${SCRIPT} >${dir}/${log}.out 2>&1`;
    const all = nodes.map((n) => n.name).join(" ");
    const script = `${starts}
for n in ${all}; do until netlab_exec $n test -x /usr/local/sbin/systemctl 2>/dev/null; do sleep 0.05; done; done
ctl() { netlab_exec ${n1!.name} env ETCDCTL_API=3 etcdctl --dial-timeout=1s --command-timeout=3s "$@"; }
# 1. first deploy: start pass on every member at once, then the restart pass one at a time.
pids=()
for n in ${all}; do ${step("$n", "start", "first-start-$n")} & pids+=($!); done
rc=0; for p in "\${pids[@]}"; do wait "$p" || rc=1; done
echo "=== first-start"; echo $rc
echo "=== first-restart"
for n in ${all}; do if ${step("$n", "restart", "first-restart-$n")}; then echo "$n ok"; else echo "$n FAILED"; fi; done
# 2. a changed etcd.conf everywhere (as a push would bring), under load.
for n in ${all}; do netlab_exec $n bash -c 'printf "ETCD_SNAPSHOT_COUNT=50000\\n" >> ${envFile}'; done
( i=0; while [[ ! -e ${dir}/stop ]]; do
    i=$((i + 1))
    put() { ctl --endpoints=${endpoints} put k$i v$i >/dev/null 2>&1; }
    if put || { sleep 1; put; }; then
      echo "ok $i"; else echo "failed $i"; fi
    sleep 0.2
  done > ${dir}/writer.log ) &
writer=$!
( while [[ ! -e ${dir}/stop ]]; do
    h=0
    for e in ${endpoints.split(",").join(" ")}; do
      ctl --endpoints=$e endpoint health >/dev/null 2>&1 && h=$((h + 1))
    done
    echo "$h"
    sleep 0.2
  done > ${dir}/monitor.log ) &
monitor=$!
sleep 2
pids=()
for n in ${all}; do ${step("$n", "start", "change-start-$n")} & pids+=($!); done
rc=0; for p in "\${pids[@]}"; do wait "$p" || rc=1; done
echo "=== change-start"; echo $rc
for n in ${all}; do
  echo "=== restarts-after-start $n"; netlab_exec $n cat /var/log/stub-restarts.log 2>/dev/null || true
done
echo "=== change-restart"
for n in ${all}; do
  if ${step("$n", "restart", "change-restart-$n")}; then echo "$n ok $(date +%s.%N)"; else echo "$n FAILED"; fi
done
sleep 2
touch ${dir}/stop; wait $writer $monitor
for n in ${all}; do echo "=== restarts $n"; netlab_exec $n cat /var/log/stub-restarts.log 2>/dev/null || true; done
echo "=== monitor"; cat ${dir}/monitor.log
echo "=== writer-failed"; grep -c failed ${dir}/writer.log || true
echo "=== writer-ok"; grep -c '^ok' ${dir}/writer.log || true
# 3. controller02 crashes and loses its data directory; its etcd is started again (as Restart=
#    would), which the lost history makes fail; then the step runs.
netlab_exec ${n2!.name} env PATH=/usr/local/sbin:$PATH systemctl stop etcd
netlab_exec ${n2!.name} rm -rf /var/lib/etcd/default.etcd
netlab_exec ${n2!.name} env PATH=/usr/local/sbin:$PATH systemctl start etcd
sleep 3
echo "=== repair"
if ${step(n2!.name, "start", "repair")}; then echo ok; else echo FAILED; fi
cat ${dir}/repair.out
echo "=== health"; ctl --endpoints=${endpoints} endpoint health 2>&1 || echo HEALTH-FAILED
echo "=== members"; ctl --endpoints=${endpoints} member list 2>&1
echo "=== read-on-repaired"
netlab_exec ${n2!.name} env ETCDCTL_API=3 etcdctl --endpoints=http://${n2!.ip}:2379 \
  get k1 --print-value-only --consistency=s 2>&1
echo "=== state-env"; netlab_exec ${n2!.name} cat /var/lib/ha-gen/etcd-cluster-state.env 2>&1
echo "=== rerun"
if ${step(n2!.name, "start", "rerun-start")} && ${step(n2!.name, "restart", "rerun-restart")}
then echo ok; else echo FAILED; fi
grep -h '^ha-gen:changed' ${dir}/rerun-start.out ${dir}/rerun-restart.out || true
for f in ${dir}/*.out; do echo "=== out $(basename "$f")"; cat "$f"; done
`;
    run("mkdir", ["-p", dir]);
    const res = await netlabAsync(script, [], 300_000);
    expect(res.status, res.stderr).toBe(0);
    const sec = parseSections(res.stdout);
    const out = (name: string) => sec.get(`out ${name}.out`) ?? "";
    const names = nodes.map((n) => n.name);

    expect(sec.get("first-start"), names.map((n) => out(`first-start-${n}`)).join("\n")).toBe("0");
    expect(sec.get("first-restart")).toBe(names.map((n) => `${n} ok`).join("\n"));
    for (const n of names) expect(out(`first-restart-${n}`)).not.toContain("ha-gen:changed");

    // The start pass leaves a running member with a changed configuration alone.
    expect(sec.get("change-start")).toBe("0");
    for (const n of names) {
      expect(sec.get(`restarts-after-start ${n}`)).toBe("");
      expect(out(`change-start-${n}`)).toContain("restarted in the one-member-at-a-time pass");
    }
    // The restart pass: each member restarted once, in plan order, each after the previous one's step ended.
    const ended = sec
      .get("change-restart")!
      .split("\n")
      .map((l) => l.split(" "));
    expect(ended.map((l) => `${l[0]} ${l[1]}`)).toEqual(names.map((n) => `${n} ok`));
    const restartAt = names.map((n) => {
      const lines = sec.get(`restarts ${n}`)!.split("\n");
      expect(lines, n).toHaveLength(1);
      return Number(lines[0]!.split(" ")[0]);
    });
    for (let i = 1; i < names.length; i++) {
      expect(restartAt[i]!).toBeGreaterThan(Number(ended[i - 1]![2]));
      expect(restartAt[i]!).toBeGreaterThan(restartAt[i - 1]!);
    }
    for (const n of names) expect(out(`change-restart-${n}`)).toContain("ha-gen:changed restarted etcd");
    // Quorum never lost: at least 2 of 3 healthy in every sample, and the restarts were seen.
    const samples = sec.get("monitor")!.split("\n").map(Number);
    expect(samples.length).toBeGreaterThan(10);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(2);
    expect(samples).toContain(3);
    expect(sec.get("writer-failed")).toBe("0");
    expect(Number(sec.get("writer-ok"))).toBeGreaterThan(10);

    // The wiped member was replaced and serves the cluster's data again.
    const repair = sec.get("repair")!;
    expect(repair.split("\n")[0], repair).toBe("ok");
    expect(repair).toContain(`ha-gen:changed removed etcd member ${n2!.name}`);
    expect(repair).toContain(`ha-gen:changed added etcd member ${n2!.name} again`);
    expect(repair).toMatch(/ha-gen:changed moved what was left of \/var\/lib\/etcd\/default\.etcd to /);
    expect(sec.get("health")).not.toContain("HEALTH-FAILED");
    for (const n of nodes) expect(sec.get("health")).toContain(`http://${n.ip}:2379 is healthy`);
    const members = sec.get("members")!.split("\n");
    expect(members).toHaveLength(3);
    for (const n of nodes)
      expect(members.some((m) => m.includes(`, started, ${n.name}, http://${n.ip}:2380,`))).toBe(true);
    expect(sec.get("read-on-repaired")).toBe("v1");
    expect(sec.get("state-env")).toBe("ETCD_INITIAL_CLUSTER_STATE=existing");
    // Repaired once: running the step again changes nothing.
    expect(sec.get("rerun")).toBe("ok");
  }, 320_000);
});
