import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statfsSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { preflight } from "../../deploy/preflight.js";
import { preflightScript, statusScript } from "../../deploy/scripts.js";
import { status } from "../../deploy/status.js";
import type { Transport } from "../../deploy/transport.js";
import { ConnectError } from "../../src/core/errors.js";
import { parsePreflightReport, parseStatusReport, statusReportSchema } from "../../src/core/formats.js";
import { renderCluster } from "../../src/render.js";
import { file, labTransport, STATUS_SCRIPT_CONTEXT } from "../helpers/deploy-fixtures.js";
import { startSshdLab, type SshdLab } from "../helpers/deploy-sshd.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";

/**
 * `ha-gen preflight` and `ha-gen status` over real sshd on loopback (127.0.0.1-3), the nodes being
 * this machine: the probe scripts run with the real bash, ip, ss, df, getent, mysql, rabbitmqctl,
 * etcdctl, crm_mon and chronyc the machine has. The spec puts the nodes on `lo` (127.0.0.0/8) and
 * memcached on the port controller02's sshd holds, so real facts decide: 127.0.0.1/8 is on lo,
 * 127.0.0.2/8 is not; the port is taken by sshd; the VIP 127.0.0.200 is local, so no ARP probe is
 * sent; the repository check only ever asks a test HTTP server on 127.0.0.1. No service of the
 * cluster runs here: status sees them down or missing — degraded or cannot tell, never healthy.
 */

const CLI = new URL("../../dist/cli/bin.js", import.meta.url).pathname;
const NODES = ["controller01", "controller02", "controller03"];
let lab: SshdLab;
let specPath: string;

function spec(o: { memcachedPort: number; os?: string; mirror?: string }) {
  return {
    name: "preflight-t",
    os: o.os ?? "debian12",
    networks: { management: { cidr: "127.0.0.0/8", interface: "lo" } },
    nodes: NODES.map((hostname, i) => ({
      hostname,
      roles: ["controller"],
      addresses: { management: `127.0.0.${i + 1}` },
    })),
    vip: { address: "127.0.0.200" },
    ntp: { upstream: [] },
    memcached: { port: o.memcachedPort },
    ...(o.mirror ? { prepare: { centosMirror: o.mirror } } : {}),
  };
}

const clusterOf = (s: object) => renderCluster(s, FAKE_SECRETS);

function cli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const { SSH_AUTH_SOCK: _agent, ...env } = process.env;
    const p = spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill("SIGKILL"), 90_000);
    p.on("error", rej);
    p.on("close", (code) => {
      clearTimeout(t);
      res({ code, stdout, stderr });
    });
  });
}

const sshArgs = () => ["--ssh-config", lab.sshConfig, "--known-hosts", lab.knownHosts];

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error("dist/cli/bin.js is missing: run `npm run build` (npm test does)");
  lab = await startSshdLab(NODES, { addressBase: 1 });
  specPath = join(lab.dir, "cluster.yaml");
  writeFileSync(specPath, stringify(spec({ memcachedPort: lab.instance("controller02").port })));
});
afterAll(async () => {
  await lab?.stop();
});

