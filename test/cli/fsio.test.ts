import { spawnSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Artifact } from "../../src/core/artifact.js";
import { assertReplaceable, writeTreeAtomic, type TreeFile } from "../../src/cli/fsio.js";
import { manifestJson } from "../../src/core/formats.js";

/** The one module that writes the output tree: fresh writes, in-place updates, refusals, failures. */

const art = (node: string, path: string, content: string, mode = 0o644): Artifact =>
  ({
    node,
    path,
    content,
    mode,
    owner: "root",
    group: "root",
    secret: mode !== 0o644,
    family: "test",
  }) as unknown as Artifact;
/** The manifest a render writes for `arts`: it names the files a later render may replace or remove. */
const m = (arts: readonly Artifact[]): TreeFile[] => [
  { path: "manifest.json", content: manifestJson(arts), mode: 0o644 },
];
const mf = (arts: readonly Artifact[]) => `644 ${manifestJson(arts)}`;

function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const rec = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) rec(p);
      else out[relative(dir, p)] = `${(statSync(p).mode & 0o7777).toString(8)} ${readFileSync(p, "utf8")}`;
    }
  };
  rec(dir);
  return out;
}

// Under the checkout (not /tmp): the failure test needs a file system with chattr (ext4 and the like).
const base = join(import.meta.dirname, "../../node_modules/.cache");
let work: string;
beforeAll(() => {
  mkdirSync(base, { recursive: true });
  work = mkdtempSync(join(base, "ha-gen-fsio-"));
});
afterAll(() => {
  spawnSync("chattr", ["-R", "-i", work]);
  rmSync(work, { recursive: true, force: true });
});

