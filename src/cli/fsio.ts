import { chmodSync, closeSync, fchmodSync, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { Artifact } from "../core/artifact.js";
import { MANIFEST_FORMAT } from "../core/formats.js";
import { InputError } from "../core/errors.js";

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
}

/** manifest.json of an earlier render marks a directory as ha-gen's to replace. */
const MANIFEST = "manifest.json";
const MANIFEST_MARK = `"format": ${JSON.stringify(MANIFEST_FORMAT)}`;

// Temporary names need only be unique: they are created with O_EXCL ("wx"), which also refuses to
// follow a planted symlink.
let tmpCounter = 0;
const tmpName = (p: string) => join(dirname(p), `.${basename(p)}.ha-gen-${process.pid}-${(tmpCounter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`);

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
export function writeTreeAtomic(outDir: string, artifacts: readonly Artifact[], extra: readonly TreeFile[]): TreeWrite {
  const target = resolve(outDir);
  const files = new Map<string, TreeFile>();
  for (const a of artifacts) files.set(join(a.node, a.path), { path: join(a.node, a.path), content: a.content, mode: a.mode });
  for (const f of extra) files.set(join(f.path), f);
  let st;
  try {
    st = lstatSync(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  if (!st) return writeFresh(target, [...files.values()]);
  assertReplaceable(outDir);
  const old = scan(target);
  // A path that changes between file and directory cannot be renamed over: rewrite the tree whole.
  const wantDirs = new Set<string>();
  for (const p of files.keys()) for (let d = dirname(p); d !== "."; d = dirname(d)) wantDirs.add(d);
  if ([...files.keys()].some((p) => old.dirs.has(p)) || [...wantDirs].some((d) => old.files.has(d))) return replaceWhole(target, files, old);
  return updateInPlace(target, files, wantDirs, old);
}

/**
 * Throws unless DIR is missing, empty or an earlier ha-gen output, so `--out ~` cannot wipe a home
 * directory. Called before a render writes anything (secrets included).
 */
export function assertReplaceable(outDir: string): void {
  const target = resolve(outDir);
  let st;
  try {
    st = lstatSync(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new InputError(`--out ${outDir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 2);
  }
  if (!st.isDirectory()) throw new InputError(`--out ${outDir} exists and is not a directory`, 2);
  if (readdirSync(target).length > 0 && !isOutputDir(target)) {
    throw new InputError(`--out ${outDir} is not empty and holds no ha-gen ${MANIFEST}: refusing to replace it (choose a new or empty directory)`, 2);
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
  return { written: files.length, unchanged: 0, removed: 0 };
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
  return { written: files.size, unchanged: 0, removed: [...old.files.keys()].filter((p) => !files.has(p)).length };
}

function writeAll(root: string, files: readonly TreeFile[]): void {
  const dirs = new Set<string>();
  for (const f of files) dirs.add(dirname(join(root, f.path)));
  for (const d of [...dirs].sort()) mkdirSync(d, { recursive: true, mode: 0o755 });
  for (const f of files) writeFileMode(join(root, f.path), f.content, f.mode);
}

function updateInPlace(target: string, files: ReadonlyMap<string, TreeFile>, wantDirs: ReadonlySet<string>, old: Scan): TreeWrite {
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
    if (files.has(rel)) continue;
    unlinkSync(join(target, rel));
    removed++;
  }
  // Deepest first, so a directory is empty by the time it is removed.
  for (const d of [...old.dirs].sort().reverse()) if (!wantDirs.has(d)) rmdirSync(join(target, d));
  return { written: pending.length + chmods.length, unchanged, removed };
}

/** The file's mode when its bytes equal `content`'s UTF-8, else undefined. */
function sameContent(path: string, content: string): number | undefined {
  const st = lstatSync(path);
  if (!st.isFile() || st.size !== Buffer.byteLength(content)) return undefined;
  // Decoded text is compared (one system-call round trip in Node, not four), which is exact unless
  // the content holds U+FFFD: invalid UTF-8 on disk decodes to that too, so then compare bytes.
  const same = content.includes("\uFFFD") ? readFileSync(path).equals(Buffer.from(content)) : readFileSync(path, "utf8") === content;
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

/** Writes the secrets file atomically with mode 0600 (flushed to disk before it replaces the old one). */
export function writeSecretsFile(path: string, text: string): void {
  const target = resolve(path);
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
