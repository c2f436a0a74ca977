import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CNF_MAX_BYTES, cnf } from "../../src/core/quote.js";
import { requireTool, tempDir } from "../helpers/checker.js";
import { EDGE_VALUES, NASTY, RUNS, batch, quoteAll, show } from "../helpers/quote-arb.js";
import { mustSucceed, runBytes } from "../helpers/quote-run.js";

/**
 * cnf() against my_print_defaults, which parses option files with the same mysys code as mariadbd
 * and the clients and prints each option as `--name=value` with escapes already resolved (raw
 * bytes, newlines included). One file with many keys per run; the whole output is compared.
 */

requireTool("my_print_defaults");

function printDefaults(
  values: readonly string[],
  quote: (v: string) => string = cnf,
  keyName = (i: number) => `k${i}`,
): void {
  const acc = quoteAll("cnf", values, quote);
  if (acc.length === 0) return;
  const t = tempDir("ha-gen-quote-cnf-");
  try {
    // A comment, another group and odd spacing around `=`, as real files have.
    const body = acc.map((a, i) => `${keyName(i)} = ${a.quoted}`).join("\n");
    const file = t.write("my.cnf", `# ${"comment"}\n[other]\nk0 = other\n\n[hagen]\n${body}\n[after]\nk0 = after\n`);
    const r = runBytes("my_print_defaults", [`--defaults-file=${file}`, "hagen"]);
    mustSucceed("my_print_defaults", r);
    const expected = acc.map((a, i) => Buffer.from(`--${keyName(i)}=${a.value}\n`, "utf8"));
    if (
      !r.stdout.equals(Buffer.concat(expected)) ||
      r.stdout.toString("utf8") !== acc.map((a, i) => `--${keyName(i)}=${a.value}\n`).join("")
    ) {
      // Name the first option that differs.
      let off = 0;
      for (const [i, e] of expected.entries()) {
        if (!r.stdout.subarray(off, off + e.length).equals(e)) {
          throw new Error(
            `cnf(${show(acc[i]!.value)}) = ${acc[i]!.quoted} ` +
              `came back as ${JSON.stringify(r.stdout.subarray(off).toString("utf8").slice(0, 200))}`,
          );
        }
        off += e.length;
      }
      throw new Error(`extra output: ${JSON.stringify(r.stdout.subarray(off).toString("utf8"))}`);
    }
  } finally {
    t.cleanup();
  }
}

describe("cnf() read back by my_print_defaults", () => {
  it("round-trips every edge value and nasty fragment (fixed corpus)", () => {
    printDefaults([
      ...EDGE_VALUES,
      ...NASTY,
      NASTY.filter((n) => n !== "\u0000").join(""),
      '"',
      "'x'",
      '"x"',
      "x #y",
      "\\s",
      "\\b",
    ]);
  });

  it("round-trips arbitrary hostile strings (property, batched)", () => {
    fc.assert(
      fc.property(batch({ minLength: 60, maxLength: 120 }), (values) => printDefaults(values)),
      RUNS(20),
    );
  });

  it("round-trips values up to CNF_MAX_BYTES, even with a 64-character option name", () => {
    const longest = [
      "a".repeat(CNF_MAX_BYTES),
      "😀".repeat((CNF_MAX_BYTES - 2) / 4),
      "\\".repeat((CNF_MAX_BYTES - 2) / 2),
      `${"中".repeat(1000)}${"x".repeat(CNF_MAX_BYTES - 2 - 3000)}`,
    ];
    for (const v of longest) expect(Buffer.byteLength(cnf(v))).toBeLessThanOrEqual(CNF_MAX_BYTES);
    printDefaults(longest, cnf, (i) => `k${i}_${"x".repeat(61)}`);
  });

  it("refuses longer values: mysys splits a long line into bogus options (proof)", () => {
    expect(() => cnf("a".repeat(CNF_MAX_BYTES + 1))).toThrow(/longer than/);
    expect(() => cnf("\\".repeat(CNF_MAX_BYTES / 2))).toThrow(/longer than/);
    const t = tempDir("ha-gen-quote-cnf-");
    try {
      const file = t.write("my.cnf", `[hagen]\nk = "${"a".repeat(4200)}"\n`);
      const r = runBytes("my_print_defaults", [`--defaults-file=${file}`, "hagen"]);
      expect(r.stdout.toString("utf8").split("\n").filter(Boolean).length).toBeGreaterThan(1);
    } finally {
      t.cleanup();
    }
  });

  it("refuses NUL and lone surrogates", () => {
    expect(() => cnf("a\u0000b")).toThrow(/NUL/);
    expect(() => cnf("a\udc00")).toThrow(/surrogate/);
  });

  it("the same check rejects unquoted values (proof the check can fail)", () => {
    expect(() => printDefaults(["pass#word", " padded "], (v) => v)).toThrow(/came back as/);
  });
});
