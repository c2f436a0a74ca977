import { describe, expect, it } from "vitest";
import { hostMatches, parseProxyJump, parseSshConfig, resolveSshHost, splitConfigLine, SshConfigError } from "../../deploy/ssh-config.js";

const HOME = "/home/op";
const resolve = (text: string, host: string, files: Record<string, string> = {}) =>
  resolveSshHost(
    parseSshConfig(text, "/home/op/.ssh/config", {
      home: HOME,
      readFile: (p) => {
        if (!(p in files)) throw new Error(`ENOENT ${p}`);
        return files[p]!;
      },
      listDir: (d) => Object.keys(files).filter((f) => f.startsWith(d + "/")).map((f) => f.slice(d.length + 1)),
    }),
    host,
    { home: HOME, localUser: "op" },
  );

describe("ssh config parsing", () => {
  it("splits keyword and values: whitespace, `=`, quotes, trailing comments", () => {
    expect(splitConfigLine("HostName 10.0.0.1")).toEqual(["HostName", "10.0.0.1"]);
    expect(splitConfigLine("Port=2222")).toEqual(["Port", "2222"]);
    expect(splitConfigLine("Port = 2222")).toEqual(["Port", "2222"]);
    expect(splitConfigLine('IdentityFile "~/my keys/id_ed25519" # primary')).toEqual(["IdentityFile", "~/my keys/id_ed25519"]);
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
    expect(c).toMatchObject({ hostname: "10.15.253.163", hostnameFromConfig: true, port: 2201, user: "admin", identityFiles: [`${HOME}/.ssh/id_ed25519`] });
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
      `Host n1\n  HostName 127.0.0.2\n  User deploy\n  IdentityFile ~/.ssh/%h_%r\n  IdentityFile /keys/%n-%p\nHost *\n  IdentityFile keys/default\n  IdentitiesOnly yes\n`,
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
    expect(parseProxyJump("ops@bastion:2222,inner")).toEqual([{ user: "ops", host: "bastion", port: 2222 }, { host: "inner" }]);
    expect(parseProxyJump("ssh://ops@[::1]:2200")).toEqual([{ user: "ops", host: "::1", port: 2200 }]);
    expect(parseProxyJump("none")).toEqual([]);
    expect(() => parseProxyJump("host:99999")).toThrow(SshConfigError);
    const c = resolve("Host c*\n  ProxyJump ops@bastion:2222\n", "c1");
    expect(c.proxyJump).toEqual([{ user: "ops", host: "bastion", port: 2222 }]);
  });

  it("refuses Match blocks (except Match all) instead of ignoring them", () => {
    expect(() => resolve("Match host foo\n  User x\n", "foo")).toThrow(/Match host foo.*not supported/);
    expect(resolve("Host a\n  Port 1\nMatch all\n  User z\n", "q").user).toBe("z");
  });

  it("reports options it will not honour, such as StrictHostKeyChecking no", () => {
    const c = resolve("Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n", "x");
    expect(c.ignored.join("\n")).toMatch(/stricthostkeychecking ignored: ha-gen never disables host key checking/i);
    expect(c.ignored.join("\n")).toMatch(/userknownhostsfile ignored/i);
  });

  it("rejects a bad Port with file and line", () => {
    expect(() => resolve("\nHost a\n  Port ssh\n", "a")).toThrow(/config:3: invalid Port "ssh"/);
  });

  it("follows Include (relative to the config, with globs), scoped to the enclosing Host block", () => {
    const files = {
      "/home/op/.ssh/conf.d/10-lab": "Host lab1\n  HostName 127.0.0.9\n",
      "/home/op/.ssh/conf.d/20-more": "ConnectTimeout 5\n",
      "/home/op/.ssh/only-c": "User scoped\nHost *inner\n  Port 7\n",
    };
    const cfg = "Include conf.d/*\nHost c*\n  Include only-c\n  IdentityFile ~/k\nHost *\n  User fallback\n";
    expect(resolve(cfg, "lab1", files)).toMatchObject({ hostname: "127.0.0.9", connectTimeoutSec: 5, user: "fallback" });
    expect(resolve(cfg, "c1", files)).toMatchObject({ user: "scoped", identityFiles: [`${HOME}/k`] });
    // A Host block inside an Include under `Host c*` applies only to names matching both.
    expect(resolve(cfg, "cinner", files).port).toBe(7);
    expect(resolve(cfg, "inner", files).port).toBe(22);
  });
});
