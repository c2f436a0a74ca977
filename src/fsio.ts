import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { Artifact } from "./artifact.js";

/**
 * The one module that writes files. Everything else computes content; this puts it on disk,
 * atomically: a failed write leaves the previous state, never a half-written tree or file.
 */

/** A file of the output tree that is not a node file (plan.json, PLAN.md, manifest.json). */
export interface TreeFile {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

const tmpName = (p: string) => join(dirname(p), `.${basename(p)}.ha-gen-${randomBytes(6).toString("hex")}`);

/**
 * Writes DIR/<node>/<path> for every artifact plus the extra top-level files into a temporary
 * sibling directory, then swaps it into place with renames.
 */
export async function writeTreeAtomic(outDir: string, artifacts: readonly Artifact[], extra: readonly TreeFile[]): Promise<void> {
  const target = resolve(outDir);
  await mkdir(dirname(target), { recursive: true });
  const staging = tmpName(target);
  await mkdir(staging, { mode: 0o755 });
  try {
    const dirs = new Set<string>();
    for (const a of artifacts) dirs.add(dirname(join(staging, a.node, a.path)));
    for (const f of extra) dirs.add(dirname(join(staging, f.path)));
    for (const d of [...dirs].sort()) await mkdir(d, { recursive: true, mode: 0o755 });
    await Promise.all([
      ...artifacts.map((a) => writeFileMode(join(staging, a.node, a.path), a.content, a.mode)),
      ...extra.map((f) => writeFileMode(join(staging, f.path), f.content, f.mode)),
    ]);
    let old: string | undefined;
    if (await exists(target)) {
      old = tmpName(target);
      await rename(target, old);
    }
    await rename(staging, target);
    if (old) await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  }
}

async function writeFileMode(path: string, content: string, mode: number): Promise<void> {
  // Create with the final mode so a secret is never readable by others, not even briefly.
  await writeFile(path, content, { mode, flag: "wx" });
  await chmod(path, mode); // umask may have removed bits the artifact asks for
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Writes the secrets file atomically with mode 0600. */
export async function writeSecretsFile(path: string, text: string): Promise<void> {
  const target = resolve(path);
  await mkdir(dirname(target), { recursive: true });
  const tmp = tmpName(target);
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(tmp, 0o600);
  await rename(tmp, target);
}

/** Tightens an existing secrets file that others can read; returns true when it did. */
export async function tightenSecretsFile(path: string): Promise<boolean> {
  const s = await stat(path);
  if ((s.mode & 0o077) === 0) return false;
  await chmod(path, 0o600);
  return true;
}
