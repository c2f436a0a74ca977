import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Real OpenSSH servers on loopback for the deploy tests: each instance has its own address
 * (127.0.0.x), port, host key, config and pid file in a temporary directory, runs in the
 * foreground (`sshd -D -e -f`) and is stopped by pid. Everything waits with an upper bound.
 */

export const SSHD = "/usr/sbin/sshd";

export function requireSshTools(): void {
  for (const t of [SSHD, "/usr/bin/ssh-keygen"]) {
    const r = spawnSync("sh", ["-c", `test -x "$1"`, "sh", t]);
    if (r.status !== 0)
      throw new Error(`${t} is not installed: run .ci/install-system-deps.sh (openssh-server, openssh-client)`);
  }
}

export interface SshdInstance {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  /** "ssh-ed25519 AAAA..." */
  hostKeyPub: string;
  readonly process: ChildProcess;
  /** sshd's own stderr so far (for failure messages). */
  log(): string;
}

export interface SshdLabOptions {
  /** Allow password logins (first-contact key installation tests). */
  readonly password?: boolean;
  /** First address is 127.0.0.<base>. */
  readonly addressBase?: number;
}

export interface SshdLab {
  readonly dir: string;
  readonly instances: SshdInstance[];
  /** Private key that every instance accepts for root. */
  readonly clientKey: string;
  readonly clientPub: string;
  /** ssh_config with one Host block per instance (HostName, Port, User root, IdentityFile). */
  readonly sshConfig: string;
  /** known_hosts with every instance's key, plain `[host]:port` entries. */
  readonly knownHosts: string;
  instance(name: string): SshdInstance;
  /** Replaces an instance's host key (simulates a reinstalled or spoofed host) and restarts it. */
  rotateHostKey(name: string): Promise<void>;
  /** SIGKILLs every session process of an instance (drops the connections), not the listener. */
  killSessions(name: string): number;
  stop(): Promise<void>;
}

function keygen(path: string, comment: string): void {
  const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
}

async function freePort(host: string): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** Resolves when the server sends its SSH banner; rejects after `ms`. */
export async function waitForBanner(host: string, port: number, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const sock = connect({ host, port });
      const t = setTimeout(() => {
        sock.destroy();
        res(false);
      }, 1000);
      sock.once("data", (d) => {
        clearTimeout(t);
        sock.destroy();
        res(d.toString().startsWith("SSH-2.0"));
      });
      sock.once("error", () => {
        clearTimeout(t);
        res(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd on ${host}:${port} did not answer within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Pids of every descendant of `pid` (from /proc). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      /* exited meanwhile */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function sshdConfig(dir: string, host: string, port: number, o: SshdLabOptions): string {
  return [
    `Port ${port}`,
    `ListenAddress ${host}`,
    `HostKey ${join(dir, "host_ed25519")}`,
    `PidFile ${join(dir, "sshd.pid")}`,
    // The instance's own file for root, the usual one for test users (first-contact installation).
    `AuthorizedKeysFile ${join(dir, "authorized_keys")} .ssh/authorized_keys`,
    "StrictModes no",
    "UsePAM no",
    `PermitRootLogin ${o.password ? "yes" : "prohibit-password"}`,
    `PasswordAuthentication ${o.password ? "yes" : "no"}`,
    "KbdInteractiveAuthentication no",
    "PubkeyAuthentication yes",
    "Subsystem sftp internal-sftp",
    "MaxSessions 64",
    "MaxStartups 100:30:200",
    "UseDNS no",
    "PrintMotd no",
    "X11Forwarding no",
    "AllowTcpForwarding yes",
    "LogLevel ERROR",
    "",
  ].join("\n");
}

async function startOne(
  name: string,
  dir: string,
  host: string,
  port: number,
  o: SshdLabOptions,
): Promise<SshdInstance> {
  const cfg = join(dir, "sshd_config");
  writeFileSync(cfg, sshdConfig(dir, host, port, o));
  const proc = spawn(SSHD, ["-D", "-e", "-f", cfg], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<never>((_, rej) =>
    proc.once("exit", (code) => rej(new Error(`sshd ${name} exited (${code}): ${err}`))),
  );
  exited.catch(() => undefined);
  await Promise.race([waitForBanner(host, port), exited]);
  return {
    name,
    host,
    port,
    dir,
    hostKeyPub: readFileSync(join(dir, "host_ed25519.pub"), "utf8").trim().split(" ").slice(0, 2).join(" "),
    process: proc,
    log: () => err,
  };
}

async function stopProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return;
  for (const d of descendants(p.pid)) {
    try {
      process.kill(d, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  const gone = new Promise<void>((res) => p.once("exit", () => res()));
  p.kill("SIGTERM");
  const t = setTimeout(() => p.kill("SIGKILL"), 3000);
  await gone;
  clearTimeout(t);
}

export async function startSshdLab(names: readonly string[], o: SshdLabOptions = {}): Promise<SshdLab> {
  requireSshTools();
  // Debian's sshd refuses to start without its privilege separation directory.
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), "ha-gen-sshd-"));
  chmodSync(dir, 0o755);
  const clientKey = join(dir, "id_ed25519");
  keygen(clientKey, "ha-gen-test-client");
  const clientPub = readFileSync(`${clientKey}.pub`, "utf8");
  const instances: SshdInstance[] = [];
  const base = o.addressBase ?? 10;
  try {
    await Promise.all(
      names.map(async (name, i) => {
        const idir = join(dir, name);
        mkdirSync(idir, { mode: 0o755 });
        keygen(join(idir, "host_ed25519"), `host-${name}`);
        writeFileSync(join(idir, "authorized_keys"), clientPub, { mode: 0o600 });
        const host = `127.0.0.${base + i}`;
        const port = await freePort(host);
        instances[i] = await startOne(name, idir, host, port, o);
      }),
    );
  } catch (e) {
    await Promise.all(instances.filter(Boolean).map((s) => stopProcess(s.process)));
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const sshConfig = join(dir, "ssh_config");
  writeFileSync(
    sshConfig,
    instances
      .map((s) => `Host ${s.name}\n  HostName ${s.host}\n  Port ${s.port}\n  User root\n  IdentityFile ${clientKey}\n`)
      .join("\n"),
  );
  const knownHosts = join(dir, "known_hosts");
  writeFileSync(knownHosts, instances.map((s) => `[${s.host}]:${s.port} ${s.hostKeyPub}\n`).join(""));
  const lab: SshdLab = {
    dir,
    instances,
    clientKey,
    clientPub,
    sshConfig,
    knownHosts,
    instance(name) {
      const s = instances.find((x) => x.name === name);
      if (!s) throw new Error(`no sshd ${name}`);
      return s;
    },
    async rotateHostKey(name) {
      const i = instances.findIndex((x) => x.name === name);
      const s = instances[i]!;
      await stopProcess(s.process);
      rmSync(join(s.dir, "host_ed25519"));
      rmSync(join(s.dir, "host_ed25519.pub"));
      keygen(join(s.dir, "host_ed25519"), `host-${name}-new`);
      instances[i] = await startOne(name, s.dir, s.host, s.port, o);
    },
    killSessions(name) {
      const s = lab.instance(name);
      const pids = descendants(s.process.pid!);
      for (const p of pids) {
        try {
          process.kill(p, "SIGKILL");
        } catch {
          /* gone */
        }
      }
      return pids.length;
    },
    async stop() {
      await Promise.all(instances.map((s) => stopProcess(s.process)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return lab;
}
