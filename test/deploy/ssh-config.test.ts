import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KnownHostsFile } from "../../deploy/known-hosts.js";
import {
  hostMatches,
  parseProxyJump,
  parseSshConfig,
  resolveSshHost,
  splitConfigLine,
  SshConfigError,
} from "../../deploy/ssh-config.js";
import { SshTransport } from "../../deploy/ssh-transport.js";

const HOME = "/home/op";
const resolve = (text: string, host: string, files: Record<string, string> = {}) =>
  resolveSshHost(
    parseSshConfig(text, "/home/op/.ssh/config", {
      home: HOME,
      readFile: (p) => {
        if (!(p in files)) throw Object.assign(new Error(`ENOENT ${p}`), { code: "ENOENT" });
        return files[p]!;
      },
      listDir: (d) =>
        Object.keys(files)
          .filter((f) => f.startsWith(`${d}/`))
          .map((f) => f.slice(d.length + 1)),
    }),
    host,
    { home: HOME, localUser: "op" },
  );

describe("ssh config parsing", () => {
  it("splits keyword and values: whitespace, `=`, quotes, trailing comments", () => {
    expect(splitConfigLine("HostName 10.0.0.1")).toEqual(["HostName", "10.0.0.1"]);
    expect(splitConfigLine("Port=2222")).toEqual(["Port", "2222"]);
    expect(splitConfigLine("Port = 2222")).toEqual(["Port", "2222"]);
    expect(splitConfigLine('IdentityFile "~/my keys/id_ed25519" # primary')).toEqual([
      "IdentityFile",
      "~/my keys/id_ed25519",
    ]);
    expect(() => splitConfigLine('IdentityFile "unterminated')).toThrow(/unterminated/);
  });

  it("first value wins, across blocks, like OpenSSH", () => {
    const cfg = `
Host controller01
  HostName 10.15.253.163
  Port 2201
Host controller*
  User admin
  Port 22
Host *
  User root
  IdentityFile ~/.ssh/id_ed25519
`;
    const c = resolve(cfg, "controller01");
    expect(c).toMatchObject({
      hostname: "10.15.253.163",
      hostnameFromConfig: true,
      port: 2201,
      user: "admin",
      identityFiles: [`${HOME}/.ssh/id_ed25519`],
    });
    const other = resolve(cfg, "compute01");
    expect(other).toMatchObject({ hostname: "compute01", hostnameFromConfig: false, port: 22, user: "root" });
  });

  it("matches wildcards and negations", () => {
    expect(hostMatches("controller01", ["controller0?"])).toBe(true);
    expect(hostMatches("controller10", ["controller0?"])).toBe(false);
    expect(hostMatches("Controller01", ["controller*"])).toBe(true);
    expect(hostMatches("ceph01", ["*", "!ceph*"])).toBe(false);
    expect(hostMatches("compute01", ["*", "!ceph*"])).toBe(true);
    expect(hostMatches("x", ["!x"])).toBe(false); // a negation alone never matches
    expect(hostMatches("a.b", ["a?b"])).toBe(true);
    expect(hostMatches("axb", ["a.b"])).toBe(false); // `.` is literal
  });

  it("accumulates IdentityFile entries and expands ~ and tokens", () => {
    const c = resolve(
      `Host n1\n  HostName 127.0.0.2\n  User deploy\n  IdentityFile ~/.ssh/%h_%r\n  IdentityFile /keys/%n-%p\n` +
        `Host *\n  IdentityFile keys/default\n  IdentitiesOnly yes\n`,
      "n1",
    );
    expect(c.identityFiles).toEqual([`${HOME}/.ssh/127.0.0.2_deploy`, "/keys/n1-22", `${HOME}/keys/default`]);
    expect(c.identitiesOnly).toBe(true);
    expect(() => resolve(`Host x\n  IdentityFile ~/%Z\n`, "x")).toThrow(SshConfigError);
  });

  it("expands %h in HostName", () => {
    expect(resolve("Host *.lab\n  HostName %h.example.internal\n", "c1.lab").hostname).toBe("c1.lab.example.internal");
  });

  it("parses ProxyJump chains and resolves the jump host later through the same config", () => {
    expect(parseProxyJump("bastion")).toEqual([{ host: "bastion" }]);
    expect(parseProxyJump("ops@bastion:2222,inner")).toEqual([
      { user: "ops", host: "bastion", port: 2222 },
      { host: "inner" },
    ]);
    expect(parseProxyJump("ssh://ops@[::1]:2200")).toEqual([{ user: "ops", host: "::1", port: 2200 }]);
    expect(parseProxyJump("none")).toEqual([]);
    expect(() => parseProxyJump("host:99999")).toThrow(SshConfigError);
    const c = resolve("Host c*\n  ProxyJump ops@bastion:2222\n", "c1");
    expect(c.proxyJump).toEqual([{ user: "ops", host: "bastion", port: 2222 }]);
  });

  it("skips Match blocks it cannot evaluate (except Match all), with a warning, instead of refusing", () => {
    const c = resolve("Match host foo\n  User x\nHost foo\n  Port 2022\n", "foo");
    expect(c.port).toBe(2022);
    expect(c.user).toBeUndefined();
    expect(c.ignored).toEqual([
      "/home/op/.ssh/config:1: Match host foo: skipped: the built-in parser cannot evaluate Match " +
        "(with OpenSSH's ssh installed, ssh -G would)",
    ]);
    // A Match block inside the Host block that applies is skipped; what follows a Host line applies again.
    const inc = { "/home/op/.ssh/m.conf": "Match exec true\n  Port 1\nHost *\n  User u\n" };
    const d = resolve("Include m.conf\nHost bar\n  HostName 127.0.0.1\n", "bar", inc);
    expect(d).toMatchObject({ port: 22, user: "u", hostname: "127.0.0.1" });
    expect(d.ignored).toHaveLength(1);
    // An empty Match block changes nothing, so there is nothing to warn about.
    expect(resolve("Match user z\nHost q\n  Port 3\n", "q").ignored).toEqual([]);
    expect(resolve("Host a\n  Port 1\nMatch all\n  User z\n", "q").user).toBe("z");
    expect(() => resolve("Match\n", "q")).toThrow(/Match needs criteria/);
  });

  it("reports options it will not honour, such as StrictHostKeyChecking no", () => {
    const c = resolve("Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n", "x");
    expect(c.ignored.join("\n")).toMatch(/stricthostkeychecking ignored: ha-gen never disables host key checking/i);
    expect(c.ignored.join("\n")).toMatch(/userknownhostsfile ignored/i);
  });

  it("rejects a bad Port with file and line", () => {
    expect(() => resolve("\nHost a\n  Port ssh\n", "a")).toThrow(/config:3: invalid Port "ssh"/);
  });

  it("follows Include (relative to ~/.ssh, with globs), scoped to the enclosing Host block", () => {
    const files = {
      "/home/op/.ssh/conf.d/10-lab": "Host lab1\n  HostName 127.0.0.9\n",
      "/home/op/.ssh/conf.d/20-more": "ConnectTimeout 5\n",
      "/home/op/.ssh/only-c": "User scoped\nHost *inner\n  Port 7\n",
    };
    const cfg = "Include conf.d/*\nHost c*\n  Include only-c\n  IdentityFile ~/k\nHost *\n  User fallback\n";
    expect(resolve(cfg, "lab1", files)).toMatchObject({
      hostname: "127.0.0.9",
      connectTimeoutSec: 5,
      user: "fallback",
    });
    expect(resolve(cfg, "c1", files)).toMatchObject({ user: "scoped", identityFiles: [`${HOME}/k`] });
    // A Host block inside an Include under `Host c*` applies only to names matching both.
    expect(resolve(cfg, "cinner", files).port).toBe(7);
    expect(resolve(cfg, "inner", files).port).toBe(22);
  });
});

