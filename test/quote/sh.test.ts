import fc from "fast-check";
import { describe, expect, it } from "vitest";
import lab from "../../examples/lab/cluster.ts";
import { CONTROLLER_SECRETS, secretsEnv } from "../../generators/secrets-env.js";
import { resolveCluster } from "../../src/core/model.js";
import { sh, shArgs } from "../../src/core/quote.js";
import { SECRET_KEYS, type SecretKey, type Secrets } from "../../src/core/secrets.js";
import { validateSpec } from "../../src/core/spec/validate.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";
import { requireTool, tempDir } from "../helpers/checker.js";
import {
  EDGE_VALUES,
  NASTY,
  RUNS,
  batch,
  expectSameBytes,
  quoteAll,
  secretValue,
  splitNul,
} from "../helpers/quote-arb.js";
import { mustSucceed, runBytes } from "../helpers/quote-run.js";

/**
 * sh / shArgs against the shells that read them: every accepted word comes back byte for byte from
 * bash (the step scripts' shell) and dash (plain POSIX sh); only NUL and lone surrogates are refused.
 * One shell process checks a whole batch.
 */

requireTool("bash", "dash");

const SHELLS = ["bash", "dash"] as const;

function printWords(
  shell: (typeof SHELLS)[number],
  values: readonly string[],
  quote: (v: string) => string = sh,
): void {
  const acc = quoteAll("sh", values, quote);
  if (acc.length === 0) return;
  // One printf per word, then all words through shArgs in a single command line.
  const perWord = acc.map((a) => `printf '%s\\0' ${a.quoted}`).join("\n");
  const r1 = runBytes(shell, ["-s"], { input: `${perWord}\n` });
  mustSucceed(`${shell} (one word per printf)`, r1);
  expectSameBytes(
    `${shell} sh()`,
    acc.map((a) => a.value),
    splitNul(r1.stdout),
  );
  const r2 = runBytes(shell, ["-s"], { input: `printf '%s\\0' ${shArgs(acc.map((a) => a.value))}\n` });
  mustSucceed(`${shell} (shArgs)`, r2);
  expectSameBytes(
    `${shell} shArgs()`,
    acc.map((a) => a.value),
    splitNul(r2.stdout),
  );
}

/** `KEY=<sh(v)>` lines sourced with `. file`, as load_secrets does with secrets.env. */
function sourceEnvFile(shell: (typeof SHELLS)[number], values: readonly string[]): void {
  const acc = quoteAll("sh", values, sh);
  if (acc.length === 0) return;
  const t = tempDir("ha-gen-quote-sh-");
  try {
    const file = t.write("env", `${acc.map((a, i) => `V_${i}=${a.quoted}`).join("\n")}\n`, 0o600);
    const strict = shell === "bash" ? "set -euo pipefail" : "set -eu";
    const script = `${strict}\n. ${sh(file)}\nprintf '%s\\0' ${acc.map((_, i) => `"$V_${i}"`).join(" ")}\n`;
    const r = runBytes(shell, ["-s"], { input: script });
    mustSucceed(`${shell} . env file`, r);
    expectSameBytes(
      `${shell} . KEY=sh(v)`,
      acc.map((a) => a.value),
      splitNul(r.stdout),
    );
  } finally {
    t.cleanup();
  }
}

