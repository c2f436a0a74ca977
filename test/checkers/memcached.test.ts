import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Artifact } from "../../src/core/artifact.js";
import { osProfile } from "../../src/core/os.js";
import { requireTool, run, tempDir } from "../helpers/checker.js";
import { labNodes, netlab, parseSections, shellcheckScripts, stageArtifacts } from "../helpers/etcd-netlab.js";
import { EXAMPLES, renderExample, type ExampleName } from "../helpers/examples.js";

/**
 * Real checks of the memcached family with Debian 12's memcached 1.6.18: every controller's
 * generated configuration, installed at its real path in a private node namespace, is turned into
 * a command line the way the packaged service does it and must leave a memcached answering
 * `version` on the node address and on loopback, and listening nowhere else.
 * - debian12: the package's own /usr/share/memcached/scripts/systemd-memcached-wrapper reads
 *   /etc/memcached.conf (what memcached.service runs);
 * - centos8: CentOS's unit runs `memcached -p ${PORT} -u ${USER} -m ${CACHESIZE} -c ${MAXCONN}
 *   $OPTIONS` with /etc/sysconfig/memcached as EnvironmentFile; a shell expands the same way
 *   (the file only holds envValue() values), with a `memcached` user added in the node's /etc.
 */

const WRAPPER = "/usr/share/memcached/scripts/systemd-memcached-wrapper";
const PORT = 11211;
/**
 * Debian's /usr/lib/tmpfiles.d/memcached.conf: `d /run/memcached 0755 memcache memcache`,
 * where its config puts the pid file.
 */
const RUNDIR: Record<"centos8" | "debian12", string> = {
  debian12: "install -d -m 0755 -o memcache -g memcache /run/memcached",
  centos8: "true",
};

beforeAll(() => requireTool("unshare", "nsenter", "ip", "ss", "memcached", "perl", WRAPPER, "bash", "shellcheck"));

/** Bash run inside a node: start memcached from the installed config as the OS's service would. */
function serviceCommand(name: ExampleName): string {
  if (EXAMPLES[name].os === "debian12") return `exec ${WRAPPER} ${osProfile("debian12").memcachedConf}`;
  const conf = osProfile("centos8").memcachedConf;
  // CentOS's package creates this user; Debian's is called memcache.
  return (
    "echo memcached:x:9911:9911::/run/memcached:/usr/sbin/nologin >> /etc/passwd && " +
    "echo memcached:x:9911: >> /etc/group && " +
    `set -a && . ${conf} && set +a && ` +
    `exec /usr/bin/memcached -p \\$PORT -u \\$USER -m \\$CACHESIZE -c \\$MAXCONN \\$OPTIONS`
  );
}

function labScript(name: ExampleName, dir: string, files: (node: string) => Artifact[]): string {
  const nodes = labNodes(EXAMPLES[name]);
  const start = nodes
    .map((n) => {
      const manifest = stageArtifacts(dir, n.name, files(n.name));
      // /run is private to the node; RUNDIR does what the package's tmpfiles.d entry does at boot.
      return (
        `netlab_node ${n.name} ${n.addr} "netlab_root ${dir}/${n.name}-root && netlab_install ${manifest} ` +
        `&& mount -t tmpfs none /run && ${RUNDIR[EXAMPLES[name].os!]} ` +
        `&& ${serviceCommand(name)} >${dir}/${n.name}.log 2>&1"`
      );
    })
    .join("\n");
  const probe =
    `# answers HOST: memcached replies to "version" there.
answers() {
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/${PORT}" && printf "version\\r\\n" >&3 ` +
    `&& IFS= read -r line <&3 && printf "%s\\n" "$line"' _ "$1"
}
export -f answers`;
  const checks = nodes
    .map(
      (n) => `start=$SECONDS
until netlab_exec ${n.name} bash -c 'answers ${n.ip}' >/dev/null 2>&1; do
  if ! netlab_alive ${n.name} || (( SECONDS - start > 15 )); then echo "=== dead ${n.name}"; break; fi
  sleep 0.05
done
if netlab_alive ${n.name}; then
  echo "=== node ${n.ip} ${n.name}"; netlab_exec ${n.name} bash -c 'answers ${n.ip}' 2>&1 || true
  echo "=== loopback ${n.name}"; netlab_exec ${n.name} bash -c 'answers 127.0.0.1' 2>&1 || true
  echo "=== listen ${n.name}"; netlab_exec ${n.name} ss -Hltn 'sport = :${PORT}' | awk '{ print $4 }' | sort
  echo "=== cmdline ${n.name}"; tr '\\0' ' ' < /proc/${"$"}{NL_PID[${n.name}]}/cmdline; echo
fi
echo "=== log ${n.name}"; cat ${dir}/${n.name}.log`,
    )
    .join("\n");
  return `${probe}\n${start}\n${checks}\n`;
}

