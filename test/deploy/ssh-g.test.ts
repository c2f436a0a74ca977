import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SshConfigError } from "../../deploy/ssh-config.js";
import { parseSshG, resolveWithSshG, sshAvailable, type RunSsh } from "../../deploy/ssh-g.js";

/**
 * Host resolution by OpenSSH's own `ssh -G` (the real ssh of this machine; it prints the
 * configuration and exits, connecting nowhere): Match blocks of every kind, defaults that ha-gen
 * replaces with its own, options it will not follow, and failures. Every address is loopback.
 */

let dir: string;
beforeAll(() => {
  if (!sshAvailable()) throw new Error("ssh is not installed: run .ci/install-system-deps.sh (openssh-client)");
  dir = mkdtempSync(join(tmpdir(), "ha-gen-sshg-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
}

describe("ssh -G (the real ssh)", () => {
  it("applies Match blocks, which ha-gen's own parser cannot evaluate", () => {
    const f = config(
      "match",
      [
        "Host c1",
        "  HostName 127.0.0.31",
        "Host c2",
        "  HostName 127.0.0.32",
        // Evaluated against the HostName already set: beyond any Host-pattern parser.
        "Match host 127.0.0.32",
        "  Port 2200",
        "Match originalhost c2",
        "  User deploy",
        "  ProxyJump ops@127.0.0.9:2222",
        "Match exec false",
        "  Port 9",
        "",
      ].join("\n"),
    );
    const c1 = resolveWithSshG("c1", { configFile: f });
    expect(c1).toMatchObject({ alias: "c1", hostname: "127.0.0.31", hostnameFromConfig: true, port: 22 });
    expect(c1.proxyJump).toEqual([]);
    const c2 = resolveWithSshG("c2", { configFile: f });
    expect(c2).toMatchObject({ hostname: "127.0.0.32", port: 2200, user: "deploy" });
    expect(c2.proxyJump).toEqual([{ user: "ops", host: "127.0.0.9", port: 2222 }]);
    expect(c2.ignored).toEqual([]);
  });

  it("ssh's defaults are not taken as configured: no HostName, User or IdentityFile", () => {
    const c = resolveWithSshG("node7", { configFile: config("empty", "") });
    expect(c).toMatchObject({ hostname: "node7", hostnameFromConfig: false, port: 22, identityFiles: [] });
    expect(c.user).toBeUndefined();
    expect(c.ignored).toEqual([]);
  });

  it("identity files with ~ and tokens; options ha-gen does not follow are reported", () => {
    const f = config(
      "opts",
      "Host n1\n  HostName 127.0.0.5\n  IdentityFile ~/.ssh/k_%h\n  StrictHostKeyChecking no\n  ConnectTimeout 7\n",
    );
    const c = resolveWithSshG("n1", { configFile: f });
    expect(c.identityFiles).toEqual([join(homedir(), ".ssh/k_127.0.0.5")]);
    expect(c.connectTimeoutSec).toBe(7);
    expect(c.ignored).toEqual([
      "ssh -G n1: stricthostkeychecking false ignored: ha-gen never disables host key checking " +
        "(use --accept-new-host-keys for trust on first use)",
    ]);
  });

  it("a config ssh rejects is an SshConfigError with ssh's reason", () => {
    const f = config("bad", "Host x\n  NoSuchOption 1\n");
    expect(() => resolveWithSshG("x", { configFile: f })).toThrow(SshConfigError);
    expect(() => resolveWithSshG("x", { configFile: f })).toThrow(/NoSuchOption|Bad configuration option/i);
  });
});

describe("ssh -G output and runner (injected)", () => {
  it("parses what ssh prints; the runner gets -G, -F and the name after --", () => {
    const calls: (readonly string[])[] = [];
    const run: RunSsh = (args) => {
      calls.push(args);
      return { status: 0, stdout: "hostname 127.0.0.3\nport 2022\nuser op2\nhostkeyalias h3\n", stderr: "" };
    };
    const c = resolveWithSshG("h", { run, configFile: "/x/cfg", localUser: "me" });
    expect(calls).toEqual([["-G", "-F", "/x/cfg", "--", "h"]]);
    expect(c).toMatchObject({ hostname: "127.0.0.3", port: 2022, user: "op2", hostKeyAlias: "h3" });
    expect(parseSshG("h", `user ${userInfo().username}\n`).user).toBeUndefined();
  });

  it("no ssh: not available, and resolving says so", () => {
    const missing: RunSsh = () => ({ status: null, stdout: "", stderr: "", error: new Error("spawn ssh ENOENT") });
    expect(sshAvailable(missing)).toBe(false);
    expect(() => resolveWithSshG("h", { run: missing })).toThrow(/cannot run ssh -G: spawn ssh ENOENT/);
  });
});
