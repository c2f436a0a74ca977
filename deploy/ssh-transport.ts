import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { createRequire } from "node:module";
import type { AuthMethod, Client, ClientChannel, ConnectConfig, SFTPWrapper, ServerHostKeyAlgorithm } from "ssh2";
import { shArgs } from "../src/core/quote.js";
import { blobKeyType, fingerprint, knownHostName, type KnownHostsFile } from "./known-hosts.js";
import { authorizedKeyScript } from "./scripts.js";
import type { JumpHost, SshHostConfig } from "./ssh-config.js";
import { ConnectError, type Connection, type ExecOptions, type ExecResult, type FileStat, type Transport } from "./transport.js";

/**
 * The only module that speaks SSH. One connection per node for the whole run (exec channels for
 * commands, one SFTP channel for files), jump hosts shared between nodes, host keys checked
 * against a known_hosts file (never skipped), retries only while connecting.
 */

export interface SshTransportOptions {
  /** Where and as whom to reach a node (ssh-config.ts `resolveSshHost`, plus defaults). */
  readonly resolve: (name: string) => SshHostConfig;
  readonly knownHosts: KnownHostsFile;
  /** Trust on first use: accept a host with no recorded key, and record it. A changed key is always refused. */
  readonly acceptNewHostKeys: boolean;
  /** false: accept new keys for this run without writing them down (dry runs). */
  readonly recordNewHostKeys?: boolean;
  /** User when the config names none. */
  readonly defaultUser: string;
  /** Private keys tried before those of the config (e.g. --identity). */
  readonly identityFiles?: readonly string[];
  /** ssh-agent socket; undefined disables the agent. */
  readonly agent?: string;
  /** Only for first-contact key installation; never from argv. */
  readonly password?: string;
  readonly connectTimeoutMs?: number;
  /** Further attempts after a failed connect (refused, timed out, reset). */
  readonly connectRetries?: number;
  readonly onHostKeyAccepted?: (name: string, keyType: string, fingerprint: string) => void;
  readonly onWarning?: (message: string) => void;
}

/**
 * ssh2 is loaded at run time, not bundled: the bundler cannot handle its CommonJS internals
 * (__dirname, optional native modules). It comes with ssh2-sftp-client; resolve it from there
 * when it is not a top-level dependency.
 */
function ssh2(): typeof import("ssh2") {
  const req = createRequire(import.meta.url);
  try {
    return req("ssh2") as typeof import("ssh2");
  } catch {
    return createRequire(req.resolve("ssh2-sftp-client"))("ssh2") as typeof import("ssh2");
  }
}

const DEFAULT_KEYS = ["id_ed25519", "id_ecdsa", "id_rsa"];
const ALL_HOST_KEY_ALGOS: ServerHostKeyAlgorithm[] = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];

/** Host key algorithms with the ones already recorded for the host first, as OpenSSH orders them. */
export function hostKeyAlgorithms(knownTypes: readonly string[]): ServerHostKeyAlgorithm[] {
  const first: ServerHostKeyAlgorithm[] = [];
  for (const t of knownTypes) {
    if (t === "ssh-rsa") first.push("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa");
    else if ((ALL_HOST_KEY_ALGOS as string[]).includes(t)) first.push(t as ServerHostKeyAlgorithm);
  }
  return [...new Set([...first, ...ALL_HOST_KEY_ALGOS])];
}

class SshConnection implements Connection {
  private sftpPromise: Promise<SFTPWrapper> | undefined;
  private closed = false;
  /** Operations in flight; ssh2 does not always call back when the connection drops. */
  private readonly pending = new Set<(e: Error) => void>();

  constructor(
    readonly node: string,
    readonly user: string,
    private readonly client: Client,
  ) {
    const lost = (why: string) => {
      this.closed = true;
      const err = new ConnectError(node, `${node}: connection lost (${why})`, false);
      for (const fail of [...this.pending]) fail(err);
      this.pending.clear();
    };
    client.on("close", () => lost("closed"));
    client.on("error", (e: Error) => lost(e.message));
  }

  /** Runs `fn` so that it rejects when the connection drops before it settles. */
  private track<T>(fn: (resolve: (v: T) => void, reject: (e: Error) => void) => void): Promise<T> {
    return new Promise<T>((res, rej) => {
      if (this.closed) {
        rej(new ConnectError(this.node, `connection to ${this.node} is closed`, false));
        return;
      }
      let done = false;
      const fail = (e: Error) => {
        if (done) return;
        done = true;
        this.pending.delete(fail);
        rej(e);
      };
      this.pending.add(fail);
      fn(
        (v) => {
          if (done) return;
          done = true;
          this.pending.delete(fail);
          res(v);
        },
        fail,
      );
    });
  }