function configFiles(r: ReturnType<typeof renderExample>) {
  return (node: string) =>
    r.artifacts.filter((a) => a.node === node && a.family === "memcached" && !a.path.endsWith(".sh"));
}

function expectServing(sec: Map<string, string>, name: ExampleName) {
  for (const n of labNodes(EXAMPLES[name])) {
    expect(sec.has(`dead ${n.name}`), sec.get(`log ${n.name}`)).toBe(false);
    // memcached prints nothing unless something is wrong (a refused option, a failed bind).
    expect(sec.get(`log ${n.name}`)).toBe("");
    expect(sec.get(`node ${n.ip} ${n.name}`)).toMatch(/^VERSION 1\.6\./);
    expect(sec.get(`loopback ${n.name}`)).toMatch(/^VERSION 1\.6\./);
    // The guide's 0.0.0.0 would show here; memcached has no authentication.
    expect(sec.get(`listen ${n.name}`)!.split("\n")).toEqual([`127.0.0.1:${PORT}`, `${n.ip}:${PORT}`].sort());
    const cmd = sec.get(`cmdline ${n.name}`)!;
    expect(cmd).toContain(`-l ${n.ip},127.0.0.1`);
    expect(cmd).toMatch(/-m 64 /);
    expect(cmd).toMatch(/-c 1024 /);
    expect(cmd).toContain(`-u ${osProfile(EXAMPLES[name].os!).memcachedUser}`);
  }
}

describe("memcached configurations start a real memcached (1.6.18) that answers only where it should", () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir("ha-gen-memcached-");
  });
  afterAll(() => tmp.cleanup());

  for (const name of ["train-ha", "lab"] as const) {
    it(name, () => {
      const r = renderExample(name);
      const dir = `${tmp.dir}/${name}`;
      run("mkdir", ["-p", dir]);
      const res = netlab(labScript(name, dir, configFiles(r)), [], 90_000);
      expect(res.status, res.stderr).toBe(0);
      expectServing(parseSections(res.stdout), name);
    });
  }

  it("a config listening on an address the node does not have is caught by the same check", () => {
    const r = renderExample("lab");
    const dir = `${tmp.dir}/broken`;
    run("mkdir", ["-p", dir]);
    const conf = osProfile("debian12").memcachedConf;
    const files = (node: string) =>
      configFiles(r)(node).map((a) =>
        a.path === conf ? { ...a, content: a.content.replace(/^-l .*$/m, "-l 198.51.100.99,127.0.0.1") } : a,
      );
    const res = netlab(labScript("lab", dir, files), [], 90_000);
    expect(res.status, res.stderr).toBe(0);
    const sec = parseSections(res.stdout);
    expect(() => expectServing(sec, "lab")).toThrow();
    expect(sec.get("log controller01")).toMatch(/Cannot assign requested address|failed to listen/);
  });
});

describe("memcached step script passes bash -n and shellcheck", () => {
  for (const name of ["train-ha", "lab"] as const) {
    it(name, () => {
      const scripts = renderExample(name).artifacts.filter((a) => a.family === "memcached" && a.path.endsWith(".sh"));
      expect(scripts).toHaveLength(3);
      expect(shellcheckScripts(scripts)).toEqual([]);
    });
  }

  it("shellcheck rejects a broken sample", () => {
    const script = renderExample("lab").artifacts.find((a) => a.path.endsWith("/40-memcached.sh"))!;
    expect(
      shellcheckScripts([{ ...script, content: script.content.replace('[[ -z "$others" ]]', "[ -z $others ]") }]),
    ).not.toEqual([]);
  });
});
