import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { createRequire } from "node:module";
import type { AuthMethod, Client, ClientChannel, ConnectConfig, SFTPWrapper, ServerHostKeyAlgorithm } from "ssh2";
import { shArgs } from "../src/core/quote.js";
import { blobKeyType, fingerprint, knownHostName, type KnownHostsFile } from "./known-hosts.js";
import { authorizedKeyScript } from "./scripts.js";
import { HaGenError, UsageError } from "../src/core/errors.js";
import { RemoteError } from "./remote-fs.js";
import { checkProxyJumpLoop, type JumpHost, type SshHostConfig } from "./ssh-config.js";
import {
  ConnectError,
  type Connection,
  type ExecOptions,
  type ExecResult,
  type FileStat,
  type Transport,
} from "./transport.js";

/**
 * The only module that speaks SSH. One connection per node for the whole run: an
 * ssh2-sftp-client connection, whose SFTP channel serves the files (put, lstat, get) and whose
 * underlying ssh2 Client runs the commands (exec channels). Jump hosts (plain ssh2 clients) are
 * shared between nodes, host keys checked against a known_hosts file (never skipped), retries
 * only while connecting.
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
  /** Called when an unknown host key was accepted and recorded (`acceptNewHostKeys`). */
  readonly onHostKeyAccepted?: (name: string, keyType: string, fingerprint: string) => void;
  /** Called with each warning, such as an ssh config setting ha-gen ignores. */
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

/**
 * The part of ssh2-sftp-client 12 used here, typed by hand: the package ships no types and
 * @types/ssh2-sftp-client describes version 9 (no `client`, no `lstat`), so it is not a dependency.
 */
interface SftpClient {
  /** The ssh2 Client it connects; commands run over it too. */
  readonly client: Client;
  /** Connects `client` with this config (host key check, auth, jump-host socket) and opens SFTP. */
  connect(config: ConnectConfig): Promise<SFTPWrapper>;
  put(data: Buffer, path: string, options: { writeStreamOptions: { flags: "w"; mode: number } }): Promise<string>;
  /** A Buffer, or an empty array for an empty file (concat-stream's result without data). */
  get(path: string): Promise<Buffer | unknown[]>;
  lstat(path: string): Promise<{ mode: number; uid: number; gid: number; isFile: boolean; isSymbolicLink: boolean }>;
  end(): Promise<boolean>;
}

/** Loaded at run time like ssh2. No callbacks: its default ones log every close to the console. */
function newSftpClient(name: string): SftpClient {
  type Ctor = new (name: string, callbacks: object) => SftpClient;
  const SftpClientClass = createRequire(import.meta.url)("ssh2-sftp-client") as Ctor;
  return new SftpClientClass(name, {});
}

const DEFAULT_KEYS = ["id_ed25519", "id_ecdsa", "id_rsa"];
// Its own literal type, not ssh2's: declarations of ha-gen must not need @types/ssh2 (a devDependency).
const ALL_HOST_KEY_ALGOS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
] as const satisfies readonly ServerHostKeyAlgorithm[];
type HostKeyAlgorithm = (typeof ALL_HOST_KEY_ALGOS)[number];

/** Host key algorithms with the ones already recorded for the host first, as OpenSSH orders them. */
export function hostKeyAlgorithms(knownTypes: readonly string[]): HostKeyAlgorithm[] {
  const first: HostKeyAlgorithm[] = [];
  for (const t of knownTypes) {
    if (t === "ssh-rsa") first.push("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa");
    else if ((ALL_HOST_KEY_ALGOS as readonly string[]).includes(t)) first.push(t as HostKeyAlgorithm);
  }
  return [...new Set([...first, ...ALL_HOST_KEY_ALGOS])];
}

class SshConnection implements Connection {
  private readonly client: Client;
  private closed = false;
  /** Operations in flight; ssh2 does not always call back when the connection drops. */
  private readonly pending = new Set<(e: Error) => void>();

