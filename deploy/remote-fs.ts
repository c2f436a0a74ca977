import { HaGenError } from "../src/core/errors.js";
import { createHash, randomBytes } from "node:crypto";
import { shArgs } from "../src/core/quote.js";
import { inspectScript, installScript, stageDirCommand } from "./scripts.js";
import type { Connection, ExecResult } from "./transport.js";

/**
 * File operations on a node, built from a transport's two primitives (exec, writeFile) so every
 * transport gets the same guarantees:
 *  - one remote command inspects every path of a node (kind, mode, owner, group, sha256);
 *  - a file is installed atomically: its bytes go to a temporary name in the target's own
 *    directory, created 0600, then chown, chmod and rename(2) over the target. A dropped
 *    connection leaves at most a temporary file, which the next run's inspection removes; the
 *    target is always either the old or the new file.
 *  - a file already there that ha-gen did not write (no ha-gen marker in it) is kept once as
 *    `<file>.ha-gen-orig` before ha-gen's content (which carries the marker) first replaces it;
 *  - a login user other than root cannot write system directories: it uploads to a private
 *    `mktemp -d` staging directory (0700) and `sudo -n` copies each file to the temporary name
 *    beside the target (umask 077) before the same chown/chmod/rename.
 * The remote scripts are templates (deploy/templates/inspect.sh.njk, install.sh.njk).
 */

export const TMP_MARK = ".ha-gen-tmp.";

/** What a file on a node is compared with its rendered artifact (content, mode, owner). */
export interface RemoteFileState {
  /** unknown-owner: the wanted owner or group does not exist there. */
  readonly kind: "file" | "missing" | "link" | "other" | "unknown-owner";
  readonly mode?: number;
  /** Current owner and group names. */
  readonly owner?: string;
  readonly group?: string;
  /** Current owner and group are the wanted ones (compared as ids). */
  readonly ownerOk?: boolean;
  readonly sha256?: string;
}

/** A command ha-gen itself runs on a node (inspect, install) failed: the rollout fails, exit 1. */
export class RemoteError extends HaGenError {
  readonly code = "REMOTE";
  constructor(
    readonly node: string,
    message: string,
    readonly result?: ExecResult,
  ) {
    super(message, 1);
  }
}

/** The command line for `argv` run as root: directly for root, else through passwordless sudo. */
export function asRoot(conn: Connection, argv: readonly string[]): string {
  return conn.user === "root" ? shArgs(argv) : `sudo -n -- ${shArgs(argv)}`;
}

/**
 * Lists the state of `paths` in one command; optionally removes stale temporaries and creates
 * missing parent directories.
 */
export async function inspect(
  conn: Connection,
  node: string,
  files: readonly { readonly path: string; readonly owner: string; readonly group: string }[],
  o: { readonly clean: boolean; readonly mkdir: boolean; readonly timeoutMs: number; readonly root: string },
): Promise<RemoteFileState[]> {
  const out: RemoteFileState[] = files.map(() => ({ kind: "missing" }));
  if (files.length === 0) return out;
  if (conn.user === "root" && conn.lstat && conn.readFile) {
    const fast = await inspectWithoutShell(conn, node, files, o);
    if (fast) return fast;
  }
  const args = [o.clean ? "clean" : "keep", o.mkdir ? "mkdir" : "no", o.root];
  const cmd = asRoot(conn, ["bash", "-c", inspectScript(TMP_MARK), "ha-gen-inspect", ...args]);
  const stdin = files.map((f) => `${f.path}\0${f.owner}\0${f.group}\0`).join("");
  const r = await conn.exec(cmd, { stdin, timeoutMs: o.timeoutMs });
  if (r.code !== 0) throw commandFailed(node, "inspecting files", r);
  for (const line of r.stdout.split("\n")) {
    if (!line) continue;
    const f = line.split("\t");
    const i = Number(f[0]);
    if (!Number.isInteger(i) || i < 0 || i >= files.length) {
      throw new RemoteError(node, `unexpected inspection output: ${line}`);
    }
    if (f[1] === "file") {
      const [mode, owner, group, ok, sha256] = f.slice(2) as [string, string, string, string, string];
      out[i] = { kind: "file", mode: parseInt(mode, 8), owner, group, ownerOk: ok === "1", sha256 };
    } else out[i] = { kind: f[1] as RemoteFileState["kind"] };
  }
  return out;
}

interface IdMaps {
  readonly users: ReadonlyMap<string, number>;
  readonly groups: ReadonlyMap<string, number>;
}

function parseIds(text: string | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of (text ?? "").split("\n")) {
    const f = line.split(":");
    if (f.length >= 3 && f[0] && /^\d+$/.test(f[2]!)) m.set(f[0], Number(f[2]));
  }
  return m;
}

/**
 * The fast path for root logins over a transport with lstat/readFile (SFTP): no remote process
 * at all, so a no-change redeploy costs one connection per node even where the login shell is
 * slow to start. Owners resolve through /etc/passwd and /etc/group (the tree's own under --root,
 * as in the shell path); returns undefined to fall back to the shell path when a name is not in
 * those files (it may come from NSS) or the files cannot be read.
 */
