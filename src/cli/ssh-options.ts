import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import {
  KnownHostsFile,
  loadSshConfig,
  resolveSshHost,
  resolveWithSshG,
  SshConfigError,
  sshAvailable,
  sshRunner,
  type DeployEvent,
  type SshHostConfig,
} from "../../deploy/index.js";
import { UsageError } from "../core/errors.js";
import type { Options } from "./commands/common.js";

/**
 * The command-line options every command that reaches the nodes over SSH shares (deploy, recover,
 * preflight, status): their parsing and checks, and the SSH transport's options built from them.
 */

export interface DeployCliOptions {
  readonly secrets?: string;
  readonly sshConfig?: string;
  readonly knownHosts?: string;
  readonly acceptNewHostKeys?: boolean;
  readonly identity?: readonly string[];
  readonly user?: string;
  readonly agent?: boolean;
  readonly root?: string;
  readonly rootSteps?: boolean;
  readonly dryRun?: boolean;
  readonly from?: string;
  readonly only?: string;
  readonly nodes?: string;
  readonly json?: boolean;
  readonly logDir?: string | false;
  readonly concurrency?: string;
  readonly connectTimeout?: string;
  readonly connectRetries?: string;
  readonly stepTimeout?: string;
  readonly installKey?: string;
  readonly detailedExitcode?: boolean;
  readonly skipPreflight?: boolean;
}

/**
 * A numeric option within its bounds. Timeouts stay far below 2^31 ms (24.8 days), where Node's
 * timers would overflow to 1 ms and every connect or step would fail at once.
 */
function bounded(name: string, v: string | undefined, dflt: number, min: number, max: number, unit = ""): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}${unit}, got "${v.slice(0, 40)}"`);
  }
  return n;
}

export interface Numbers {
  readonly connectTimeoutMs: number;
  readonly connectRetries: number;
  readonly concurrency: number;
  readonly stepTimeoutMs: number;
}

/** Every numeric option, checked before anything is loaded or contacted. */
export function numbers(o: DeployCliOptions): Numbers {
  return {
    connectTimeoutMs: bounded("--connect-timeout", o.connectTimeout, 15, 1, 3600, " seconds") * 1000,
    connectRetries: bounded("--connect-retries", o.connectRetries, 2, 0, 20),
    concurrency: bounded("--concurrency", o.concurrency, 16, 1, 1024),
    stepTimeoutMs: bounded("--step-timeout", o.stepTimeout, 1800, 1, 7 * 24 * 3600, " seconds (7 days)") * 1000,
  };
}

/** A comma-separated option (--nodes, --only, --skip) as its items; undefined when it is not given. */
export function list(v: string | undefined): string[] | undefined {
  return v === undefined
    ? undefined
    : v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
}

/**
 * How a host name becomes where to connect: OpenSSH's own `ssh -G` where ssh can run (every Match,
 * Include and token as ssh has them), else ha-gen's parser of ~/.ssh/config or --ssh-config. The
 * undocumented HA_GEN_SSH names the ssh program ("none": the parser), for tests.
 */
function hostLookup(explicit: string | undefined): (name: string) => SshHostConfig {
  const program = process.env.HA_GEN_SSH;
  const run = program === "none" ? undefined : sshRunner(program || "ssh");
  if (run && sshAvailable(run)) {
    // ssh -G would read an unreadable file as "no config": refuse it as the parser does.
    if (explicit !== undefined) {
      try {
        readFileSync(explicit);
      } catch (e) {
        throw new SshConfigError(`cannot read ssh config ${explicit}: ${(e as NodeJS.ErrnoException).code ?? e}`);
      }
    }
    const cache = new Map<string, SshHostConfig>();
    return (name) => {
      const c = cache.get(name) ?? resolveWithSshG(name, { run, ...(explicit ? { configFile: explicit } : {}) });
      cache.set(name, c);
      return c;
    };
  }
  const config = loadSshConfig(explicit ?? join(homedir(), ".ssh", "config"), explicit !== undefined);
  return (name) => resolveSshHost(config, name);
}

/** The SSH transport's options from the command line (ssh config, known_hosts, identities); warnings go to `report`. */
export async function sshTransportOptions(
  input: { readonly addresses: ReadonlyMap<string, string> },
  o: DeployCliOptions,
  n: Numbers,
  report: (e: DeployEvent) => void,
) {
  const lookup = hostLookup(o.sshConfig);
  const resolveHost = (name: string): SshHostConfig => {
    const c = lookup(name);
    const addr = input.addresses.get(name);
    return !c.hostnameFromConfig && addr ? { ...c, hostname: addr } : c;
  };
  const knownHosts = await KnownHostsFile.load(o.knownHosts ?? join(homedir(), ".ssh", "known_hosts"));
  return {
    resolve: (n: string) => resolveHost(n),
    knownHosts,
    acceptNewHostKeys: o.acceptNewHostKeys ?? false,
    recordNewHostKeys: !o.dryRun,
    defaultUser: o.user ?? "root",
    identityFiles: (o.identity ?? []).map((p) => resolve(p)),
    connectTimeoutMs: n.connectTimeoutMs,
    connectRetries: n.connectRetries,
    agent: o.agent === false ? undefined : process.env.SSH_AUTH_SOCK,
    onHostKeyAccepted: (name: string, keyType: string, fp: string) =>
      report({ type: "host-key-accepted", name, keyType, fingerprint: fp, recorded: !o.dryRun }),
    onWarning: (message: string) => report({ type: "warning", message }),
  };
}

/** The parsed options of a command that reaches the nodes: `--no-agent` and `--no-log` become agent and logDir. */
export function cliOptions(opts: Options): DeployCliOptions {
  const { noAgent, noLog, logDir, ...rest } = opts;
  return {
    ...(rest as DeployCliOptions),
    agent: noAgent !== true,
    logDir: noLog === true ? false : (logDir as string),
  };
}
