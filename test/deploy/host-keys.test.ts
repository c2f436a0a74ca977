import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy } from "../../deploy/deploy.js";
import { KnownHostsFile } from "../../deploy/known-hosts.js";
import { loadSshConfig, resolveSshHost } from "../../deploy/ssh-config.js";
import { SshTransport } from "../../deploy/ssh-transport.js";
import { descendants, startSshdLab, type SshdLab } from "../helpers/deploy-sshd.js";
import { file, labTransport, recorder, walk } from "../helpers/deploy-fixtures.js";

/**
 * Host key verification against real sshd: unknown keys refused (nothing changed), trust on
 * first use records a hashed entry that OpenSSH's own ssh-keygen finds, a changed key is refused
 * even with --accept-new-host-keys, entries hashed by `ssh-keygen -H` are honoured, and ProxyJump
 * really goes through the bastion.
 */

let lab: SshdLab;
let n = 0;
const fresh = () => join(lab.dir, `case-${++n}`);

beforeAll(async () => {
  lab = await startSshdLab(["k1", "k2", "bastion"], { addressBase: 50 });
});
afterAll(async () => {
  await lab?.stop();
});

const artifacts = [file("k1", "/etc/motd", "hello\n"), file("k2", "/etc/motd", "hello\n")];

async function push(knownHostsPath: string, accept: boolean, root: string) {
  const rec = recorder();
  const accepted: string[] = [];
  const result = await deploy({
    artifacts,
    plan: { steps: [] },
    transport: await labTransport(lab, {
      knownHostsPath,
      acceptNewHostKeys: accept,
      onHostKeyAccepted: (name) => accepted.push(name),
    }),
    root: join(root, "{node}"),
    onEvent: rec.sink,
  });
  return { result, rec, accepted };
}

const keygenFind = (name: string, file: string) =>
  spawnSync("ssh-keygen", ["-F", name, "-f", file], { encoding: "utf8" });

describe("host keys", () => {
  it("refuses an unknown host key and changes nothing", async () => {
    const dir = fresh();
    mkdirSync(dir);
    const kh = join(dir, "known_hosts");
    writeFileSync(kh, "");
    const { result, rec } = await push(kh, false, dir);
    expect(result.ok).toBe(false);
    expect(result.failed?.step).toBe("connect");
    const errors = rec
      .of("error")
      .map((e) => e.message)
      .join("\n");
    expect(errors).toMatch(/unknown host key for \[127\.0\.0\.5[01]\]:\d+ \(ssh-ed25519 SHA256:/);
    expect(errors).toContain("--accept-new-host-keys");
    expect(rec.of("push-start")).toEqual([]);
    expect(existsSync(join(dir, "k1"))).toBe(false);
    expect(readFileSync(kh, "utf8")).toBe("");
  });

  it("--accept-new-host-keys trusts on first use and records hashed entries ssh-keygen can find", async () => {
    const dir = fresh();
    mkdirSync(dir);
    const kh = join(dir, "known_hosts");
    const first = await push(kh, true, dir);
    expect(first.result.ok).toBe(true);
    expect(first.accepted.sort()).toEqual(
      [
        `[${lab.instance("k1").host}]:${lab.instance("k1").port}`,
        `[${lab.instance("k2").host}]:${lab.instance("k2").port}`,
      ].sort(),
    );
    const text = readFileSync(kh, "utf8");
    expect(
      text
        .split("\n")
        .filter(Boolean)
        .every((l) => l.startsWith("|1|")),
    ).toBe(true);
    for (const name of ["k1", "k2"]) {
      const s = lab.instance(name);
      const r = keygenFind(`[${s.host}]:${s.port}`, kh);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(s.hostKeyPub.split(" ")[1]);
    }
    // Now known: a run without the flag connects.
    const second = await push(kh, false, dir);
    expect(second.result.ok).toBe(true);
    expect(second.accepted).toEqual([]);
  });

  it("honours entries hashed by ssh-keygen -H", async () => {
    const dir = fresh();
    mkdirSync(dir);
    const kh = join(dir, "known_hosts");
    copyFileSync(lab.knownHosts, kh);
    const r = spawnSync("ssh-keygen", ["-H", "-f", kh], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(kh, "utf8")).not.toContain("127.0.0.");
    const { result } = await push(kh, false, dir);
    expect(result.ok).toBe(true);
  });

  it("refuses a changed host key even with --accept-new-host-keys and leaves known_hosts alone", async () => {
    const dir = fresh();
    mkdirSync(dir);
    const kh = join(dir, "known_hosts");
    copyFileSync(lab.knownHosts, kh);
    await lab.rotateHostKey("k2");
    try {
      const before = readFileSync(kh, "utf8");
      const { result, rec } = await push(kh, true, dir);
      expect(result.ok).toBe(false);
      const err = rec.of("error").find((e) => e.node === "k2")!;
      expect(err.message).toContain("HOST KEY CHANGED");
      expect(err.message).toContain("never accepts a changed key");
      // Nothing was pushed anywhere, not even to the node whose key was fine.
      expect(walk(dir)).toEqual(["known_hosts"]);
      expect(readFileSync(kh, "utf8")).toBe(before);
    } finally {
      // Later tests use the lab's known_hosts: record the new key there.
      const s = lab.instance("k2");
      const lines = readFileSync(lab.knownHosts, "utf8")
        .split("\n")
        .filter((l) => l && !l.startsWith(`[${s.host}]:${s.port} `));
      writeFileSync(lab.knownHosts, `${[...lines, `[${s.host}]:${s.port} ${s.hostKeyPub}`].join("\n")}\n`);
    }
  });

  it("reaches a node through a ProxyJump bastion, whose host key is checked too", async () => {
    const target = lab.instance("k1");
    const bastion = lab.instance("bastion");
    const cfgPath = join(lab.dir, "jump_config");
    writeFileSync(
      cfgPath,
      `Host behind\n  HostName ${target.host}\n  Port ${target.port}\n  ProxyJump jumpbox\n\n` +
        `Host jumpbox\n  HostName ${bastion.host}\n  Port ${bastion.port}\n\n` +
        `Host *\n  User root\n  IdentityFile ${lab.clientKey}\n`,
    );
    const config = loadSshConfig(cfgPath, true);
    const transport = new SshTransport({
      resolve: (h) => resolveSshHost(config, h),
      knownHosts: await KnownHostsFile.load(lab.knownHosts),
      acceptNewHostKeys: false,
      defaultUser: "root",
      connectRetries: 0,
    });
    const conn = await transport.connect("behind");
    const r = await conn.exec("echo through");
    expect(r.stdout.trim()).toBe("through");
    // The bastion holds a session while we are connected; dropping it drops the node's connection.
    expect(descendants(bastion.process.pid!).length).toBeGreaterThan(0);
    lab.killSessions("bastion");
    await expect(conn.exec("echo again")).rejects.toThrow(/connection/);
    await transport.close();

    // An unknown bastion key is refused like any other.
    const dir = fresh();
    mkdirSync(dir);
    const onlyTarget = join(dir, "known_hosts");
    writeFileSync(onlyTarget, `[${target.host}]:${target.port} ${target.hostKeyPub}\n`);
    const t2 = new SshTransport({
      resolve: (h) => resolveSshHost(config, h),
      knownHosts: await KnownHostsFile.load(onlyTarget),
      acceptNewHostKeys: false,
      defaultUser: "root",
      connectRetries: 0,
    });
    await expect(t2.connect("behind")).rejects.toThrow(/jump host jumpbox: unknown host key/);
    await t2.close();
  });
});