  exec(command: string, o: ExecOptions = {}): Promise<ExecResult> {
    return this.track<ExecResult>((resolvePromise, reject) => {
      this.client.exec(command, (err, stream: ClientChannel) => {
        if (err) {
          reject(new ConnectError(this.node, `${this.node}: cannot run a command: ${err.message}`, false));
          return;
        }
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let code: number | null = null;
        let signal: string | undefined;
        let timedOut = false;
        let timer: NodeJS.Timeout | undefined;
        if (o.timeoutMs !== undefined && o.timeoutMs > 0) {
          timer = setTimeout(() => {
            timedOut = true;
            // The remote process may survive the channel; callers also bound commands remotely (`timeout`).
            try {
              stream.signal("KILL");
            } catch {
              /* not every server supports signals */
            }
            stream.close();
          }, o.timeoutMs);
        }
        stream.on("data", (d: Buffer) => {
          out.push(d);
          o.onStdout?.(d.toString("utf8"));
        });
        stream.stderr.on("data", (d: Buffer) => {
          errOut.push(d);
          o.onStderr?.(d.toString("utf8"));
        });
        stream.on("exit", (c: number | null, sig?: string) => {
          code = typeof c === "number" ? c : null;
          if (sig) signal = sig;
        });
        stream.on("close", () => {
          if (timer) clearTimeout(timer);
          resolvePromise({
            code: timedOut ? null : code,
            ...(signal ? { signal } : {}),
            stdout: Buffer.concat(out).toString("utf8"),
            stderr: Buffer.concat(errOut).toString("utf8"),
            ...(timedOut ? { timedOut } : {}),
          });
        });
        if (o.stdin !== undefined) stream.end(o.stdin);
        else stream.end();
      });
    });
  }

  private sftp(): Promise<SFTPWrapper> {
    this.sftpPromise ??= this.track<SFTPWrapper>((res, rej) => {
      this.client.sftp((err, sftp) => (err ? rej(new ConnectError(this.node, `${this.node}: cannot open SFTP: ${err.message}`, false)) : res(sftp)));
    });
    return this.sftpPromise;
  }

  async writeFile(path: string, content: Buffer, mode: number): Promise<void> {
    const sftp = await this.sftp();
    await this.track<void>((res, rej) => {
      sftp.writeFile(path, content, { mode, flag: "w" }, (err) => (err ? rej(new Error(`${this.node}: cannot write ${path}: ${err.message}`)) : res()));
    });
  }

