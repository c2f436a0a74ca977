#!/usr/bin/env node
/**
 * The `ha-gen` executable (dist/cli.cjs). It loads the bundled command line (dist/cli-main.cjs)
 * through a V8 code cache, because on Node 20 compiling that bundle's ~1 MB of JavaScript on every
 * start cost more than a whole render (Node >= 22 has module.enableCompileCache; this is the same
 * idea, for 20 too). CommonJS on purpose: starting an ES module entry costs a bare Node ~15% more.
 *
 * The cache lives in a directory only this user can write (`$HA_GEN_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/ha-gen`, else `~/.cache/ha-gen`), one file per bundle digest, Node version, flag
 * set and command, written atomically with mode 0600. The same directory keeps TypeScript specs
 * compiled to CommonJS (src/spec-cache.ts). V8 rejects a cache from another V8 version or flag set
 * and the file is then rewritten. Any problem with the cache only means no cache:
 * `HA_GEN_CACHE_DIR=` (empty) turns it off.
 */
import { closeSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, join } from "node:path";
import { Script } from "node:vm";
import { fnv1a } from "./fnv.js";
import { CLI_CACHE, type CliCache } from "./cli-cache.js";

/** Replaced at build time with the SHA-256 of cli-main.cjs (see tsup.config.ts). */
const MAIN_DIGEST = "__HA_GEN_MAIN_DIGEST__";
const COMMANDS = new Set(["render", "validate", "plan", "schema", "deploy", "recover"]);

function cacheDir(): string | undefined {
  const env = process.env;
  let dir: string | undefined;
  if (env.HA_GEN_CACHE_DIR !== undefined) dir = env.HA_GEN_CACHE_DIR || undefined;
  else if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)) dir = join(env.XDG_CACHE_HOME, "ha-gen");
  else {
    const home = homedir();
    if (home && isAbsolute(home)) dir = join(home, ".cache", "ha-gen");
  }
  if (!dir || !isAbsolute(dir) || typeof process.getuid !== "function") return undefined;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Cached code runs as this user: use only a real directory that nobody else can write to.
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== process.getuid() || (st.mode & 0o022) !== 0) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

function readCache(path: string): Buffer | undefined {
  try {
    const fd = openSync(path, "r");
    try {
      const st = fstatSync(fd);
      if (!st.isFile() || st.uid !== process.getuid?.() || (st.mode & 0o022) !== 0) return undefined;
      return readFileSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

function writeCache(path: string, data: Buffer): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data, { mode: 0o600, flag: "wx" });
    renameSync(tmp, path);
    // Caches of other ha-gen builds go once they are a week old: not at once, because two installed
    // versions used in turn (a global one and a project's) would otherwise evict each other's.
    const dir = dirname(path);
    const current = basename(path).slice(0, "cli-".length + 16);
    const weekAgo = Date.now() - 7 * 24 * 3600 * 1000;
    for (const f of readdirSync(dir)) {
      if (!f.startsWith("cli-") || !f.endsWith(".v8") || f.startsWith(current)) continue;
      if (lstatSync(join(dir, f)).mtimeMs < weekAgo) unlinkSync(join(dir, f));
    }
  } catch {
    // A cache that cannot be written is no cache; the command's own result is what matters.
  }
}

const main = join(__dirname, "cli-main.cjs");
const source = readFileSync(main, "utf8");
const command = process.argv.slice(2).find((a) => !a.startsWith("-"));
// Help and version compile only a little of a command: they get a cache of their own.
const helpRun = process.argv.slice(2).some((a) => /^(-h|--help|-V|--version)$/.test(a));
const dir = MAIN_DIGEST.startsWith("__") ? undefined : cacheDir();
// V8 rejects a cache made under other flags: runs with different flags get files of their own.
const flags = fnv1a(`${process.execArgv.join(" ")}\0${process.env.NODE_OPTIONS ?? ""}`);
const cacheFile = dir && join(dir, `cli-${MAIN_DIGEST.slice(0, 16)}-${process.version}-${process.arch}-${flags}-${helpRun ? "help" : command && COMMANDS.has(command) ? command : "other"}.v8`);
const cachedData = cacheFile ? readCache(cacheFile) : undefined;

// The same directory, with the same checks, holds compiled spec modules (src/spec-cache.ts).
if (dir) {
  const cache: CliCache = {
    build: MAIN_DIGEST,
    read: (name) => (/^[\w.-]+$/.test(name) ? readCache(join(dir, name))?.toString("utf8") : undefined),
    write: (name, text) => {
      if (/^[\w.-]+$/.test(name)) writeCache(join(dir, name), Buffer.from(text));
    },
  };
  (globalThis as Record<symbol, unknown>)[CLI_CACHE] = cache;
}

// The same wrapper Node puts around a CommonJS module.
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: main, cachedData });
if (cacheFile && (!cachedData || script.cachedDataRejected)) {
  // Created at exit, so the cache also holds the functions this command compiled while running;
  // not after a failure, which ran only part of the command.
  process.once("exit", (code) => {
    if (code === 0) writeCache(cacheFile, script.createCachedData());
  });
}
const mod = { exports: {} as unknown, filename: main, id: main, loaded: false };
(script.runInThisContext() as (...a: unknown[]) => void).call(mod.exports, mod.exports, createRequire(main), mod, main, dirname(main));