describe("preflight over real sshd", () => {
  it("reads real facts: lo carries 127.0.0.1/8 only, sshd holds the memcached port, the VIP is local", async () => {
    const { cluster } = clusterOf(spec({ memcachedPort: lab.instance("controller02").port }));
    const r = await preflight({ cluster, transport: await labTransport(lab), skip: ["repositories"] });
    const get = (node: string | undefined, check: string) =>
      r.checks.find((c) => c.node === node && c.check === check)!;
    expect(r.ok).toBe(false);
    for (const n of NODES) {
      expect(get(n, "connect")).toMatchObject({ status: "pass", detail: "logged in as root" });
      expect(get(n, "sudo").status).toBe("pass");
      expect(get(n, "time").status).toBe("pass");
      expect(get(n, "hostname").status).toBe("pass");
    }
    const osRelease = readFileSync("/etc/os-release", "utf8");
    const debian12 = /^ID=debian$/m.test(osRelease) && /^VERSION_ID="?12"?$/m.test(osRelease);
    expect(get("controller01", "os").status).toBe(debian12 ? "pass" : "fail");
    expect(get("controller01", "interface")).toMatchObject({ status: "pass", detail: "lo is up with 127.0.0.1/8" });
    expect(get("controller02", "interface").status).toBe("fail");
    expect(get("controller02", "interface").detail).toMatch(
      /^lo does not carry 127\.0\.0\.2\/8 \(management network 127\.0\.0\.0\/8\); it has 127\.0\.0\.1\/8/,
    );
    const port = lab.instance("controller02").port;
    expect(get("controller02", "ports").status).toBe("fail");
    expect(get("controller02", "ports").detail).toContain(`127.0.0.2:${port} (memcached.port) is taken by sshd pid `);
    // 127.0.0.200 routes locally: no ARP probe is made, and no node has it as an address.
    expect(get(undefined, "vip")).toMatchObject({ status: "warn" });
    expect(get(undefined, "vip").detail).toContain("could not be probed by ARP (controller01: local");
    expect(r.checks.filter((c) => c.check === "repositories")).toEqual([
      { check: "repositories", status: "skip", detail: "skipped on request" },
    ]);
    const br =
      existsSync("/proc/sys/net/bridge") ||
      existsSync("/sys/module/br_netfilter") ||
      spawnSync("modprobe", ["-n", "-q", "br_netfilter"]).status === 0;
    expect(get("controller03", "br_netfilter").status).toBe(br ? "pass" : "fail");
    const fs = statfsSync("/var/lib");
    const free = (fs.bavail * fs.bsize) / 1024;
    expect(get("controller01", "disk").status).toBe(free >= 3 * 1024 * 1024 ? "pass" : "fail");
    expect(parsePreflightReport(JSON.stringify(r), "report")).toEqual(r);
  });

  it("asks the spec's package mirror (a test server on 127.0.0.1) and fails when it stops answering", async () => {
    const server: Server = createServer((_, res) => res.writeHead(200).end());
    await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
    const mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { cluster } = clusterOf(spec({ memcachedPort: 11211, os: "centos8", mirror }));
    const ask = async () => {
      const r = await preflight({ cluster, transport: await labTransport(lab), nodes: ["controller01"] });
      return r.checks.find((c) => c.check === "repositories")!;
    };
    expect(await ask()).toMatchObject({ status: "pass", detail: `answering: ${mirror}/` });
    await new Promise<void>((res) => server.close(() => res()));
    expect(await ask()).toMatchObject({ status: "fail", detail: `not answering: ${mirror}/ (HTTP 000)` });
  });
});