describe("writeTreeAtomic", () => {
  const v1 = [
    art("a", "/etc/hosts", "hosts v1\n"),
    art("a", "/etc/secret", "s3cret\n", 0o600),
    art("b", "/etc/x/y.conf", "y\n"),
    art("b", "/old/gone.conf", "bye\n"),
  ];

  it("writes a new directory whole, with each file's mode regardless of the umask", () => {
    const out = join(work, "fresh");
    const old = process.umask(0o077);
    try {
      expect(writeTreeAtomic(out, v1, m(v1))).toEqual({ written: 5, unchanged: 0, removed: 0, foreign: [] });
    } finally {
      process.umask(old);
    }
    expect(tree(out)).toEqual({
      "a/etc/hosts": "644 hosts v1\n",
      "a/etc/secret": "600 s3cret\n",
      "b/etc/x/y.conf": "644 y\n",
      "b/old/gone.conf": "644 bye\n",
      "manifest.json": mf(v1),
    });
    expect(readdirSync(work).filter((n) => n.includes("ha-gen-"))).toEqual([]);
  });

  it(
    "updates in place: unchanged files keep inode and mtime, changes are renamed in, " +
      "stale files and directories go",
    () => {
      const out = join(work, "fresh");
      const past = new Date("2020-01-01T00:00:00Z");
      for (const f of ["a/etc/hosts", "b/etc/x/y.conf"]) utimesSync(join(out, f), past, past);
      const before = {
        hosts: statSync(join(out, "a/etc/hosts")),
        secret: statSync(join(out, "a/etc/secret")),
        y: statSync(join(out, "b/etc/x/y.conf")),
      };
      writeFileSync(join(out, "b/stray.txt"), "not ours\n"); // no render wrote it: it stays, reported
      const v2 = [
        art("a", "/etc/hosts", "hosts v1\n"),
        art("a", "/etc/secret", "n3w\n", 0o600),
        art("b", "/etc/x/y.conf", "y\n", 0o640),
        art("c", "/new.conf", "new\n"),
      ];
      expect(writeTreeAtomic(out, v2, m(v2))).toEqual({
        written: 4,
        unchanged: 1,
        removed: 1,
        foreign: ["b/stray.txt"],
      });
      expect(tree(out)).toEqual({
        "a/etc/hosts": "644 hosts v1\n",
        "a/etc/secret": "600 n3w\n",
        "b/etc/x/y.conf": "640 y\n",
        "b/stray.txt": "644 not ours\n",
        "c/new.conf": "644 new\n",
        "manifest.json": mf(v2),
      });
      const hosts = statSync(join(out, "a/etc/hosts"));
      expect([hosts.ino, hosts.mtimeMs]).toEqual([before.hosts.ino, past.getTime()]);
      const y = statSync(join(out, "b/etc/x/y.conf"));
      expect([y.ino, y.mtimeMs]).toEqual([before.y.ino, past.getTime()]); // only its mode changed
      // replaced by rename, never rewritten in place
      expect(statSync(join(out, "a/etc/secret")).ino).not.toBe(before.secret.ino);
      expect(existsSync(join(out, "b/old"))).toBe(false);
    },
  );

  it("a second write of the same tree writes nothing", () => {
    const out = join(work, "same");
    writeTreeAtomic(out, v1, m(v1));
    expect(writeTreeAtomic(out, v1, m(v1))).toEqual({ written: 0, unchanged: 5, removed: 0, foreign: [] });
  });

  it("compares bytes, not decoded text: a corrupted file that decodes to the same U+FFFD is rewritten", () => {
    const out = join(work, "fffd");
    const content = "password: \uFFFD\n"; // a secret may hold any character
    writeTreeAtomic(out, [art("a", "/etc/p", content)], m([art("a", "/etc/p", content)]));
    // F0 90 80 is a truncated 4-byte sequence: it decodes to one U+FFFD, and is as long as EF BF BD.
    writeFileSync(
      join(out, "a/etc/p"),
      Buffer.concat([Buffer.from("password: "), Buffer.from([0xf0, 0x90, 0x80]), Buffer.from("\n")]),
    );
    expect(readFileSync(join(out, "a/etc/p"), "utf8")).toBe(content);
    expect(writeTreeAtomic(out, [art("a", "/etc/p", content)], m([art("a", "/etc/p", content)]))).toEqual({
      written: 1,
      unchanged: 1,
      removed: 0,
      foreign: [],
    });
    expect(readFileSync(join(out, "a/etc/p")).equals(Buffer.from(content))).toBe(true);
  });

  it("replaces a file that became a directory (and back), and never writes through a symlink", () => {
    const out = join(work, "shape");
    writeTreeAtomic(out, [art("a", "/etc/thing", "file\n")], m([art("a", "/etc/thing", "file\n")]));
    writeTreeAtomic(
      out,
      [art("a", "/etc/thing/inner", "now a dir\n")],
      m([art("a", "/etc/thing/inner", "now a dir\n")]),
    );
    expect(tree(out)).toEqual({
      "a/etc/thing/inner": "644 now a dir\n",
      "manifest.json": mf([art("a", "/etc/thing/inner", "now a dir\n")]),
    });
    writeTreeAtomic(out, [art("a", "/etc/thing", "file again\n")], m([art("a", "/etc/thing", "file again\n")]));
    expect(tree(out)).toEqual({
      "a/etc/thing": "644 file again\n",
      "manifest.json": mf([art("a", "/etc/thing", "file again\n")]),
    });
    const victim = join(work, "victim.txt");
    writeFileSync(victim, "keep me\n");
    rmSync(join(out, "a/etc/thing"));
    symlinkSync(victim, join(out, "a/etc/thing"));
    writeTreeAtomic(out, [art("a", "/etc/thing", "file again\n")], m([art("a", "/etc/thing", "file again\n")]));
    expect(readFileSync(victim, "utf8")).toBe("keep me\n");
    expect(lstatSync(join(out, "a/etc/thing")).isFile()).toBe(true);
  });

  it("refuses a non-empty directory that is not an earlier render, and a file, changing nothing", () => {
    const home = join(work, "home");
    mkdirSync(home);
    writeFileSync(join(home, "thesis.tex"), "precious\n");
    const msg =
      `--out ${home} is not empty and holds no ha-gen manifest.json: ` +
      `refusing to replace it (choose a new or empty directory)`;
    expect(() => assertReplaceable(home)).toThrow(msg);
    expect(() => writeTreeAtomic(home, v1, m(v1))).toThrow(msg);
    writeFileSync(join(home, "manifest.json"), '{ "format": "something-else" }\n');
    expect(() => writeTreeAtomic(home, v1, m(v1))).toThrow(msg);
    expect(tree(home)).toEqual({
      "thesis.tex": "644 precious\n",
      "manifest.json": '644 { "format": "something-else" }\n',
    });
    expect(() => writeTreeAtomic(join(home, "thesis.tex"), v1, m(v1))).toThrow("exists and is not a directory");
    const empty = join(work, "empty");
    mkdirSync(empty);
    expect(() => assertReplaceable(empty)).not.toThrow();
    expect(writeTreeAtomic(empty, v1, m(v1)).written).toBe(5);
  });

  it("a failure while writing leaves the old tree exactly as it was, without temporaries", () => {
    const out = join(work, "fail");
    writeTreeAtomic(out, v1, m(v1));
    const before = tree(out);
    // Immutable even for root: creating the temporary for a changed file in b/etc/x fails.
    const r = spawnSync("chattr", ["+i", join(out, "b/etc/x")], { encoding: "utf8" });
    if (r.status !== 0)
      throw new Error(`chattr +i failed (this test needs e2fsprogs and a file system with attributes): ${r.stderr}`);
    try {
      const v2 = [
        art("a", "/etc/hosts", "hosts v2\n"),
        art("a", "/etc/secret", "s3cret\n", 0o600),
        art("b", "/etc/x/y.conf", "y v2\n"),
        art("d", "/brand/new", "n\n"),
      ];
      expect(() => writeTreeAtomic(out, v2, m(v2))).toThrow(/EPERM|EACCES/);
    } finally {
      spawnSync("chattr", ["-i", join(out, "b/etc/x")]);
    }
    expect(tree(out)).toEqual(before);
    expect(existsSync(join(out, "d"))).toBe(false);
  });
});
