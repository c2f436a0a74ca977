/**
 * What `deploy()` needs from the thing that reaches a node. The SSH transport (ssh-transport.ts) is
 * the production one; tests and other tooling may bring their own (a container exec, a local
 * chroot...). Only two primitives are required: run a command, and write bytes to a path. Atomic
 * installation, hashing, sudo and directory creation are built on them once, in remote-fs.ts, so
 * every transport gets the same guarantees.
 */

export interface ExecOptions {
  /** Bytes fed to the command's standard input (then closed). Secrets go here, never in argv. */
  readonly stdin?: string | Buffer;
  /** Give up after this long: the transport ends the channel and resolves with `timedOut`. */
  readonly timeoutMs?: number;
  /** Streamed output, for live progress and logs; the full output is also in the result. */
  readonly onStdout?: (chunk: string) => void;
  /** Streamed error output, as `onStdout`. */
  readonly onStderr?: (chunk: string) => void;
}

/** How a remote command ended, with its whole output. */
export interface ExecResult {
  /** Exit status; null when the command died of a signal, timed out or the connection dropped. */
  readonly code: number | null;
  readonly signal?: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut?: boolean;
}

/** What lstat(2) says about a path (the optional fast path of a connection). */
export interface FileStat {
  readonly kind: "file" | "link" | "other";
  /** Permission bits (0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/** An open, authenticated connection to one node. */
export interface Connection {
  /** The login user on the node. Anything but "root" makes ha-gen wrap privileged work in `sudo -n`. */
  readonly user: string;
  /** Runs `command` with the login user's shell (`sh -c` semantics, like `ssh host command`). */
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /**
   * Creates or truncates `path` with `content`, creating it with `mode` (ha-gen always passes
   * 0o600 and fixes mode and owner afterwards, so a secret is never readable by others in transit).
   * Rejects when the write did not complete.
   */
  writeFile(path: string, content: Buffer, mode: number): Promise<void>;
  /**
   * Optional fast path without a shell on the node (the SSH transport serves it over SFTP): used
   * for root logins to compare files, so a no-change run starts no remote process at all.
   * Resolve undefined when the path does not exist.
   */
  lstat?(path: string): Promise<FileStat | undefined>;
  /** The file's bytes, or undefined when it does not exist (optional fast path). */
  readFile?(path: string): Promise<Buffer | undefined>;
  /** Closes the connection; no call may follow. */
  close(): Promise<void>;
}

/** Opens connections to nodes: {@link SshTransport}, or a test double. */
export interface Transport {
  /** Opens the connection to one node; deploy() calls it once per node and reuses the result. */
  connect(node: string): Promise<Connection>;
  /** Releases shared resources (jump-host connections). Optional. */
  close?(): Promise<void>;
}

/** A node could not be reached or refused us: not a bug, reported without a stack. */
export { ConnectError } from "../src/core/errors.js";