/**
 * Careless and hostile configs: every mistake is one SshConfigError naming the file and line (never
 * a TypeError or a stack), and Include behaves as the installed OpenSSH does (checked with
 * `ssh -G -F`): an Include that matches no file, or names a directory, is skipped; an unreadable
 * one, or one writable by others, is fatal; relative paths are in ~/.ssh; `*` skips dotfiles.
 */
describe("careless and hostile ssh configs", () => {
  const tmp = mkdtempSync(join(tmpdir(), "ha-gen-sshcfg-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const onDisk = (text: string, host: string, home = tmp) => {
    const f = join(tmp, `config-${Math.random().toString(16).slice(2)}`);
    writeFileSync(f, text);
    return resolveSshHost(parseSshConfig(text, f, { home }), host, { home, localUser: "op" });
  };

  it("skips an Include that matches no file, glob or not, as OpenSSH does (regression: ENOENT stack)", () => {
    const cfg = `Include ${tmp}/missing.conf\nInclude ${tmp}/nothing.d/*\nHost a\n  HostName 127.0.0.9\n`;
    expect(onDisk(cfg, "a").hostname).toBe("127.0.0.9");
    expect(resolve("Include nowhere.conf\nHost a\n  Port 7\n", "a").port).toBe(7);
  });

  it("reads an Include naming a directory as empty, as OpenSSH does", () => {
    mkdirSync(join(tmp, "adir"));
    expect(onDisk(`Include ${tmp}/adir\nHost a\n  Port 7\n`, "a").port).toBe(7);
  });

  it("refuses an unreadable Include with the file, line and path", () => {
    const eacces = () => {
      throw Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" });
    };
    const parse = () =>
      parseSshConfig("Host a\n  Include secret.conf\n", "/home/op/.ssh/config", { home: HOME, readFile: eacces });
    expect(parse).toThrow(SshConfigError);
    expect(parse).toThrow("/home/op/.ssh/config:2: cannot read included file /home/op/.ssh/secret.conf: EACCES");
  });

  it("refuses an included file others may write, like OpenSSH's 'Bad owner or permissions'", () => {
    const f = join(tmp, "ww.conf");
    writeFileSync(f, "Host a\n  HostName 10.0.0.1\n");
    chmodSync(f, 0o666);
    expect(() => onDisk(`Include ${f}\n`, "a")).toThrow(SshConfigError);
    expect(() => onDisk(`Include ${f}\n`, "a")).toThrow(`bad owner or permissions on ${f}`);
    chmodSync(f, 0o644);
    expect(onDisk(`Include ${f}\n`, "a").hostname).toBe("10.0.0.1");
  });

  it("expands Include globs as glob(3): no dotfiles for `*`, case-sensitive, in directories too", () => {
    const d = join(tmp, "globs");
    mkdirSync(join(d, "one"), { recursive: true });
    mkdirSync(join(d, "two"), { recursive: true });
    writeFileSync(join(d, "one", ".swap"), "Host a\n  Port 1\n");
    writeFileSync(join(d, "one", "A.conf"), "Host a\n  User upper\n");
    writeFileSync(join(d, "one", "b.conf"), "Host a\n  Port 2\n");
    writeFileSync(join(d, "two", "b.conf"), "Host a\n  HostName 127.0.0.3\n");
    const c = onDisk(`Include ${d}/*/b.conf ${d}/one/a.*\n`, "a");
    expect(c).toMatchObject({ port: 2, hostname: "127.0.0.3" });
    expect(c.user).toBeUndefined();
  });

  it("resolves a relative Include in ~/.ssh wherever the config file is, as OpenSSH does for user configs", () => {
    const home = join(tmp, "home");
    mkdirSync(join(home, ".ssh"), { recursive: true });
    writeFileSync(join(home, ".ssh", "lab.conf"), "Host a\n  Port 2200\n");
    expect(onDisk("Include lab.conf\n", "a", home).port).toBe(2200);
  });

  it("refuses a line without a keyword, and malformed values, with file and line (regression: TypeError)", () => {
    expect(() => resolve("Host a\n  = value\n", "a")).toThrow(/config:2: .*keyword/);
    expect(() => resolve("Host a\n  = value\n", "a")).toThrow(SshConfigError);
    expect(() => resolve("Host a\n  Port 0x16\n", "a")).toThrow(/config:2: invalid Port "0x16"/);
    expect(() => resolve("Host a\n  ConnectTimeout soon\n", "a")).toThrow(/config:2: invalid ConnectTimeout "soon"/);
    expect(() => resolve("Host a\n  IdentitiesOnly maybe\n", "a")).toThrow(/config:2: invalid IdentitiesOnly "maybe"/);
    expect(() => resolve("Host a\n  ProxyJump b,,c\n", "a")).toThrow(/config:2: invalid ProxyJump entry ""/);
  });

  it("matches many-wildcard patterns in linear time (regression: a regex backtracked for minutes)", () => {
    const pattern = `${"*a".repeat(24)}*b`;
    const t0 = Date.now();
    expect(hostMatches("a".repeat(60), [pattern])).toBe(false);
    expect(resolve(`Host ${pattern}\n  Port 9\n`, "a".repeat(60)).port).toBe(22);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(hostMatches(`${"a".repeat(60)}b`, [pattern])).toBe(true);
  });

  it("refuses a ProxyJump loop naming the chain, before any connection (regression: call stack overflow)", async () => {
    const cfg = parseSshConfig(
      "Host node1\n  ProxyJump jump1\nHost jump1\n  ProxyJump ops@jump2:2222\nHost jump2\n  ProxyJump node1\n" +
        "Host *\n  HostName 127.0.0.1\n  Port 9\n",
      "/cfg",
    );
    const t = new SshTransport({
      resolve: (n) => resolveSshHost(cfg, n, { home: HOME, localUser: "op" }),
      knownHosts: await KnownHostsFile.load(join(tmp, "no-known-hosts")),
      acceptNewHostKeys: false,
      defaultUser: "root",
      password: "unused",
    });
    const err = await t.connect("node1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshConfigError);
    expect((err as Error).message).toBe(
      "ProxyJump loop: node1 -> jump1 -> jump2 -> node1 (/cfg:2 ProxyJump jump1; /cfg:4 ProxyJump ops@jump2:2222; " +
        "/cfg:6 ProxyJump node1)",
    );
    await t.close();
  });
});
