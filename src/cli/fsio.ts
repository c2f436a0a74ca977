import {
  type Stats,
  chmodSync,
  closeSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import type { Artifact } from "../core/artifact.js";
import { EnvironmentError, InputError, UsageError } from "../core/errors.js";
import { MANIFEST_FORMAT, parseManifestJson } from "../core/formats.js";
import { RENDER_TOP_FILES } from "../core/spec/schema.js";

/**
 * The one module that writes files. Everything else computes content; this puts it on disk.
 * Synchronous on purpose: a render writes ~150 small files, and a thread-pool round trip per
 * open/write/chmod/close costs more than the writes themselves.
 */

/** A file of the output tree that is not a node file (plan.json, PLAN.md, manifest.json). */
export interface TreeFile {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

/** What a tree write did, per file. */
export interface TreeWrite {
  readonly written: number;
  readonly unchanged: number;
  readonly removed: number;
  /** Files in the directory that no render wrote: never removed or replaced. */
  readonly foreign: readonly string[];
}

/** manifest.json of an earlier render marks a directory as ha-gen's to replace. */
const MANIFEST = "manifest.json";
const MANIFEST_MARK = `"format": ${JSON.stringify(MANIFEST_FORMAT)}`;

// Temporary names need only be unique: they are created with O_EXCL ("wx"), which also refuses to
// follow a planted symlink.
let tmpCounter = 0;
const tmpName = (p: string) =>
  join(
    dirname(p),
    `.${basename(p)}.ha-gen-${process.pid}-${(tmpCounter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
  );

/**
 * Makes DIR hold exactly DIR/<node>/<path> for every artifact plus the extra top-level files.
 *
 * A new DIR is written as a temporary sibling and renamed into place. An existing DIR (which must
 * be empty or an earlier ha-gen output: `--out ~` must not wipe a home directory) is updated in
 * place: files whose content and mode are already right are not touched (their mtime stays, so
 * `rsync -a` and make-style tools see only real changes), changed files are first all written as
 * temporaries beside their targets and only then renamed over them, and files of the old tree that
 * are no longer produced are removed. A failure before the renames (disk full, permissions) removes
 * the temporaries and leaves the old tree as it was; every file is always whole.
 */
export function writeTreeAtomic(
  outDir: string,
  artifacts: readonly Artifact[],
  extra: readonly TreeFile[],
  checked?: Replaceable,
): TreeWrite {
  const target = resolve(outDir);
  const files = new Map<string, TreeFile>();
  for (const a of artifacts)
    files.set(join(a.node, a.path), { path: join(a.node, a.path), content: a.content, mode: a.mode });
  for (const f of extra) files.set(join(f.path), f);
  let st: Stats | undefined;
  try {
    st = lstatSync(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  if (!st) return writeFresh(target, [...files.values()]);
  // The caller's check, made under its output lock, already read the manifest: read it once only.
  const { owned } = checked ?? assertReplaceable(outDir);
  const old = scan(target);
  // Only what an earlier render wrote (its manifest says so) may be removed or replaced.
  const foreign = [...old.files.keys()].filter((p) => !owned.has(p) && !files.has(p) && !isOurTemporary(p)).sort();
  // A path that changes between file and directory cannot be renamed over: rewrite the tree whole.
  const wantDirs = new Set<string>();
  for (const p of files.keys()) for (let d = dirname(p); d !== "."; d = dirname(d)) wantDirs.add(d);
  if ([...files.keys()].some((p) => old.dirs.has(p)) || [...wantDirs].some((d) => old.files.has(d))) {
    if (foreign.length > 0) {
      throw new EnvironmentError(
        `--out ${outDir} must be rewritten whole (a node's files changed between file and directory) but holds ` +
          `files no render wrote (${foreign.slice(0, 3).join(", ")}${foreign.length > 3 ? ", …" : ""})` +
          `: move them out first`,
      );
    }
    return replaceWhole(target, files, old);
  }
  return updateInPlace(target, files, wantDirs, old, new Set(foreign));
}

const TOP_FILES = RENDER_TOP_FILES;

/** A temporary name a render (perhaps one that was killed) creates beside its targets. */
const isOurTemporary = (rel: string) => /(^|\/)\.[^/]*\.ha-gen-\d+-[0-9a-z]+-[0-9a-z]+$/.test(rel);

/** Relative paths an earlier render wrote, from its manifest (read with the schema it was written with). */
function ownedFiles(outDir: string): Set<string> {
  const path = join(resolve(outDir), MANIFEST);
  const manifest = parseManifestJson(readFileSync(path, "utf8"), path);
  return new Set([...TOP_FILES, ...manifest.files.map((f) => join(f.node, f.path))]);
}

/** What assertReplaceable found: the files an earlier render wrote (none for a missing or empty DIR). */
export interface Replaceable {
  readonly owned: ReadonlySet<string>;
}

/**
 * Throws unless DIR is missing, empty or an earlier ha-gen output, so `--out ~` cannot wipe a home
 * directory. Called before a render writes anything (secrets included). `shape` checks only that
 * DIR looks like an output (cheap, before the spec is even loaded); `full` also reads its manifest.
 */