describe("sh / shArgs read back by bash and dash", () => {
  it("round-trips every edge value and every nasty fragment (fixed corpus)", () => {
    const corpus = [...EDGE_VALUES, ...NASTY, NASTY.join(""), `-${NASTY.join(" ")}`];
    for (const shell of SHELLS) {
      printWords(shell, corpus);
      sourceEnvFile(shell, corpus);
    }
    // The corpus really covers what the brief lists: these must all have been accepted above.
    for (const must of ["", "'", '"', "$", "`", "\\", " ", "\t", "\n", "#", ";", "😀", "中文密码", "-n"])
      expect(sh(must)).toBeTypeOf("string");
  });

  it("round-trips arbitrary hostile words (property, batched)", () => {
    fc.assert(
      fc.property(batch({ minLength: 40, maxLength: 80 }), (values) => {
        for (const shell of SHELLS) printWords(shell, values);
      }),
      RUNS(15),
    );
  });

  it("round-trips arbitrary values through `. file` of KEY=<sh(v)> lines (property, batched)", () => {
    fc.assert(
      fc.property(batch({ minLength: 40, maxLength: 80 }), (values) => {
        for (const shell of SHELLS) sourceEnvFile(shell, values);
      }),
      RUNS(10),
    );
  });

  it("the same check rejects naive double quoting (proof the check can fail)", () => {
    const naive = (v: string) => `"${v}"`;
    expect(() => printWords("bash", ["plain", "$HOME", "a`id`b"], naive)).toThrow(/came back as/);
  });

  it("numbers are words too", () => {
    expect(sh(42)).toBe("42");
    expect(shArgs([1, "a b", -3])).toBe("1 'a b' -3");
  });

  it("refuses NUL because bash cannot hold it (proof: bash cuts the value at NUL)", () => {
    const r = runBytes("bash", ["-c", `v=$'a\\0b'; printf '%s' "$v"`]);
    expect(r.stdout.toString("utf8")).toBe("a");
    expect(() => sh("a\u0000b")).toThrow(/NUL/);
    // A lone surrogate has no UTF-8 form: written out it becomes U+FFFD, so bash reads another value.
    expect(() => printWords("bash", ["a\ud800b"], (v) => `'${v}'`)).toThrow(/accepted an unrepresentable/);
    const lone = runBytes("bash", ["-s"], { input: "printf '%s' 'a\ud800b'\n" });
    expect(lone.stdout.toString("utf8")).toBe("a\ufffdb");
    expect(() => sh("a\ud800b")).toThrow(/surrogate/);
  });
});

describe("generators/secrets-env.ts: /etc/ha-gen/secrets.env sourced by bash", () => {
  const v = validateSpec(lab);
  if (!v.ok) throw new Error("lab example does not validate");
  const spec = v.spec;

  it("gives the step scripts every controller secret exactly (property over valid secrets)", () => {
    const secretsArb = fc.record(
      Object.fromEntries(CONTROLLER_SECRETS.map((k) => [k, secretValue(k)])) as Record<SecretKey, fc.Arbitrary<string>>,
    );
    fc.assert(
      fc.property(fc.array(secretsArb, { minLength: 5, maxLength: 10 }), (sets) => {
        const t = tempDir("ha-gen-quote-secrets-env-");
        try {
          const paths: string[] = [];
          const expected: string[] = [];
          for (const [i, s] of sets.entries()) {
            const secrets: Secrets = { ...FAKE_SECRETS, ...s };
            const out = secretsEnv(resolveCluster(spec, secrets));
            const art = out.artifacts[0]!;
            expect(art.secret).toBe(true);
            paths.push(t.write(`secrets-${i}.env`, art.content, 0o600));
            expected.push(...CONTROLLER_SECRETS.map((k) => secrets[k]));
          }
          // Each file in its own subshell, with the step scripts' strict mode.
          const vars = CONTROLLER_SECRETS.map((k) => `"$${k.toUpperCase()}"`).join(" ");
          const sourced = paths.map((p) => `( . ${sh(p)}; printf '%s\\0' ${vars} )`).join("\n");
          const script = `set -euo pipefail\n${sourced}\n`;
          const r = runBytes("bash", ["-s"], { input: script });
          mustSucceed("bash . secrets.env", r);
          expectSameBytes("secrets.env", expected, splitNul(r.stdout));
        } finally {
          t.cleanup();
        }
      }),
      RUNS(5),
    );
    expect(SECRET_KEYS).toEqual(expect.arrayContaining([...CONTROLLER_SECRETS]));
  });
});