  async lstat(path: string): Promise<FileStat | undefined> {
    const sftp = await this.sftp();
    return this.track<FileStat | undefined>((res, rej) => {
      sftp.lstat(path, (err, st) => {
        if (err) {
          if ((err as Error & { code?: number }).code === 2) res(undefined); // SSH_FX_NO_SUCH_FILE
          else rej(new Error(`${this.node}: cannot stat ${path}: ${err.message}`));
          return;
        }
        const kind = st.isSymbolicLink() ? "link" : st.isFile() ? "file" : "other";
        res({ kind, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
      });
    });
  }

  async readFile(path: string): Promise<Buffer | undefined> {
    const sftp = await this.sftp();
    return this.track<Buffer | undefined>((res, rej) => {
      sftp.readFile(path, (err: (Error & { code?: number }) | undefined, data: Buffer) => {
        if (err) {
          if (err.code === 2) res(undefined);
          else rej(new Error(`${this.node}: cannot read ${path}: ${err.message}`));
        } else res(data);
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((res) => {
      this.client.once("close", () => res());
      this.client.end();
      setTimeout(res, 2000).unref();
    });
  }
}

function readKey(path: string, warn: (m: string) => void): Buffer | undefined {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch {
    return undefined;
  }
  const parsed = ssh2().utils.parseKey(data);
  if (parsed instanceof Error) {
    warn(`skipping identity ${path}: ${parsed.message} (load encrypted keys into ssh-agent)`);
    return undefined;
  }
  return data;
}

/** The SSH transport: `connect(node)` resolves the node through the ssh config and opens one verified connection. */
export class SshTransport implements Transport {
  private readonly jumps = new Map<string, Promise<Client>>();
  private readonly clients: Client[] = [];

  constructor(private readonly o: SshTransportOptions) {}

  async connect(node: string): Promise<Connection> {
    const cfg = this.o.resolve(node);
    for (const w of cfg.ignored) this.o.onWarning?.(w);
    const user = cfg.user ?? this.o.defaultUser;
    const attempts = 1 + (this.o.connectRetries ?? 2);
    let lastErr: unknown;
    for (let i = 0; i < attempts; i++) {
      try {
        const client = await this.open(node, cfg, user, this.viaChain(cfg.proxyJump));
        return new SshConnection(node, user, client);
      } catch (e) {
        lastErr = e;
        if (!(e instanceof ConnectError) || !e.retryable || i === attempts - 1) break;
        await new Promise((r) => setTimeout(r, 300 * 2 ** i));
      }
    }
    if (lastErr instanceof ConnectError) throw lastErr;
    throw new ConnectError(node, `${node}: ${(lastErr as Error)?.message ?? String(lastErr)}`, false);
  }

  /** Connection to the last jump host of `hops` (each reached through the previous), or undefined. */
  private viaChain(hops: readonly JumpHost[]): Promise<Client> | undefined {
    if (hops.length === 0) return undefined;
    const key = hops.map((h) => `${h.user ?? ""}@${h.host}:${h.port ?? ""}`).join(",");
    let p = this.jumps.get(key);
    if (!p) {
      const hop = hops[hops.length - 1]!;
      const base = this.o.resolve(hop.host);
      // A jump host's own ProxyJump is ignored when it is reached through an explicit chain, as in OpenSSH.
      const cfg: SshHostConfig = { ...base, ...(hop.port ? { port: hop.port } : {}), proxyJump: [] };
      const user = hop.user ?? base.user ?? this.o.defaultUser;
      const upstream = hops.length > 1 ? this.viaChain(hops.slice(0, -1)) : base.proxyJump.length > 0 ? this.viaChain(base.proxyJump) : undefined;
      p = this.open(`jump host ${hop.host}`, cfg, user, upstream);
      this.jumps.set(key, p);
      p.then(
        (c) => c.on("close", () => this.jumps.delete(key)),
        () => this.jumps.delete(key),
      );
    }
    return p;
  }

  private async open(label: string, cfg: SshHostConfig, user: string, via: Promise<Client> | undefined): Promise<Client> {
    const timeout = cfg.connectTimeoutSec ? cfg.connectTimeoutSec * 1000 : (this.o.connectTimeoutMs ?? 15_000);
    let sock: Duplex | undefined;
    if (via) {
      const jump = await via;
      sock = await new Promise<Duplex>((res, rej) => {
        const t = setTimeout(() => rej(new ConnectError(label, `${label}: timed out opening a tunnel to ${cfg.hostname}:${cfg.port}`, true)), timeout);
        jump.forwardOut("127.0.0.1", 0, cfg.hostname, cfg.port, (err, stream) => {
          clearTimeout(t);
          if (err) rej(new ConnectError(label, `${label}: jump host cannot reach ${cfg.hostname}:${cfg.port}: ${err.message}`, true));
          else res(stream);
        });
      });
    }
    const keyName = cfg.hostKeyAlias ?? knownHostName(cfg.hostname, cfg.port);
    const warn = (m: string) => this.o.onWarning?.(m);
    const auth: AuthMethod[] = [];
    const tried = new Set<string>();
    const keyFiles = [...(this.o.identityFiles ?? []), ...cfg.identityFiles];
    if (keyFiles.length === 0 && !cfg.identitiesOnly) for (const k of DEFAULT_KEYS) keyFiles.push(join(homedir(), ".ssh", k));
    for (const f of keyFiles) {
      if (tried.has(f)) continue;
      tried.add(f);
      const key = readKey(f, warn);
      if (key) auth.push({ type: "publickey", username: user, key } as AuthMethod);
    }
    if (this.o.agent && !cfg.identitiesOnly) auth.push({ type: "agent", username: user, agent: this.o.agent } as AuthMethod);
    if (this.o.password !== undefined) auth.push({ type: "password", username: user, password: this.o.password } as AuthMethod);
    if (auth.length === 0) throw new ConnectError(label, `${label}: no usable private key, agent or password to log in as ${user}`, false);

    let refusal: ConnectError | undefined;
    const verifier = (key: Buffer, verify: (ok: boolean) => void) => {
      const verdict = this.o.knownHosts.check(keyName, key);
      const type = blobKeyType(key);
      const fp = fingerprint(key);
      switch (verdict.status) {
        case "known":
          verify(true);
          return;
        case "revoked":
          refusal = new ConnectError(label, `${label}: host key ${type} ${fp} of ${keyName} is marked @revoked in ${this.o.knownHosts.path}: refusing to connect`, false);
          verify(false);
          return;
        case "changed":
          refusal = new ConnectError(
            label,
            `${label}: HOST KEY CHANGED for ${keyName}: it presents ${type} ${fp}, but ${this.o.knownHosts.path} line(s) ${verdict.lines.join(", ")} record ${verdict.expected.join("; ")}. ` +
              `This may be an attack or a reinstalled host; ha-gen never accepts a changed key. If the change is expected, remove the old entry (ssh-keygen -R '${keyName}' -f ${this.o.knownHosts.path}) and verify the new key.`,
            false,
          );
          verify(false);
          return;
        case "unknown":
          if (!this.o.acceptNewHostKeys) {
            refusal = new ConnectError(
              label,
              `${label}: unknown host key for ${keyName} (${type} ${fp}) not in ${this.o.knownHosts.path}: verify the fingerprint and add it, or rerun with --accept-new-host-keys to trust it on first use`,
              false,
            );
            verify(false);
            return;
          }
          this.o.onHostKeyAccepted?.(keyName, type, fp);
          if (this.o.recordNewHostKeys === false) {
            verify(true);
            return;
          }
          this.o.knownHosts.record(keyName, key).then(
            () => verify(true),
            (e: Error) => {
              refusal = new ConnectError(label, `${label}: cannot record the host key in ${this.o.knownHosts.path}: ${e.message}`, false);
              verify(false);
            },
          );
      }
    };

    const { Client } = ssh2();
    const client = new Client();
    this.clients.push(client);
    const config: ConnectConfig = {
      ...(sock ? { sock } : { host: cfg.hostname, port: cfg.port }),
      username: user,
      readyTimeout: timeout,
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
      algorithms: { serverHostKey: hostKeyAlgorithms(this.o.knownHosts.knownTypes(keyName)) },
      hostVerifier: verifier as ConnectConfig["hostVerifier"],
      authHandler: auth,
    };
    return await new Promise<Client>((res, rej) => {
      let settled = false;
      client.once("ready", () => {
        settled = true;
        // Small request/response exchanges: Nagle's algorithm would add delayed-ACK stalls.
        if (!sock) client.setNoDelay(true);
        res(client);
      });
      client.once("error", (err: Error & { level?: string; code?: string }) => {
        if (settled) return;
        settled = true;
        client.end();
        if (refusal) return rej(refusal);
        if (err.level === "client-authentication") {
          return rej(new ConnectError(label, `${label}: ${user}@${cfg.hostname}:${cfg.port} refused every offered key${this.o.password !== undefined ? " and the password" : ""} (authentication failed)`, false));
        }
        const retryable = err.level === "client-timeout" || err.level === "client-socket" || ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE"].includes(err.code ?? "");
        rej(new ConnectError(label, `${label}: cannot connect to ${user}@${cfg.hostname}:${cfg.port}: ${err.message}`, retryable));
      });
      client.once("close", () => {
        if (settled) return;
        settled = true;
        rej(refusal ?? new ConnectError(label, `${label}: connection to ${cfg.hostname}:${cfg.port} closed during the handshake`, true));
      });
      client.connect(config);
    });
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.end();
    this.jumps.clear();
  }
}

/**
 * First contact: logs in with a password (from a prompt or an environment variable, never argv)
 * and appends `publicKey` to the login user's authorized_keys unless it is already there.
 */
export async function installAuthorizedKey(conn: Connection, publicKey: string): Promise<"added" | "present"> {
  const key = publicKey.trim();
  if (!/^(ssh-|ecdsa-|sk-)[^\s]+ [A-Za-z0-9+/=]+/.test(key) || key.includes("\n")) throw new Error("not an OpenSSH public key (one line: type base64 [comment])");
  const r = await conn.exec(shArgs(["sh", "-c", authorizedKeyScript()]), { stdin: `${key}\n`, timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`cannot update authorized_keys: ${r.stderr.trim()}`);
  return r.stdout.trim() === "present" ? "present" : "added";
}