export function assertReplaceable(outDir: string, depth: "shape" | "full" = "full"): Replaceable {
  const none: Replaceable = { owned: new Set() };
  const target = resolve(outDir);
  let st: Stats;
  try {
    st = lstatSync(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return none;
    throw new EnvironmentError(`--out ${outDir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (!st.isDirectory()) throw new EnvironmentError(`--out ${outDir} exists and is not a directory`);
  if (readdirSync(target).length === 0) return none;
  if (!isOutputDir(target)) {
    throw new EnvironmentError(
      `--out ${outDir} is not empty and holds no ha-gen ${MANIFEST}: ` +
        `refusing to replace it (choose a new or empty directory)`,
    );
  }
  if (depth === "shape") return none;
  try {
    return { owned: ownedFiles(outDir) };
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    throw new EnvironmentError(
      `--out ${outDir}: its ${MANIFEST} cannot be read (${e.message}); remove the directory or choose another`,
    );
  }
}

interface Scan {
  /** Relative path → "file" for a regular file, "other" for anything else (symlink, fifo). */
  readonly files: Map<string, "file" | "other">;
  readonly dirs: Set<string>;
}

function scan(root: string): Scan {
  const files = new Map<string, "file" | "other">();
  const dirs = new Set<string>();
  // Names come from readdir, so plain concatenation is exact.
  const rec = (rel: string) => {
    for (const e of readdirSync(rel ? `${root}/${rel}` : root, { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        dirs.add(p);
        rec(p);
      } else files.set(p, e.isFile() ? "file" : "other");
    }
  };
  rec("");
  return { files, dirs };
}

function isOutputDir(root: string): boolean {
  try {
    if (!lstatSync(join(root, MANIFEST)).isFile()) return false;
    return readFileSync(join(root, MANIFEST), "utf8").slice(0, 200).includes(MANIFEST_MARK);
  } catch {
    return false;
  }
}

function writeFresh(target: string, files: readonly TreeFile[]): TreeWrite {
  mkdirSync(dirname(target), { recursive: true });
  const staging = tmpName(target);
  mkdirSync(staging, { mode: 0o755 });
  try {
    writeAll(staging, files);
    renameSync(staging, target);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  return { written: files.length, unchanged: 0, removed: 0, foreign: [] };
}

function replaceWhole(target: string, files: ReadonlyMap<string, TreeFile>, old: Scan): TreeWrite {
  const staging = tmpName(target);
  mkdirSync(staging, { mode: 0o755 });
  try {
    writeAll(staging, [...files.values()]);
    const aside = tmpName(target);
    renameSync(target, aside);
    renameSync(staging, target);
    rmSync(aside, { recursive: true, force: true });
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  return {
    written: files.size,
    unchanged: 0,
    removed: [...old.files.keys()].filter((p) => !files.has(p)).length,
    foreign: [],
  };
}

function writeAll(root: string, files: readonly TreeFile[]): void {
  const dirs = new Set<string>();
  for (const f of files) dirs.add(dirname(join(root, f.path)));
  for (const d of [...dirs].sort()) mkdirSync(d, { recursive: true, mode: 0o755 });
  for (const f of files) writeFileMode(join(root, f.path), f.content, f.mode);
}

function updateInPlace(
  target: string,
  files: ReadonlyMap<string, TreeFile>,
  wantDirs: ReadonlySet<string>,
  old: Scan,
  foreign: ReadonlySet<string>,
): TreeWrite {
  const pending: { tmp: string; path: string }[] = [];
  const chmods: { path: string; mode: number }[] = [];
  const madeDirs: string[] = [];
  let unchanged = 0;
  try {
    for (const d of [...wantDirs].sort()) {
      if (old.dirs.has(d)) continue;
      mkdirSync(join(target, d), { mode: 0o755 });
      madeDirs.push(d);
    }
    for (const [rel, f] of files) {
      const path = `${target}/${rel}`;
      if (old.files.get(rel) === "file") {
        const same = sameContent(path, f.content);
        if (same !== undefined) {
          if (same === f.mode) unchanged++;
          else chmods.push({ path, mode: f.mode });
          continue;
        }
      }
      const tmp = tmpName(path);
      pending.push({ tmp, path });
      writeFileMode(tmp, f.content, f.mode);
    }
  } catch (e) {
    for (const p of pending) rmSync(p.tmp, { force: true });
    for (const d of madeDirs.reverse()) rmSync(join(target, d), { recursive: true, force: true });
    throw e;
  }
  for (const p of pending) renameSync(p.tmp, p.path);
  for (const c of chmods) chmodSync(c.path, c.mode);
  let removed = 0;
  for (const rel of old.files.keys()) {
    if (files.has(rel) || foreign.has(rel)) continue;
    unlinkSync(join(target, rel));
    removed++;
  }
  // Deepest first, so a directory is empty by the time it is removed; one holding foreign files stays.
  const keep = (d: string) => wantDirs.has(d) || [...foreign].some((f) => f.startsWith(`${d}/`));
  for (const d of [...old.dirs].sort().reverse()) if (!keep(d)) rmdirSync(join(target, d));
  return { written: pending.length + chmods.length, unchanged, removed, foreign: [...foreign] };
}

/** The file's mode when its bytes equal `content`'s UTF-8, else undefined. */
function sameContent(path: string, content: string): number | undefined {
  const st = lstatSync(path);
  if (!st.isFile() || st.size !== Buffer.byteLength(content)) return undefined;
  // Decoded text is compared (one system-call round trip in Node, not four), which is exact unless
  // the content holds U+FFFD: invalid UTF-8 on disk decodes to that too, so then compare bytes.
  const same = content.includes("\uFFFD")
    ? readFileSync(path).equals(Buffer.from(content))
    : readFileSync(path, "utf8") === content;
  return same ? st.mode & 0o7777 : undefined;
}

function writeFileMode(path: string, content: string, mode: number, sync = false): void {
  // Create with the final mode so a secret is never readable by others, not even briefly.
  const fd = openSync(path, "wx", mode);
  try {
    writeFileSync(fd, content); // loops over short writes
    fchmodSync(fd, mode); // umask may have removed bits the artifact asks for
    if (sync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes the secrets file atomically with mode 0600 (flushed to disk before it replaces the old one).
 * A secrets path that is a symbolic link is written through: the file it points to is replaced
 * (atomically, mode 0600), never the link, so the link keeps pointing at the current keys.
 */
export function writeSecretsFile(path: string, text: string): void {
  const target = realPathOf(path);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = tmpName(target);
  try {
    writeFileMode(tmp, text, 0o600, true);
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Tightens an existing secrets file that others can read; returns true when it did. */
export function tightenSecretsFile(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    if ((fstatSync(fd).mode & 0o077) === 0) return false;
    fchmodSync(fd, 0o600);
    return true;
  } finally {
    closeSync(fd);
  }
}

/** The real path of `path`, also when it (or its last components) does not exist yet. */
export function realPathOf(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT" || dirname(abs) === abs) throw e;
    return join(realPathOf(dirname(abs)), basename(abs));
  }
}

const inside = (dir: string, p: string) => p === dir || p.startsWith(dir.endsWith("/") ? dir : `${dir}/`);

/**
 * Before anything is written: a render never writes, replaces or removes its own inputs, so none may
 * lie inside the output directory, and the secrets file must not be the spec (or one of its modules).
 */
export function assertInputsOutside(outDir: string, inputs: readonly string[], secretsPath: string): void {
  const out = realPathOf(outDir);
  const secrets = realPathOf(secretsPath);
  for (const input of inputs) {
    const real = realPathOf(input);
    if (real === secrets)
      throw new UsageError(
        `--secrets ${secretsPath} is the spec or a module it imports (${input}): choose another file`,
      );
    if (inside(out, real)) {
      throw new UsageError(
        `--out ${outDir} holds ${input}, an input of this render: choose an output directory outside the inputs`,
      );
    }
  }
  if (inside(out, secrets)) {
    throw new UsageError(
      `--out ${outDir} holds the secrets file ${secretsPath}: keep secrets outside the output directory`,
    );
  }
}

/** Who holds an output directory's lock. */
interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * An exclusive lock on an output directory for the whole render (secrets included): a file created
 * with O_EXCL beside the directory, naming its holder. A lock left by a process that died on this
 * host is taken over; a live holder is waited for up to `waitMs`, then refused with exit 2.
 */
export function lockOutput(outDir: string, waitMs = 5_000): { release(): void } {
  const target = realPathOf(outDir);
  const lock = join(dirname(target), `.${basename(target)}.ha-gen-lock`);
  mkdirSync(dirname(target), { recursive: true });
  const me: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      writeFileSync(lock, `${JSON.stringify(me)}\n`, { flag: "wx", mode: 0o644 });
      return { release: () => rmSync(lock, { force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    let holder: LockOwner | undefined;
    try {
      holder = JSON.parse(readFileSync(lock, "utf8")) as LockOwner;
    } catch {
      holder = undefined; // being written right now, or removed: try again
    }
    if (holder && holder.host === me.host && Number.isInteger(holder.pid) && !alive(holder.pid)) {
      rmSync(lock, { force: true });
      continue;
    }
    if (Date.now() > until) {
      const who = holder ? `pid ${holder.pid} on ${holder.host}, since ${holder.since}` : "another process";
      throw new EnvironmentError(`--out ${outDir} is being written by another ha-gen render (${who}; lock ${lock})`);
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
}

/** A file-system failure while writing output, as the error a person can act on (exit 2). */
export function writeFailure(e: unknown, what: string): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (typeof code !== "string" || !/^E[A-Z]+$/.test(code)) return e;
  const path = (e as NodeJS.ErrnoException).path;
  return new EnvironmentError(`cannot write ${what}${path ? ` (${path})` : ""}: ${code}`, { cause: e });
}
