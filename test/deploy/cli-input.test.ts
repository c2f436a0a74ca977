import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

/**
 * Ordinary mistakes in the files `ha-gen deploy` is pointed at end as one line naming the file or
 * option, exit 2 (never "internal error" with a stack, exit 70). The built CLI (`npx tsup` first);
 * no sshd: each mistake is caught before a connection, and the config sends every host to a closed
 * loopback port in case one is not.
 */

const CLI = new URL("../../dist/cli/bin.js", import.meta.url).pathname;
const SPEC = new URL("../../examples/lab/cluster.ts", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "ha-gen-cli-input-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(
  args: readonly string[],
  extraEnv: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res, rej) => {
    const { SSH_AUTH_SOCK: _agent, ...env } = process.env;
    const p = spawn(process.execPath, [CLI, ...args], {
      env: { ...env, ...extraEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const t = setTimeout(() => p.kill("SIGKILL"), 60_000);
    p.on("error", rej);
    p.on("close", (code) => {
      clearTimeout(t);
      res({ code, out, err });
    });
  });
}

const LOOPBACK = "Host *\n  HostName 127.0.0.1\n  Port 9\n  ConnectTimeout 2\n";
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
};
/** HA_GEN_SSH=none: ha-gen's own ssh_config parser, as where OpenSSH's ssh is not installed. */
const PARSER = { HA_GEN_SSH: "none" };
const run = (...extra: string[]) => runWith({}, ...extra);
const runWith = (env: Record<string, string>, ...extra: string[]) =>
  cli(
    [
      "deploy",
      SPEC,
      "--dry-run",
      "--no-log",
      "--secrets",
      join(dir, "s.yaml"),
      "--root",
      join(dir, "roots", "{node}"),
      "--known-hosts",
      join(dir, "known_hosts"),
      "--connect-retries",
      "0",
      "--nodes",
      "controller01",
      ...extra,
    ],
    env,
  );
/** Exactly one `error:` line that says `what`, and nothing that looks like a bug report. */
const oneLine = (r: { err: string; out: string }, what: string) => {
  expect(r.err).not.toContain("internal error");
  expect(r.err + r.out).not.toMatch(/^\s+at /m);
  const errors = r.err.split("\n").filter((l) => l.startsWith("error:"));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toContain(what);
};

describe("ha-gen deploy: careless input is one line, exit 2", () => {
  it("a ProxyJump loop names the chain (regression: 'Maximum call stack size exceeded')", async () => {
    const cfg = file("loop.conf", `Host jb\n  ProxyJump jb2\nHost jb2\n  ProxyJump jb\n${LOOPBACK}  ProxyJump jb\n`);
    const r = await runWith(PARSER, "--ssh-config", cfg);
    expect(r.code, r.err + r.out).toBe(2);
    const at = (line: number, to: string) => `${cfg}:${line} ProxyJump ${to}`;
    oneLine(r, `ProxyJump loop: controller01 -> jb -> jb2 -> jb (${at(9, "jb")}; ${at(2, "jb2")}; ${at(4, "jb")})`);
    // Resolved by ssh -G, each hop names the host whose configuration set it.
    const g = await run("--ssh-config", cfg);
    expect(g.code, g.err + g.out).toBe(2);
    const hop = (h: string, to: string) => `ssh -G ${h}: proxyjump ${to}`;
    oneLine(g, `ProxyJump loop: controller01 -> jb -> jb2 -> jb (${hop("controller01", "jb")}; ${hop("jb", "jb2")}; `);
  });

  it("an ssh config line without a keyword names file and line (regression: TypeError, exit 70)", async () => {
    const cfg = file("nokw.conf", `${LOOPBACK}  = 10.0.0.1\n`);
    const r = await runWith(PARSER, "--ssh-config", cfg);
    expect(r.code, r.err + r.out).toBe(2);
    oneLine(r, `${cfg}:5: a line must start with a keyword`);
    const g = await run("--ssh-config", cfg);
    expect(g.code, g.err + g.out).toBe(2);
    oneLine(g, `ssh -G controller01 failed (exit 255): ${cfg} line 5: `);
  });

  it("a Match block: applied by ssh -G; skipped with a warning by the built-in parser (never refused)", async () => {
    // Both ways lead to closed loopback ports only: Match sets port 10, the Host block port 9.
    const cfg = file("match.conf", `Match originalhost controller01 exec true\n  Port 10\n${LOOPBACK}`);
    // A key to log in with, so that the run gets as far as connecting.
    const key = join(dir, "id_match");
    expect(spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]).status).toBe(0);
    const g = await run("--ssh-config", cfg, "-i", key);
    expect(g.code, g.err + g.out).toBe(1);
    expect(g.out).toContain("cannot connect to root@127.0.0.1:10: connect ECONNREFUSED");
    expect(g.out).not.toContain("skipped");
    const p = await runWith(PARSER, "--ssh-config", cfg, "-i", key);
    expect(p.code, p.err + p.out).toBe(1);
    expect(p.out).toContain("cannot connect to root@127.0.0.1:9: connect ECONNREFUSED");
    expect(p.out).toContain(
      `warning: ${cfg}:1: Match originalhost controller01 exec true: skipped: the built-in parser`,
    );
  });

  it("an Include of a missing file is skipped as ssh skips it (regression: ENOENT stack, exit 70)", async () => {
    const cfg = file("inc.conf", `Include ${join(dir, "not-there.conf")}\n${LOOPBACK}`);
    const r = await run("--ssh-config", cfg);
    // The config was accepted: the run reached the (closed) loopback port.
    expect(r.code, r.err + r.out).toBe(1);
    expect(r.out).toContain("cannot connect to controller01");
    expect(r.err).not.toContain("internal error");
  });

  it("a known_hosts path that is a directory is named (regression: EISDIR stack, exit 70)", async () => {
    const cfg = file("plain.conf", LOOPBACK);
    const kh = join(dir, "kh.d");
    mkdirSync(kh, { recursive: true });
    const r = await run("--ssh-config", cfg, "--known-hosts", kh);
    expect(r.code, r.err + r.out).toBe(2);
    oneLine(r, `cannot read known_hosts file ${kh}: it is a directory`);
  });

  it("an --identity that is a directory is named (regression: silently skipped, then 'cannot connect')", async () => {
    const cfg = file("plain2.conf", LOOPBACK);
    const id = join(dir, "id.d");
    mkdirSync(id, { recursive: true });
    const r = await run("--ssh-config", cfg, "-i", id);
    expect(r.code, r.err + r.out).toBe(2);
    oneLine(r, `identity file ${id} is a directory`);
    expect(existsSync(join(dir, "roots"))).toBe(false);
  });
});
