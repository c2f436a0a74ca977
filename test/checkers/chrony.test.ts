import { beforeAll, describe, expect, it } from "vitest";
import { renderExample, type ExampleName } from "../helpers/examples.js";
import { isolated, requireTool, run, tempDir } from "../helpers/checker.js";

/**
 * Real checks of chrony.conf with Debian's chronyd: `chronyd -p` parses every generated file; a
 * short `chronyd -Q` run in a private namespace loads the leap-second table and the keyfile the
 * packaged files name; a running chronyd answers `chronyc accheck` for the server's `allow`, also
 * for the guide's own `allow 10.15.253.163/12` (chronyd ignores the host bits: the same network).
 */
beforeAll(() => requireTool("chronyd", "chronyc", "unshare"));

const NAMES: ExampleName[] = ["train-ha", "lab"];

function chronyConfs(name: ExampleName) {
  const paths = ["/etc/chrony.conf", "/etc/chrony/chrony.conf"];
  return renderExample(name).artifacts.filter((a) => paths.includes(a.path));
}

/** `chronyd -Q -t 1` with private /var/lib/chrony and /run: nothing leaves the namespace. */
function quickRun(conf: string) {
  const t = tempDir("ha-gen-chrony-");
  try {
    const f = t.write("chrony.conf", conf);
    const steps = [
      "mount -t tmpfs none /var/lib/chrony",
      "mount -t tmpfs none /run",
      'exec timeout 20 chronyd -Q -t 1 -f "$1"',
    ];
    const script = steps.join(" && ");
    return isolated(script, [f]);
  } finally {
    t.cleanup();
  }
}

/** A chronyd serving `conf` in a private namespace, asked `chronyc accheck` for each address. */
function accheck(conf: string, addresses: readonly string[]): string[] {
  const t = tempDir("ha-gen-chrony-");
  try {
    const f = t.write("chrony.conf", conf);
    const r = isolated(
      `mount -t tmpfs none /var/lib/chrony && mount -t tmpfs none /run
# chronyd's command socket directory, as its package creates it (owned by the user it runs as).
install -d -m 0750 -o _chrony -g _chrony /run/chrony
conf=$1
shift
chronyd -d -x -f "$conf" >/run/chronyd.log 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [[ -S /run/chrony/chronyd.sock ]] && break; sleep 0.1; done
for a in "$@"; do printf '%s %s\\n' "$a" "$(chronyc -n accheck "$a" 2>&1)"; done
[[ -S /run/chrony/chronyd.sock ]] || cat /run/chronyd.log >&2`,
      [f, ...addresses],
    );
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim().split("\n");
  } finally {
    t.cleanup();
  }
}

describe("chrony.conf: Debian's chronyd", () => {
  it.each(NAMES)("%s: every node's file parses, keeping the packaged keyfile and leapsectz", (name) => {
    const keyfile = name === "lab" ? "/etc/chrony/chrony.keys" : "/etc/chrony.keys";
    for (const a of chronyConfs(name)) {
      const t = tempDir("ha-gen-chrony-");
      try {
        const r = run("unshare", ["-n", "chronyd", "-p", "-f", t.write("chrony.conf", a.content)]);
        expect(r.status, `${a.node}: ${r.stderr}`).toBe(0);
        expect(r.stdout.split("\n")).toEqual(expect.arrayContaining([`keyfile ${keyfile}`, "leapsectz right/UTC"]));
      } finally {
        t.cleanup();
      }
    }
  });

  it("lab (Debian): the leap-second table loads and the packaged keyfile is found", () => {
    const a = chronyConfs("lab")[0]!;
    const out = quickRun(a.content);
    const log = out.stdout + out.stderr;
    expect(log).toContain("Using right/UTC timezone to obtain leap second data");
    expect(log).not.toContain("Could not open keyfile");
    expect(log).not.toContain("failed leap second check");
  });

  it("broken samples: a misspelled directive is fatal; a wrong leap-second zone is reported", () => {
    const a = chronyConfs("lab")[0]!;
    const t = tempDir("ha-gen-chrony-");
    try {
      const bad = t.write("chrony.conf", a.content.replace("keyfile ", "keyfle "));
      expect(run("unshare", ["-n", "chronyd", "-p", "-f", bad]).status).not.toBe(0);
    } finally {
      t.cleanup();
    }
    const wrongZone = quickRun(a.content.replace("leapsectz right/UTC", "leapsectz right/Nowhere"));
    expect(wrongZone.stdout + wrongZone.stderr).toContain("failed leap second check");
  });

  it("train-ha server: allow 10.0.0.0/12 admits exactly what the guide's allow 10.15.253.163/12 admits", () => {
    const server = chronyConfs("train-ha").find((a) => a.node === "controller01")!;
    expect(server.content).toContain("allow 10.0.0.0/12\n");
    const probes = ["10.0.0.5", "10.15.253.163", "10.15.255.254", "10.16.0.1", "10.31.255.1", "172.31.253.163"];
    const ours = accheck(server.content, probes);
    const guide = accheck(server.content.replace("allow 10.0.0.0/12", "allow 10.15.253.163/12"), probes);
    expect(ours).toEqual(guide);
    expect(ours).toEqual([
      "10.0.0.5 208 Access allowed",
      "10.15.253.163 208 Access allowed",
      "10.15.255.254 208 Access allowed",
      "10.16.0.1 209 Access denied",
      "10.31.255.1 209 Access denied",
      "172.31.253.163 209 Access denied",
    ]);
  });
});