describe("status over real sshd", () => {
  it("asks every service of every node; none runs here, so the cluster is not healthy and says why", async () => {
    const { cluster } = clusterOf(spec({ memcachedPort: 1 }));
    const dir = join(lab.dir, "files");
    mkdirSync(dir, { recursive: true });
    const secretValue = "s3cr3t-value-never-printed";
    const same = file("controller01", join(dir, "same.conf"), "a = 1\n");
    const edited = file("controller01", join(dir, "edited.conf"), "b = 2\n");
    const secret = file("controller01", join(dir, "secret.env"), `PW=${secretValue}\n`, { secret: true, mode: 0o600 });
    const missing = file("controller01", join(dir, "missing.conf"), "c = 3\n");
    writeFileSync(same.path, same.content, { mode: 0o644 });
    writeFileSync(edited.path, "b = 3\n", { mode: 0o644 });
    writeFileSync(secret.path, "PW=changed-by-hand\n", { mode: 0o600 });
    const base = await labTransport(lab);
    // controller03 cannot be reached: what it would say is unknown.
    const transport: Transport = {
      connect: (n) =>
        n === "controller03"
          ? Promise.reject(new ConnectError(n, "connect ECONNREFUSED 127.0.0.3:22", true))
          : base.connect(n),
      close: () => base.close(),
    };
    const t0 = Date.now();
    const r = await status({
      cluster,
      artifacts: [same, edited, secret, missing],
      transport,
      secrets: [secretValue],
    });
    const ms = Date.now() - t0;
    statusReportSchema.parse(r);
    expect(r.health).not.toBe("healthy");
    const of = (component: string, node?: string) =>
      r.items.filter((i) => i.component === component && i.node === node);
    expect(of("connect", "controller03")).toEqual([
      {
        component: "connect",
        node: "controller03",
        state: "unknown",
        summary: "cannot connect: connect ECONNREFUSED 127.0.0.3:22",
        facts: {},
      },
    ]);
    for (const n of ["controller01", "controller02"]) {
      for (const c of ["galera", "clustercheck", "rabbitmq", "etcd", "memcached", "pacemaker", "haproxy", "chrony"]) {
        const [item, more] = of(c, n);
        expect(item, `${c} on ${n}`).toBeDefined();
        expect(more).toBeUndefined();
      }
      // Nothing answers on the node's memcached and clustercheck ports (1 and 9200 on 127.0.0.1-2).
      expect(of("memcached", n)[0]).toMatchObject({ state: "problem", summary: "not answering: no connection" });
      expect(of("haproxy", n)[0]!.state).not.toBe("ok");
      // A failed client's telling line, not its JSON log or XML.
      for (const c of ["etcd", "pacemaker", "galera"]) expect(of(c, n)[0]!.summary).not.toMatch(/[{<]/);
      expect(of("galera", n)[0]!.state).not.toBe("ok");
    }
    expect(of("files", "controller01")).toEqual([
      {
        component: "files",
        node: "controller01",
        state: "problem",
        summary: `content differs: ${edited.path}, ${secret.path}; missing: ${missing.path}`,
        facts: { files: 4, changed: [edited.path, secret.path], missing: [missing.path], modeOrOwner: [] },
      },
    ]);
    expect(JSON.stringify(r)).not.toContain(secretValue);
    expect(JSON.stringify(r)).not.toContain("changed-by-hand");
    // Every node at once: the slowest section is bounded (8 s), the whole answer well below the sum.
    expect(r.ms).toBeLessThanOrEqual(ms);
  });
});

describe("the commands", () => {
  it("preflight prints a table or the report, exits 1 on a failed check; deploy then changes nothing", async () => {
    const human = await cli(["preflight", specPath, ...sshArgs(), "--skip", "repositories"]);
    expect(human.code, human.stderr).toBe(1);
    expect(human.stdout).toMatch(/^NODE {2,}CHECK {2,}RESULT {2}DETAIL$/m);
    expect(human.stdout).toMatch(/^controller02 +interface +FAIL +lo does not carry 127\.0\.0\.2\/8/m);
    expect(human.stdout).toContain("      → configure 127.0.0.2/8 on lo");
    expect(human.stdout).toMatch(/^preflight FAILED: \d+ check\(s\) failed/m);

    const json = await cli(["preflight", specPath, ...sshArgs(), "--skip", "repositories", "--json"]);
    expect(json.code).toBe(1);
    const report = parsePreflightReport(json.stdout, "stdout");
    expect(report.ok).toBe(false);

    const bad = await cli(["preflight", specPath, ...sshArgs(), "--skip", "vpi"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--skip: unknown check "vpi"');

    const logs = join(lab.dir, "deploy-logs");
    const deploy = await cli([
      "deploy",
      specPath,
      ...sshArgs(),
      "--secrets",
      join(lab.dir, "s.yaml"),
      "--log-dir",
      logs,
    ]);
    expect(deploy.code).toBe(1);
    expect(deploy.stdout).toMatch(/^controller02 +interface +FAIL/m);
    expect(deploy.stderr).toContain(
      "error: preflight failed: nothing was changed (fix the above, or --skip-preflight)",
    );
    // No run started: no run log, no lock, no push.
    expect(existsSync(logs)).toBe(false);
  });

  it("status prints the table or the report; its exit status is its health", async () => {
    const human = await cli(["status", specPath, ...sshArgs(), "--secrets", join(lab.dir, "st.yaml")]);
    expect([1, 2]).toContain(human.code);
    expect(human.stdout).toMatch(/^COMPONENT {2,}NODE {2,}STATE {2,}SUMMARY$/m);
    expect(human.stdout).toMatch(/^memcached +controller01 +PROBLEM +not answering/m);
    const json = await cli(["status", specPath, ...sshArgs(), "--secrets", join(lab.dir, "st.yaml"), "--json"]);
    const report = parseStatusReport(json.stdout, "stdout");
    expect(json.code).toBe({ healthy: 0, degraded: 1, unknown: 2 }[report.health]);
    // Read-only: the missing secrets file was neither written nor needed.
    expect(existsSync(join(lab.dir, "st.yaml"))).toBe(false);
    expect(json.stderr).toContain("files holding secrets are not compared");
  });
});

describe("the probe scripts", () => {
  it("pass shellcheck as rendered", () => {
    const { cluster } = clusterOf(spec({ memcachedPort: 11211 }));
    const scripts = [
      preflightScript({
        vip: cluster.vip.address,
        vipInterface: "lo",
        arp: 1,
        repos: 1,
        packageManager: "apt",
        mirror: "",
        hosts: NODES,
        dirs: ["/var/lib/mysql", "/var/lib/etcd/it's"],
      }),
      statusScript(STATUS_SCRIPT_CONTEXT),
    ];
    for (const s of scripts) {
      const r = spawnSync("shellcheck", ["-s", "bash", "-S", "warning", "-"], { input: s, encoding: "utf8" });
      expect(r.status, r.stdout).toBe(0);
    }
  });
});
