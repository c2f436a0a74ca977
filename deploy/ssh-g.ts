import { spawnSync } from "node:child_process";
import { homedir, userInfo } from "node:os";
import { isAbsolute, join } from "node:path";
import { parseProxyJump, SshConfigError, type JumpHost, type SshHostConfig } from "./ssh-config.js";

/**
 * Where OpenSSH is installed, each host is resolved by OpenSSH itself: `ssh -G [-F file] <host>`
 * prints the configuration ssh would use (every Match, Include, token and default applied) and
 * exits; it does not connect. ssh-config.ts's own parser is the fallback when there is no ssh.
 * The command is injectable (`RunSsh`) so tests can feed any output.
 */

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The program could not be started (ENOENT: no ssh). */
  readonly error?: Error;
}
/** Runs `ssh` with these arguments and returns what it printed. */
export type RunSsh = (args: readonly string[]) => RunResult;

/** Runs `program` (default: ssh from PATH). */
export function sshRunner(program = "ssh"): RunSsh {
  return (args) => {
    // No stdin, a bound: `Match exec` commands of the user's config run here, as they would under ssh.
    const r = spawnSync(program, args, { encoding: "utf8", timeout: 15_000, stdio: ["ignore", "pipe", "pipe"] });
    return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", ...(r.error ? { error: r.error } : {}) };
  };
}
export const runSsh: RunSsh = sshRunner();

/** Whether `ssh` can be run here (`ssh -V` answers). */
export function sshAvailable(run: RunSsh = runSsh): boolean {
  const r = run(["-V"]);
  return !r.error && r.status === 0;
}

/** ssh's identity files when the configuration names none: not "configured", ha-gen has its own defaults. */
const DEFAULT_IDENTITIES = ["id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_xmss", "id_dsa"];

/** Options whose value (other than ssh's default) ha-gen does not follow, with why. */
const IGNORED: readonly { keyword: string; isDefault: (v: string, home: string) => boolean; why: string }[] = [
  {
    keyword: "stricthostkeychecking",
    isDefault: (v) => v === "ask",
    why: "ha-gen never disables host key checking (use --accept-new-host-keys for trust on first use)",
  },
  {
    keyword: "userknownhostsfile",
    isDefault: (v, home) => v === `${home}/.ssh/known_hosts ${home}/.ssh/known_hosts2`,
    why: "ha-gen uses --known-hosts",
  },
  {
    keyword: "globalknownhostsfile",
    isDefault: (v) => v === "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2",
    why: "ha-gen uses --known-hosts",
  },
  { keyword: "proxycommand", isDefault: (v) => v === "none", why: "use ProxyJump" },
  {
    keyword: "checkhostip",
    isDefault: (v) => v === "no",
    why: "ha-gen checks the key under HostName (or HostKeyAlias) only",
  },
];

export interface SshGOptions {
  /** `-F file`; without it ssh reads ~/.ssh/config and the system-wide /etc/ssh/ssh_config. */
  readonly configFile?: string;
  readonly run?: RunSsh;
  readonly home?: string;
  readonly localUser?: string;
}

/** Parses the output of `ssh -G` for `alias` into what the SSH transport needs. */
export function parseSshG(
  alias: string,
  output: string,
  o: Omit<SshGOptions, "run" | "configFile"> = {},
): SshHostConfig {
  const home = o.home ?? homedir();
  const localUser = o.localUser ?? safeUser();
  const values = new Map<string, string[]>();
  for (const line of output.split("\n")) {
    const m = /^(\S+) (.*)$/.exec(line.trim());
    if (!m) continue;
    const k = m[1]!.toLowerCase();
    values.set(k, [...(values.get(k) ?? []), m[2]!]);
  }
  const one = (k: string) => values.get(k)?.[0];
  const where = `ssh -G ${alias}`;
  const hostname = one("hostname") ?? alias;
  const port = Number(one("port") ?? "22");
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new SshConfigError(`${where}: invalid port`);
  const user = one("user");
  // ssh -G prints IdentityFile as written: ssh expands its tokens only when it loads the key.
  const tokens: Record<string, string> = {
    h: hostname,
    p: String(port),
    r: user ?? localUser,
    u: localUser,
    d: home,
    n: alias,
    "%": "%",
  };
  const expand = (v: string) => v.replace(/%(.)/g, (m, t: string) => tokens[t] ?? m);
  let identityFiles = (values.get("identityfile") ?? []).map((raw) => {
    const p = expand(raw);
    return p.startsWith("~/") ? join(home, p.slice(2)) : isAbsolute(p) ? p : join(home, p);
  });
  const defaults = DEFAULT_IDENTITIES.map((n) => join(home, ".ssh", n));
  if (identityFiles.length === defaults.length && identityFiles.every((p, i) => p === defaults[i])) identityFiles = [];
  const jump = one("proxyjump");
  let proxyJump: JumpHost[] = [];
  if (jump !== undefined && jump !== "none") {
    try {
      proxyJump = parseProxyJump(jump);
    } catch (e) {
      throw new SshConfigError(`${where}: ${(e as Error).message}`);
    }
  }
  const ct = one("connecttimeout");
  const ignored: string[] = [];
  for (const i of IGNORED) {
    const v = one(i.keyword);
    if (v !== undefined && !i.isDefault(v, home)) ignored.push(`${where}: ${i.keyword} ${v} ignored: ${i.why}`);
  }
  return {
    alias,
    hostname,
    // ssh prints the alias when no HostName applies: then the node's address from the spec is used.
    hostnameFromConfig: hostname !== alias.toLowerCase(),
    port,
    // ssh prints the local user when none is configured: ha-gen's --user decides then.
    ...(user !== undefined && user !== localUser ? { user } : {}),
    identityFiles,
    identitiesOnly: one("identitiesonly") === "yes",
    proxyJump,
    ...(proxyJump.length > 0 ? { proxyJumpAt: `${where}: proxyjump ${jump}` } : {}),
    ...(one("hostkeyalias") !== undefined ? { hostKeyAlias: one("hostkeyalias")! } : {}),
    ...(ct !== undefined && /^\d+$/.test(ct) && Number(ct) > 0 ? { connectTimeoutSec: Number(ct) } : {}),
    ignored,
  };
}

/** Resolves `alias` with `ssh -G`; a configuration ssh rejects is an SshConfigError naming ssh's reason. */
export function resolveWithSshG(alias: string, o: SshGOptions = {}): SshHostConfig {
  // `--` keeps a name from being read as an option; node names never start with "-" anyway.
  const args = ["-G", ...(o.configFile !== undefined ? ["-F", o.configFile] : []), "--", alias];
  const r = (o.run ?? runSsh)(args);
  if (r.error) throw new SshConfigError(`cannot run ssh -G: ${r.error.message}`);
  if (r.status !== 0) {
    const why = r.stderr.split("\n").find((l) => l.trim() !== "" && !l.startsWith("Pseudo-terminal")) ?? "";
    throw new SshConfigError(`ssh -G ${alias} failed (exit ${r.status}): ${why.trim()}`);
  }
  return parseSshG(alias, r.stdout, o);
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "";
  }
}