async function inspectWithoutShell(
  conn: Connection,
  node: string,
  files: readonly { readonly path: string; readonly owner: string; readonly group: string }[],
  o: { readonly mkdir: boolean; readonly timeoutMs: number; readonly root: string },
): Promise<RemoteFileState[] | undefined> {
  const read = conn.readFile!.bind(conn);
  const lstat = conn.lstat!.bind(conn);
  let ids: IdMaps;
  try {
    const base = o.root && (await lstat(`${o.root}/etc/passwd`)) ? o.root : "";
    const groupBase = o.root && (await lstat(`${o.root}/etc/group`)) ? o.root : "";
    ids = {
      users: parseIds((await read(`${base}/etc/passwd`))?.toString("utf8")),
      groups: parseIds((await read(`${groupBase}/etc/group`))?.toString("utf8")),
    };
  } catch {
    return undefined;
  }
  if (files.some((f) => !ids.users.has(f.owner) || !ids.groups.has(f.group))) return undefined;
  const userName = new Map([...ids.users].map(([n, id]) => [id, n] as const));
  const groupName = new Map([...ids.groups].map(([n, id]) => [id, n] as const));
  const out: RemoteFileState[] = files.map(() => ({ kind: "missing" }));
  const missingDirs = new Set<string>();
  await forEachLimit(files, 16, async (f, i) => {
    const st = await lstat(f.path);
    if (!st) {
      const dir = f.path.slice(0, f.path.lastIndexOf("/")) || "/";
      if (o.mkdir && !(await lstat(dir))) missingDirs.add(dir);
      return;
    }
    if (st.kind !== "file") {
      out[i] = { kind: st.kind };
      return;
    }
    const content = await read(f.path);
    if (!content) return; // removed meanwhile: missing
    out[i] = {
      kind: "file",
      mode: st.mode,
      owner: userName.get(st.uid) ?? String(st.uid),
      group: groupName.get(st.gid) ?? String(st.gid),
      ownerOk: st.uid === ids.users.get(f.owner) && st.gid === ids.groups.get(f.group),
      sha256: createHash("sha256").update(content).digest("hex"),
    };
  });
  if (missingDirs.size > 0) {
    const r = await conn.exec(shArgs(["mkdir", "-p", "--", ...missingDirs]), { timeoutMs: o.timeoutMs });
    if (r.code !== 0) throw new RemoteError(node, `cannot create directories: ${lastLines(r.stderr, 3)}`, r);
  }
  return out;
}

export interface InstallFile {
  readonly target: string;
  /** undefined: content is already right, only mode/owner/group are fixed. */
  readonly content?: Buffer;
  readonly mode: number;
  readonly owner: string;
  readonly group: string;
}

function tmpNameFor(target: string): string {
  const slash = target.lastIndexOf("/");
  return `${target.slice(0, slash + 1)}.${target.slice(slash + 1)}${TMP_MARK}${randomBytes(6).toString("hex")}`;
}

/**
 * Installs files atomically (see the module comment). Uploads run `parallel` at a time over the
 * node's one connection; the final chown/chmod/rename of all files is one remote command.
 */
export async function install(
  conn: Connection,
  node: string,
  files: readonly InstallFile[],
  o: { readonly timeoutMs: number; readonly parallel?: number; readonly root: string },
): Promise<void> {
  if (files.length === 0) return;
  const root = conn.user === "root";
  let staging: string | undefined;
  if (!root && files.some((f) => f.content)) {
    const r = await conn.exec(stageDirCommand(), { timeoutMs: o.timeoutMs });
    staging = r.stdout.trim();
    if (r.code !== 0 || !staging.startsWith("/")) {
      throw new RemoteError(node, `cannot create a staging directory: ${lastLines(r.stderr, 3)}`, r);
    }
  }
  const records: string[][] = [];
  const uploads: { path: string; content: Buffer }[] = [];
  files.forEach((f, i) => {
    if (!f.content) {
      records.push(["", "", f.target, f.owner, f.group, modeString(f.mode)]);
      return;
    }
    const tmp = tmpNameFor(f.target);
    const staged = root ? tmp : `${staging}/${i}`;
    uploads.push({ path: staged, content: f.content });
    records.push([staged, tmp, f.target, f.owner, f.group, modeString(f.mode)]);
  });
  try {
    await forEachLimit(uploads, o.parallel ?? 8, (u) => conn.writeFile(u.path, u.content, 0o600));
    const stdin = records.map((r) => r.map((x) => `${x}\0`).join("")).join("");
    const cmd = asRoot(conn, ["bash", "-c", installScript(TMP_MARK), "ha-gen-install", o.root]);
    const r = await conn.exec(cmd, { stdin, timeoutMs: o.timeoutMs });
    if (r.code !== 0) throw commandFailed(node, "installing files", r);
  } finally {
    if (staging) {
      await conn.exec(shArgs(["rm", "-rf", "--", staging]), { timeoutMs: o.timeoutMs }).catch(() => undefined);
    }
  }
}

/** The content of a remote file (for dry-run diffs), or undefined when it cannot be read. */
export async function readRemote(conn: Connection, path: string, timeoutMs: number): Promise<string | undefined> {
  if (conn.user === "root" && conn.readFile) {
    return (await conn.readFile(path).catch(() => undefined))?.toString("utf8");
  }
  const r = await conn.exec(asRoot(conn, ["cat", "--", path]), { timeoutMs });
  return r.code === 0 ? r.stdout : undefined;
}

function commandFailed(node: string, what: string, r: ExecResult): RemoteError {
  const tail = lastLines(r.stderr || r.stdout, 5);
  return new RemoteError(node, `${what} failed (exit ${r.code ?? r.signal ?? "?"}): ${tail}`, r);
}

export function modeString(mode: number): string {
  return `0${(mode & 0o7777).toString(8)}`;
}

export function lastLines(text: string, n: number): string {
  const lines = text.replace(/\s+$/, "").split("\n");
  return lines.slice(-n).join("\n");
}

export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure !== undefined) throw failure;
}
