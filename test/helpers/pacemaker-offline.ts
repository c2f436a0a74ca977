import { spawn } from "node:child_process";
import { readFileSync, existsSync } from "node:fs";
import { tempDir, type RunResult } from "./checker.js";

/** Like checker.run, but asynchronous so independent pcs runs (about 1 s per pcs call) overlap. */
export function runAsync(cmd: string, args: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("error", reject);
    p.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

export interface OfflineInput {
  /** Contents of /usr/local/lib/ha-gen/lib.sh. */
  readonly libSh: string;
  readonly hosts: string;
  /** The resources step script (run with `--cib`). */
  readonly resourcesScript: string;
  /** The cluster step script (run with `--corosync-conf`); omitted: not run. */
  readonly clusterScript?: string;
  /** This node's management address, put on loopback so `corosync -t` finds the local node. */
  readonly nodeAddress: string;
  /** Starting CIB; default a blank one from `cibadmin --empty`. */
  readonly cib?: string;
  /** Run the resources script a second time on its own result. */
  readonly rerun?: boolean;
}

export interface Stage {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface OfflineResult {
  readonly resources: Stage;
  readonly rerun?: Stage;
  readonly cib: string;
  readonly crmVerify?: Stage;
  readonly setup?: Stage;
  readonly corosyncConf?: string;
  readonly corosyncTest?: Stage;
  readonly driver: RunResult;
}

/**
 * The offline recipe for pcs scripts, in one `unshare -n -m` with the generated /etc/hosts bind-mounted
 * and the scripts at their real path (a private tmpfs over /usr/local/lib): blank CIB from
 * `cibadmin --empty` (or the given one), the resources script with `--cib`, optionally again;
 * `crm_verify -x cib.xml -VV`; the cluster script with `--corosync-conf` (pcs cluster setup
 * --corosync_conf --overwrite: the setup arguments without contacting nodes) and `corosync -t` on
 * its output with a throwaway authkey. Each stage's exit status and output are kept separately.
 */
export async function runOffline(input: OfflineInput): Promise<OfflineResult> {
  const t = tempDir("ha-gen-pcs-");
  try {
    t.write("scripts/lib.sh", input.libSh);
    t.write("scripts/62.sh", input.resourcesScript, 0o755);
    if (input.clusterScript) t.write("scripts/61.sh", input.clusterScript, 0o755);
    t.write("hosts", input.hosts);
    if (input.cib !== undefined) t.write("cib.xml", input.cib);
    const driver = `set -uo pipefail
w=$1 node=$2 rerun=$3
mount --bind "$w/hosts" /etc/hosts || exit 90
mount -t tmpfs none /usr/local/lib || exit 91
mkdir -p /usr/local/lib/ha-gen && cp "$w"/scripts/* /usr/local/lib/ha-gen/ || exit 92
mkdir -p /etc/corosync && mount -t tmpfs none /etc/corosync || exit 93
ip link set lo up && ip addr add "$node/32" dev lo || exit 94
stage() { local name=$1; shift; "$@" >"$w/$name.out" 2>"$w/$name.err"; echo $? >"$w/$name.rc"; }
[[ -f "$w/cib.xml" ]] || cibadmin --empty >"$w/cib.xml" || exit 95
stage resources bash /usr/local/lib/ha-gen/62.sh --cib "$w/cib.xml"
if [[ "$rerun" == yes && "$(cat "$w/resources.rc")" == 0 ]]; then
  stage rerun bash /usr/local/lib/ha-gen/62.sh --cib "$w/cib.xml"
fi
if [[ "$(cat "$w/resources.rc")" == 0 ]]; then
  stage verify crm_verify -x "$w/cib.xml" -VV
fi
if [[ -f /usr/local/lib/ha-gen/61.sh ]]; then
  stage setup bash /usr/local/lib/ha-gen/61.sh --corosync-conf /etc/corosync/corosync.conf
  if [[ "$(cat "$w/setup.rc")" == 0 ]]; then
    cp /etc/corosync/corosync.conf "$w/corosync.conf"
    head -c 256 /dev/urandom >/etc/corosync/authkey && chmod 0400 /etc/corosync/authkey
    stage corosync corosync -t
  fi
fi
exit 0
`;
    const res = await runAsync("unshare", [
      "-n",
      "-m",
      "--propagation",
      "private",
      "bash",
      "-c",
      driver,
      "driver",
      t.dir,
      input.nodeAddress,
      input.rerun ? "yes" : "no",
    ]);
    const stage = (name: string): Stage | undefined => {
      const rc = `${t.dir}/${name}.rc`;
      if (!existsSync(rc)) return undefined;
      return {
        status: Number(readFileSync(rc, "utf8").trim()),
        stdout: readFileSync(`${t.dir}/${name}.out`, "utf8"),
        stderr: readFileSync(`${t.dir}/${name}.err`, "utf8"),
      };
    };
    const resources = stage("resources");
    if (res.status !== 0 || !resources)
      throw new Error(`offline pcs driver failed (${String(res.status)}): ${res.stderr}`);
    const read = (rel: string) => (existsSync(`${t.dir}/${rel}`) ? readFileSync(`${t.dir}/${rel}`, "utf8") : undefined);
    return {
      resources,
      rerun: stage("rerun"),
      cib: read("cib.xml") ?? "",
      crmVerify: stage("verify"),
      setup: stage("setup"),
      corosyncConf: read("corosync.conf"),
      corosyncTest: stage("corosync"),
      driver: res,
    };
  } finally {
    t.cleanup();
  }
}

/** crm_verify's verdict per the recipe: exit 0, no `error:`, no silently replaced value. */
export function crmVerifyOk(s: Stage | undefined): boolean {
  if (!s) return false;
  const out = s.stdout + s.stderr;
  return s.status === 0 && !/error:/i.test(out) && !/Using 0 instead of/.test(out);
}

/** `ha-gen:changed` lines a script printed. */
export function changes(s: Stage | undefined): string[] {
  return (s?.stdout ?? "").split("\n").filter((l) => l.startsWith("ha-gen:changed "));
}

/** `name="value"` pairs of the nvpairs under the primitive `id` in a CIB. */
export function primitiveParams(cib: string, id: string): Record<string, string> {
  const start = cib.indexOf(`<primitive id="${id}"`);
  if (start < 0) return {};
  const end = cib.indexOf("</primitive>", start);
  const block = cib.slice(start, end);
  const out: Record<string, string> = {};
  for (const m of block.matchAll(/<nvpair [^>]*name="([^"]+)" value="([^"]*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

/**
 * `crm_resource --validate` of IPaddr2 with the given parameters, in its own network namespace
 * holding a bridge named like the VIP's NIC with `nodeCidr` on it (the agent needs a NIC in the
 * VIP's subnet). Nothing is sent: validation only reads the interface table.
 */
export function validateIpaddr2(params: Record<string, string>, nic: string, nodeCidr: string): Promise<RunResult> {
  const opts = Object.entries(params).flatMap(([k, v]) => ["--option", `${k}=${v}`]);
  const script = `set -e
ip link add "$1" type bridge
ip link set "$1" up
ip addr add "$2" dev "$1"
shift 2
exec crm_resource --validate --class ocf --provider heartbeat --agent IPaddr2 "$@"`;
  return runAsync("unshare", ["-n", "bash", "-c", script, "validate", nic, nodeCidr, ...opts]);
}

export interface Simulation {
  /** The CIB after the simulated transition (status section filled in). */
  readonly cib: string;
  /** Node each resource runs on, from `crm_resource --locate`. */
  readonly locate: Record<string, string[]>;
  readonly result: RunResult;
}

/**
 * Pacemaker's own scheduler on a CIB: the nodes are added to the configuration, `crm_simulate`
 * brings `up` online (with or without quorum) and runs the transition as if every action
 * succeeded; then `crm_resource --locate` reports where each resource runs. Nothing is started.
 */
export async function simulate(
  cib: string,
  nodes: readonly string[],
  up: readonly string[],
  quorum: boolean,
  resources: readonly string[],
): Promise<Simulation> {
  const t = tempDir("ha-gen-sim-");
  try {
    t.write("in.xml", cib);
    const script = `set -euo pipefail
w=$1 quorum=$2 nodes=$3 up=$4
shift 4
i=0
for n in $nodes; do
  i=$((i + 1))
  CIB_file="$w/in.xml" cibadmin --create -o nodes -X "<node id=\\"$i\\" uname=\\"$n\\"/>"
done
args=()
for n in $up; do args+=(-u "$n"); done
crm_simulate -x "$w/in.xml" "\${args[@]}" --quorum="$quorum" -S -O "$w/out.xml" >/dev/null
for r in "$@"; do
  echo "== $r"
  CIB_file="$w/out.xml" crm_resource --locate --resource "$r" 2>&1 || true
done`;
    const result = await runAsync("unshare", [
      "-n",
      "bash",
      "-c",
      script,
      "sim",
      t.dir,
      String(quorum),
      nodes.join(" "),
      up.join(" "),
      ...resources,
    ]);
    const locate: Record<string, string[]> = {};
    let cur: string[] | undefined;
    for (const line of result.stdout.split("\n")) {
      const m = /^== (.+)$/.exec(line);
      if (m) locate[m[1]!] = cur = [];
      else if (cur) {
        const on = / is running on: (\S+)/.exec(line);
        if (on) cur.push(on[1]!);
      }
    }
    const out = existsSync(`${t.dir}/out.xml`) ? readFileSync(`${t.dir}/out.xml`, "utf8") : "";
    return { cib: out, locate, result };
  } finally {
    t.cleanup();
  }
}
