#!/usr/bin/env node
// The `ha-gen` executable. Node >= 22.1 can keep compiled code between runs: point its cache at a
// directory only this user can write (never the shared temporary directory), then run the CLI.
import { mkdirSync, lstatSync } from "node:fs";
import module from "node:module";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";

function compileCacheDir(): string | undefined {
  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), ".cache");
  const dir = join(base, "ha-gen", "compile-cache");
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    return st.isDirectory() && st.uid === process.getuid?.() && (st.mode & 0o077) === 0 ? dir : undefined;
  } catch {
    return undefined;
  }
}

// Typed by hand: @types/node for Node 20 (the oldest supported) does not know it yet.
const { enableCompileCache } = module as { enableCompileCache?: (dir: string) => unknown };
if (typeof enableCompileCache === "function") {
  const dir = compileCacheDir();
  if (dir) enableCompileCache(dir);
}
const { runMain } = await import("./main.js");
process.exitCode = await runMain(process.argv.slice(2));