  constructor(
    readonly node: string,
    readonly user: string,
    private readonly sftp: SftpClient,
  ) {
    this.client = sftp.client;
    const client = this.client;
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
      fn((v) => {
        if (done) return;
        done = true;
        this.pending.delete(fail);
        res(v);
      }, fail);
    });
  }

  /**
   * An ssh2-sftp-client call, tracked: when one call sees the connection drop, the library lets
   * the others that run at the same time wait forever.
   */
  private sftpCall<T>(what: string, call: () => Promise<T>): Promise<T> {
    return this.track<T>((res, rej) => {
      call().then(res, (e: Error & { code?: unknown }) => {
        // The node refused (permissions, no space...): a RemoteError; sftpCode tells "missing" apart.
        const err = new RemoteError(this.node, `${this.node}: ${what}: ${e.message}`);
        rej(Object.assign(err, { sftpCode: e.code }));
      });
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

  async writeFile(path: string, content: Buffer, mode: number): Promise<void> {
    const options = { writeStreamOptions: { flags: "w", mode } } as const;
    await this.sftpCall(`cannot write ${path}`, () => this.sftp.put(content, path, options));
  }

  async lstat(path: string): Promise<FileStat | undefined> {
    try {
      const st = await this.sftpCall(`cannot stat ${path}`, () => this.sftp.lstat(path));
      const kind = st.isSymbolicLink ? "link" : st.isFile ? "file" : "other";
      return { kind, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    } catch (e) {
      // The library reports SSH_FX_NO_SUCH_FILE, and the generic SSH_FX_FAILURE (a file as a
      // directory in the path, say), as ENOENT: both read as "missing", and installing fails later.
      if ((e as { sftpCode?: unknown }).sftpCode === "ENOENT") return undefined;
      throw e;
    }
  }

  async readFile(path: string): Promise<Buffer | undefined> {
    try {
      const data = await this.sftpCall(`cannot read ${path}`, () => this.sftp.get(path));
      return Buffer.isBuffer(data) ? data : Buffer.alloc(0);
    } catch (e) {
      if ((e as { sftpCode?: unknown }).sftpCode === 2) return undefined; // SSH_FX_NO_SUCH_FILE
      throw e;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((res) => {
      this.client.once("close", () => res());
      // end() tells the library the close is wanted; it ends the client only while SFTP is open.
      this.sftp.end().catch(() => undefined);
      this.client.end();
      setTimeout(res, 2000).unref();
    });
  }
}

/**
 * A private key file, or undefined when it cannot be used. One the user named (`explicit`:
 * --identity) must be usable, else a UsageError naming it: silently falling back to other keys
 * would hide the mistake. Config and default keys that are missing are skipped quietly, as ssh
 * does; one that exists but is unusable is skipped with a warning. Encrypted keys are only
 * warned about: ssh-agent may hold them.
 */
function readKey(path: string, explicit: boolean, warn: (m: string) => void): Buffer | undefined {
  const unusable = (why: string) => {
    if (explicit) throw new UsageError(`identity file ${path} ${why}`);
    warn(`skipping identity file ${path}: it ${why}`);
    return undefined;
  };
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return explicit ? unusable("does not exist") : undefined;
    return unusable(code === "EISDIR" ? "is a directory" : `cannot be read (${code ?? (e as Error).message})`);
  }
  const parsed = ssh2().utils.parseKey(data);
  const k = Array.isArray(parsed) ? parsed[0] : parsed;
  if (k instanceof Error) {
    if (/encrypted/i.test(k.message)) {
      warn(`skipping identity file ${path}: it is encrypted (load it into ssh-agent)`);
      return undefined;
    }
    return unusable(`is not a private key ssh can use (${k.message})`);
  }
  // ssh2 would skip a public key without a word.
  if (!k?.isPrivateKey()) return unusable("is a public key, not the private key");
  return data;
}

/** The SSH transport: `connect(node)` resolves the node through the ssh config and opens one verified connection. */
export class SshTransport implements Transport {
  private readonly jumps = new Map<string, Promise<Client>>();
  private readonly clients: Client[] = [];

  constructor(private readonly o: SshTransportOptions) {}

  async connect(node: string): Promise<Connection> {
    const cfg = this.o.resolve(node);
    // A mistake in the config is the user's to fix, not a network failure: refused before any attempt.
    checkProxyJumpLoop(node, this.o.resolve);
    for (const w of cfg.ignored) this.o.onWarning?.(w);
    const user = cfg.user ?? this.o.defaultUser;
    const attempts = 1 + (this.o.connectRetries ?? 2);
    let lastErr: unknown;
    for (let i = 0; i < attempts; i++) {
      try {
        const sftp = newSftpClient(node);
        await this.open(node, cfg, user, this.viaChain(cfg.proxyJump), sftp);
        return new SshConnection(node, user, sftp);
      } catch (e) {
        // Unusable input (an identity that is a directory...): reported as itself, never retried.
        if (e instanceof HaGenError && !(e instanceof ConnectError)) throw e;
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
      const upstream =
        hops.length > 1
          ? this.viaChain(hops.slice(0, -1))
          : base.proxyJump.length > 0
            ? this.viaChain(base.proxyJump)
            : undefined;
      p = this.open(`jump host ${hop.host}`, cfg, user, upstream);
      this.jumps.set(key, p);
      p.then(
        (c) => c.on("close", () => this.jumps.delete(key)),
        () => this.jumps.delete(key),
      );
    }
    return p;
  }

  /**
   * Opens a verified, authenticated connection: for a node through ssh2-sftp-client (`sftp`, its
   * SFTP channel opened too), for a jump host as a plain ssh2 Client (it only forwards).
   */
  private async open(
    label: string,
    cfg: SshHostConfig,
    user: string,
    via: Promise<Client> | undefined,
    sftp?: SftpClient,
  ): Promise<Client> {
    const timeout = cfg.connectTimeoutSec ? cfg.connectTimeoutSec * 1000 : (this.o.connectTimeoutMs ?? 15_000);
    const target = `${cfg.hostname}:${cfg.port}`;
    let sock: Duplex | undefined;
    if (via) {
      const jump = await via;
      sock = await new Promise<Duplex>((res, rej) => {
        const tunnelFailed = (why: string) => rej(new ConnectError(label, `${label}: ${why}`, true));
        const t = setTimeout(() => tunnelFailed(`timed out opening a tunnel to ${target}`), timeout);
        jump.forwardOut("127.0.0.1", 0, cfg.hostname, cfg.port, (err, stream) => {
          clearTimeout(t);
          if (err) tunnelFailed(`jump host cannot reach ${target}: ${err.message}`);
          else res(stream);
        });
      });
    }
    const keyName = cfg.hostKeyAlias ?? knownHostName(cfg.hostname, cfg.port);
    const warn = (m: string) => this.o.onWarning?.(m);
    const auth: AuthMethod[] = [];
    const tried = new Set<string>();
    const explicit = this.o.identityFiles ?? [];
    const keyFiles = [...explicit, ...cfg.identityFiles];
    if (keyFiles.length === 0 && !cfg.identitiesOnly) {
      for (const k of DEFAULT_KEYS) keyFiles.push(join(homedir(), ".ssh", k));
    }
    for (const f of keyFiles) {
      if (tried.has(f)) continue;
      tried.add(f);
      const key = readKey(f, explicit.includes(f), warn);
      if (key) auth.push({ type: "publickey", username: user, key } as AuthMethod);
    }
    if (this.o.agent && !cfg.identitiesOnly) {
      auth.push({ type: "agent", username: user, agent: this.o.agent } as AuthMethod);
    }
    if (this.o.password !== undefined) {
      auth.push({ type: "password", username: user, password: this.o.password } as AuthMethod);
    }
    if (auth.length === 0) {
      throw new ConnectError(label, `${label}: no usable private key, agent or password to log in as ${user}`, false);
    }

    let refusal: ConnectError | undefined;
    const known = this.o.knownHosts.path;
    const refuse = (why: string) => (refusal = new ConnectError(label, `${label}: ${why}`, false));
    const verifier = (key: Buffer, verify: (ok: boolean) => void) => {
      const verdict = this.o.knownHosts.check(keyName, key);
      const type = blobKeyType(key);
      const fp = fingerprint(key);
      switch (verdict.status) {
        case "known":
          verify(true);
          return;
        case "revoked":
          refuse(`host key ${type} ${fp} of ${keyName} is marked @revoked in ${known}: refusing to connect`);
          verify(false);
          return;
        case "changed":
          refuse(
            `HOST KEY CHANGED for ${keyName}: it presents ${type} ${fp}, but ${known} line(s) ` +
              `${verdict.lines.join(", ")} record ${verdict.expected.join("; ")}. ` +
              "This may be an attack or a reinstalled host; ha-gen never accepts a changed key. If the change is " +
              `expected, remove the old entry (ssh-keygen -R '${keyName}' -f ${known}) and verify the new key.`,
          );
          verify(false);
          return;
        case "unknown":
          if (!this.o.acceptNewHostKeys) {
            refuse(
              `unknown host key for ${keyName} (${type} ${fp}) not in ${known}: verify the fingerprint and add ` +
                "it, or rerun with --accept-new-host-keys to trust it on first use",
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
              refuse(`cannot record the host key in ${known}: ${e.message}`);
              verify(false);
            },
          );
      }
    };

    const client = sftp ? sftp.client : new (ssh2().Client)();
    // Each ssh2-sftp-client call listens on the client while it runs, and up to 16 run at once.
    if (sftp) client.setMaxListeners(0);
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
      let authenticated = false;
      const ready = () => {
        settled = true;
        // Small request/response exchanges: Nagle's algorithm would add delayed-ACK stalls.
        if (!sock) client.setNoDelay(true);
        res(client);
      };
      const fail = (e: ConnectError) => {
        settled = true;
        client.end();
        // A client given up on may still report its socket's reset.
        client.on("error", () => undefined);
        rej(e);
      };
      client.once("error", (err: Error & { level?: string; code?: string }) => {
        if (settled) return;
        if (refusal) return fail(refusal);
        if (err.level === "client-authentication") {
          const offered = this.o.password !== undefined ? "every offered key and the password" : "every offered key";
          const why = `${user}@${target} refused ${offered} (authentication failed)`;
          return fail(new ConnectError(label, `${label}: ${why}`, false));
        }
        const retryable =
          err.level === "client-timeout" ||
          err.level === "client-socket" ||
          ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE"].includes(err.code ?? "");
        fail(new ConnectError(label, `${label}: cannot connect to ${user}@${target}: ${err.message}`, retryable));
      });
      const closed = () => {
        if (settled) return;
        fail(refusal ?? new ConnectError(label, `${label}: connection to ${target} closed during the handshake`, true));
      };
      client.once("end", closed);
      client.once("close", closed);
      if (!sftp) {
        client.once("ready", ready);
        client.connect(config);
        return;
      }
      // ssh2-sftp-client connects the client with this config and opens SFTP once it is ready.
      client.once("ready", () => (authenticated = true));
      sftp.connect(config).then(
        () => settled || ready(),
        (e: Error) => {
          // A failed handshake comes with an error, end or close event, handled above with its
          // cause; what is left is SFTP failing to open, or ssh2 refusing the config outright.
          if (settled) return;
          const what = authenticated ? "cannot open SFTP" : "cannot connect";
          fail(new ConnectError(label, `${label}: ${what}: ${e.message}`, false));
        },
      );
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
export async function installAuthorizedKey(
  conn: Connection,
  publicKey: string,
  node = "the node",
): Promise<"added" | "present"> {
  const key = publicKey.trim();
  if (!/^(ssh-|ecdsa-|sk-)[^\s]+ [A-Za-z0-9+/=]+/.test(key) || key.includes("\n")) {
    throw new UsageError("not an OpenSSH public key (one line: type base64 [comment])");
  }
  const r = await conn.exec(shArgs(["sh", "-c", authorizedKeyScript()]), { stdin: `${key}\n`, timeoutMs: 30_000 });
  if (r.code !== 0) throw new RemoteError(node, `cannot update authorized_keys: ${r.stderr.trim()}`, r);
  return r.stdout.trim() === "present" ? "present" : "added";
}
