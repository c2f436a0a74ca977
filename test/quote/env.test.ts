import fc from "fast-check";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { envValue, sh } from "../../src/core/quote.js";
import { requireTool, tempDir } from "../helpers/checker.js";
import {
  EDGE_VALUES,
  NASTY,
  RUNS,
  batch,
  expectSameBytes,
  hostile,
  quoteAll,
  show,
  splitNul,
} from "../helpers/quote-arb.js";
import { mustSucceed, runBytes } from "../helpers/quote-run.js";

/**
 * envValue() in a `KEY=<envValue(v)>` file read by both of its readers:
 * - bash, `. file` (how the step scripts and etcd's sysconfig file are sourced);
 * - systemd's env-file parser. EnvironmentFile= needs systemd as PID 1, so the reader here is
 *   systemd's environment.d generator, which runs standalone and parses with the same
 *   parse_env_file_internal() (systemd 252, Debian 12). It differs from EnvironmentFile= only after
 *   parsing: it expands `$VAR` (envValue refuses `$`) and drops empty values ("invalid syntax"),
 *   which EnvironmentFile= keeps as empty — so "" is checked with bash only.
 * CentOS 8's systemd 239 cannot be run here; envValue keeps to characters both take literally.
 */

const GENERATOR = "/usr/lib/systemd/user-environment-generators/30-systemd-environment-d-generator";
requireTool("bash", GENERATOR);

/** Undo the generator's output quoting (shell_maybe_quote: "…" with \\ \" \` \$ and C escapes). */
function decodeGeneratorValue(raw: Buffer): Buffer {
  if (raw[0] !== 0x22) return raw;
  if (raw[raw.length - 1] !== 0x22) throw new Error(`unterminated value ${raw.toString("utf8")}`);
  const out: number[] = [];
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11 };
  for (let i = 1; i < raw.length - 1; i++) {
    const c = raw[i]!;
    if (c !== 0x5c) {
      out.push(c);
      continue;
    }
    const n = String.fromCharCode(raw[++i]!);
    if (n in simple) out.push(simple[n]!);
    else if (/[0-7]/.test(n)) {
      out.push(parseInt(raw.subarray(i, i + 3).toString("latin1"), 8));
      i += 2;
    } else if (n === "x") {
      out.push(parseInt(raw.subarray(i + 1, i + 3).toString("latin1"), 16));
      i += 2;
    } else out.push(raw[i]!);
  }
  return Buffer.from(out);
}

/** Runs the generator on one env file; returns HAGEN_* values by key. */
function systemdRead(fileBody: string): { values: Map<string, Buffer>; stderr: string } {
  const t = tempDir("ha-gen-quote-env-");
  try {
    mkdirSync(join(t.dir, "environment.d"));
    t.write("environment.d/50-hagen.conf", fileBody);
    const r = runBytes(GENERATOR, [], { env: { XDG_CONFIG_HOME: t.dir, PATH: "/usr/bin:/bin" } });
    const values = new Map<string, Buffer>();
    let start = 0;
    for (let i = 0; i <= r.stdout.length; i++) {
      if (i < r.stdout.length && r.stdout[i] !== 0x0a) continue;
      const line = r.stdout.subarray(start, i);
      start = i + 1;
      const eq = line.indexOf(0x3d);
      const key = eq > 0 ? line.subarray(0, eq).toString("latin1") : "";
      if (key.startsWith("HAGEN_")) values.set(key, decodeGeneratorValue(line.subarray(eq + 1)));
    }
    return { values, stderr: r.stderr };
  } finally {
    t.cleanup();
  }
}

function readBoth(values: readonly string[], quote: (v: string | number) => string = envValue): void {
  const acc = quoteAll("envValue", values, quote);
  if (acc.length === 0) return;
  const body = `${acc.map((a, i) => `HAGEN_${i}=${a.quoted}`).join("\n")}\n`;

  const t = tempDir("ha-gen-quote-env-");
  try {
    const file = t.write("env", body);
    const script = `set -euo pipefail\n. ${sh(file)}\nprintf '%s\\0' ${acc.map((_, i) => `"$HAGEN_${i}"`).join(" ")}\n`;
    const r = runBytes("bash", ["-s"], { input: script });
    mustSucceed("bash . env file", r);
    expectSameBytes(
      "bash . KEY=envValue(v)",
      acc.map((a) => a.value),
      splitNul(r.stdout),
    );
  } finally {
    t.cleanup();
  }

  const sd = systemdRead(body);
  acc.forEach((a, i) => {
    if (a.value === "") return; // see the file comment: environment.d drops empty values
    const got = sd.values.get(`HAGEN_${i}`);
    if (!got) throw new Error(`systemd dropped ${show(a.value)} (${show(a.quoted)}): ${sd.stderr}`);
    if (!got.equals(Buffer.from(a.value, "utf8")) || got.toString("utf8") !== a.value)
      throw new Error(`systemd read ${show(a.value)} (${show(a.quoted)}) as ${show(got.toString("utf8"))}`);
  });
}

const refused = (ch: string) =>
  /["\\$`\u0000-\u001f\u007f]/.test(ch) || /[\ud800-\udfff]|\p{Noncharacter_Code_Point}/u.test(ch);

describe("envValue() read by bash and by systemd's env-file parser", () => {
  it("round-trips every edge value and nasty fragment (fixed corpus)", () => {
    readBoth([
      ...EDGE_VALUES,
      ...NASTY,
      NASTY.filter((n) => !refused(n)).join(""),
      "  spaced  ",
      "x=y",
      "'single'",
      "#",
      ";comment",
    ]);
  });

  it("round-trips arbitrary hostile values (property, batched)", () => {
    fc.assert(
      fc.property(batch({ minLength: 40, maxLength: 80, value: hostile({ avoid: refused }) }), (vs) => readBoth(vs)),
      RUNS(10),
    );
    fc.assert(
      fc.property(batch({ minLength: 40, maxLength: 80 }), (vs) => readBoth(vs)),
      RUNS(5),
    );
  });

  it("numbers are values too", () => {
    expect(envValue(2379)).toBe('"2379"');
  });

  it("refuses noncharacters because systemd drops the whole assignment (proof)", () => {
    const sd = systemdRead('HAGEN_0="x\ufffey"\nHAGEN_1="x\ufdd0y"\nHAGEN_2="ok"\n');
    expect(sd.values.has("HAGEN_0")).toBe(false);
    expect(sd.stderr).toMatch(/invalid UTF-8/);
    expect(() => envValue("x\ufffey")).toThrow(/noncharacter/);
    expect(() => envValue("x\u{10ffff}")).toThrow(/noncharacter/);
    expect(() => envValue("x\ud800")).toThrow(/surrogate/);
  });

  it("the same check rejects unquoted values (proof the check can fail)", () => {
    // bash runs `b` as a command with HAGEN_0=a in its environment.
    expect(() => readBoth(["a b"], (v) => String(v))).toThrow(/exited/);
  });
});
