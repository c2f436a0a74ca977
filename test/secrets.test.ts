import fc from "fast-check";
import { spawnSync } from "node:child_process";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parse, parseDocument, stringify, type Scalar, type YAMLMap } from "yaml";
import { cnf, haproxy, sh, sql } from "../src/core/quote.js";
import {
  SECRET_KEYS,
  checkSecret,
  fillSecrets,
  generateSecret,
  serializeSecrets,
  type SecretKey,
} from "../src/core/secrets.js";
import { renderCluster } from "../src/render.js";
import { FAKE_SECRETS } from "./fixtures/secrets.js";
import { EXAMPLES } from "./helpers/examples.js";
import { hostile, secretValue } from "./helpers/quote-arb.js";

/**
 * The secrets file: generated values, fill/serialize round trip through YAML, validation rules, and
 * that no message (nor any YAML warning on stderr) ever contains a secret value.
 */

const ALNUM = /^[A-Za-z0-9]{32}$/;
const UPPER = /^[A-Z]{32}$/;
const isSecretKey = (k: string): k is SecretKey => (SECRET_KEYS as readonly string[]).includes(k);

/** Whether yaml's own stringify and parse bring this key back unchanged. */
function yamlKeepsKey(k: string): boolean {
  try {
    return Object.hasOwn(parse(stringify({ [k]: 1 })) as object, k);
  } catch {
    return false;
  }
}

/** Deterministic stand-in for generateSecret so tests can tell generated values apart. */
const fakeGen = (k: SecretKey) => (k === "erlang_cookie" ? "GENERATEDCOOKIEGENERATEDCOOKIE" : `generated-${k}`);

afterEach(() => {
  vi.restoreAllMocks();
});

describe("generateSecret", () => {
  it("gives 32 alphanumerics (erlang_cookie: 32 upper-case letters), all distinct", () => {
    const seen = new Set<string>();
    for (let round = 0; round < 50; round++) {
      for (const k of SECRET_KEYS) {
        const v = generateSecret(k);
        expect(v).toMatch(k === "erlang_cookie" ? UPPER : ALNUM);
        expect(checkSecret(k, v)).toBeUndefined();
        seen.add(v);
      }
    }
    expect(seen.size).toBe(50 * SECRET_KEYS.length);
  });

  it("uses the whole alphabet (no stuck characters)", () => {
    const chars = new Set([...Array.from({ length: 200 }, () => generateSecret("admin_pass")).join("")]);
    expect(chars.size).toBe(62);
  });
});

describe("fillSecrets / serializeSecrets", () => {
  it("fills every key when there is no file, an empty one, a blank one or only comments", () => {
    for (const text of [undefined, "", "  \n\n", "{}\n", "# only the header comment: every key deleted\n"]) {
      const { state, issues } = fillSecrets(text);
      expect(issues).toEqual([]);
      expect(state.generated).toEqual([...SECRET_KEYS]);
      expect(Object.keys(state.secrets).sort()).toEqual([...SECRET_KEYS].sort());
      expect(new Set(Object.values(state.secrets)).size).toBe(SECRET_KEYS.length);
      expect(state.extra).toEqual({});
    }
  });

  // Existing valid secrets (any subset, hostile values), extra keys with any YAML values (names like
  // __proto__ and constructor included), nulls meaning "generate".
  const extraKey = fc
    .oneof(
      fc.constantFrom(
        "__proto__",
        "constructor",
        "toString",
        "hasOwnProperty",
        "admin_pass_old",
        "x y",
        "#",
        "ünïcode",
      ),
      hostile({ maxLength: 12 }),
    )
    // The operator's file is written here with yaml's own stringify, which leaves keys starting
    // with a BOM plain, where a reader drops the BOM (or fails): such a file cannot say that key.
    .filter((k) => !isSecretKey(k) && k !== "" && yamlKeepsKey(k));
  const scenario = fc.record({
    existing: fc.record(
      Object.fromEntries(SECRET_KEYS.map((k) => [k, secretValue(k)])) as Record<SecretKey, fc.Arbitrary<string>>,
      { requiredKeys: [] },
    ),
    nulls: fc.subarray([...SECRET_KEYS]),
    extra: fc.dictionary(fc.oneof(extraKey, fc.constantFrom("0", "10", "2")), fc.jsonValue({ maxDepth: 2 }), {
      maxKeys: 6,
    }),
  });

  it("keeps existing keys, fills missing ones, keeps extra keys, and round-trips through YAML (property)", () => {
    fc.assert(
      fc.property(scenario, ({ existing, nulls, extra }) => {
        // The operator's file: existing values, `key:` (null) for some others, extra keys. JSON
        // round trip first: YAML has no -0 vs 0 distinction worth testing here.
        const extraPlain = JSON.parse(JSON.stringify(extra)) as Record<string, unknown>;
        const doc: Record<string, unknown> = { ...extraPlain };
        for (const k of nulls) if (!(k in existing)) doc[k] = null;
        for (const [k, v] of Object.entries(existing)) doc[k] = v;
        const text = stringify(doc, { lineWidth: 0 });

        const first = fillSecrets(text, fakeGen);
        expect(first.issues).toEqual([]);
        const missing = SECRET_KEYS.filter((k) => !Object.hasOwn(existing, k));
        expect(first.state.generated).toEqual(missing);
        for (const k of SECRET_KEYS)
          expect(first.state.secrets[k]).toBe(Object.hasOwn(existing, k) ? existing[k] : fakeGen(k));
        expect(first.state.extra).toEqual(extraPlain);
        expect(Object.keys(first.state.extra).sort()).toEqual(Object.keys(extraPlain).sort());

        // Written and read again: same secrets, nothing generated, same extras, same bytes.
        const saved = serializeSecrets(first.state);
        expect(saved.startsWith("# ha-gen secrets: generated once, never regenerated.")).toBe(true);
        const second = fillSecrets(saved, () => {
          throw new Error("nothing may be generated on the second read");
        });
        expect(second.issues).toEqual([]);
        expect(second.state.generated).toEqual([]);
        expect(second.state.secrets).toEqual(first.state.secrets);
        expect(second.state.extra).toEqual(extraPlain);
        expect(serializeSecrets(second.state)).toBe(saved);
        // Keys are sorted in the text (stable diffs of the operator's file); read the document's own
        // order, since a JS object would list integer-like keys first.
        const keys = (parseDocument(saved).contents as YAMLMap<Scalar<string>>).items.map((i) => String(i.key.value));
        expect(keys).toEqual([...keys].sort());
      }),
      { numRuns: 60 },
    );
  });

  it("keeps an extra key named __proto__ or constructor as data (regression)", () => {
    const { state, issues } = fillSecrets("__proto__: evil\nconstructor: kept\ntoString: [1, 2]\n", fakeGen);
    expect(issues).toEqual([]);
    expect(Object.keys(state.extra).sort()).toEqual(["__proto__", "constructor", "toString"]);
    const again = parse(serializeSecrets(state)) as Record<string, unknown>;
    expect(Object.hasOwn(again, "__proto__")).toBe(true);
    expect(again.constructor).toBe("kept");
    expect(again.toString).toEqual([1, 2]);
  });

  it("treats `key:` (null) as missing but an empty string as invalid", () => {
    const { state, issues } = fillSecrets("admin_pass:\nnova_pass: ''\n", fakeGen);
    expect(state.generated).toContain("admin_pass");
    expect(state.generated).not.toContain("nova_pass");
    expect(issues).toEqual([{ key: "nova_pass", message: "must be at least 8 characters" }]);
  });

  it("refuses a file that is not a YAML mapping, or not YAML", () => {
    for (const text of ["- a\n- b\n", "just text\n", "42\n"]) {
      expect(fillSecrets(text).issues).toEqual([{ key: "", message: "must be a YAML mapping of key: value" }]);
    }
    expect(fillSecrets("a: 1\na: 2\n").issues[0]!.message).toMatch(/^is not valid YAML \(line 2, column 1\)$/);
    expect(fillSecrets("admin_pass: 'unterminated\n").issues[0]!.message).toMatch(/^is not valid YAML/);
  });
});

describe("secret values never appear in messages or on stderr", () => {
  const MARK = "Zq7sEcReTvAlUe";
  const invalid: [SecretKey, unknown][] = [
    ["admin_pass", `${MARK}${"x".repeat(300)}`],
    ["cinder_pass", `${MARK}\nsecond line`],
    ["glance_pass", `${MARK}\t`],
    ["nova_pass", `${MARK}\ud800`],
    ["neutron_pass", 1234567890123],
    ["placement_pass", true],
    ["keystone_dbpass", [MARK]],
    ["nova_dbpass", { nested: MARK }],
    ["erlang_cookie", `${MARK}-with-dash-aaaaaaaa`],
    ["haproxy_stats_pass", `${MARK} $"`],
    ["rabbit_pass", "Qx7#kZ!"],
  ];

  it("reports each invalid value by key, with a message that does not contain it", () => {
    const stderr = vi.spyOn(process.stderr, "write");
    const warn = vi.spyOn(process, "emitWarning");
    const text = stringify(Object.fromEntries(invalid), { lineWidth: 0 });
    const { issues } = fillSecrets(text, fakeGen);
    expect(issues.map((i) => i.key).sort()).toEqual(invalid.map(([k]) => k).sort());
    for (const i of issues) {
      for (const [, v] of invalid) {
        const shown = typeof v === "string" ? v : JSON.stringify(v);
        expect(i.message).not.toContain(MARK);
        expect(i.message).not.toContain(shown);
        expect(i.message).not.toContain(String(v));
      }
    }
    expect(stderr).not.toHaveBeenCalled();
    expect(warn).not.toHaveBeenCalled();
  });

  it("prints no YAML warning (which would quote the line, secret included) (regression)", () => {
    const stderr = vi.spyOn(process.stderr, "write");
    const warn = vi.spyOn(process, "emitWarning");
    const { issues, state } = fillSecrets(`admin_pass: !custom ${MARK}-1\nnova_pass: !!int ${MARK}-2\n`, fakeGen);
    expect(issues).toEqual([]);
    expect(state.secrets.admin_pass).toBe(`${MARK}-1`);
    expect(stderr).not.toHaveBeenCalled();
    expect(warn).not.toHaveBeenCalled();
  });

  it("does not quote the broken line of a file that is not YAML", () => {
    const { issues } = fillSecrets(`admin_pass: "${MARK}\nnova_pass: [${MARK}\n`, fakeGen);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toMatch(/^is not valid YAML/);
    expect(issues[0]!.message).not.toContain(MARK);
  });
});

describe("checkSecret", () => {
  it("applies the documented rules", () => {
    const cases: [SecretKey, unknown, string | undefined][] = [
      ["admin_pass", 12345678, "must be a string"],
      ["admin_pass", "1234567", "must be at least 8 characters"],
      ["admin_pass", "12345678", undefined],
      ["admin_pass", "x".repeat(256), undefined],
      ["admin_pass", "x".repeat(257), "must be at most 256 characters"],
      ["admin_pass", "pass\nword", "must not contain control characters (newline, tab, NUL)"],
      ["admin_pass", "pass\u0000word", "must not contain control characters (newline, tab, NUL)"],
      ["admin_pass", "pass\u007fword", "must not contain control characters (newline, tab, NUL)"],
      ["admin_pass", "pass\ud800word", "must be valid Unicode text (no lone \\uD800-\\uDFFF escapes)"],
      ["admin_pass", "pa'ss\"wo$rd`\\ #;😀中", undefined],
      ["erlang_cookie", "A".repeat(19), "must be 20-255 letters and digits"],
      ["erlang_cookie", "Ab1".repeat(7), undefined],
      ["erlang_cookie", "A".repeat(255), undefined],
      ["erlang_cookie", "A".repeat(256), "must be 20-255 letters and digits"],
      ["erlang_cookie", `${"A".repeat(20)}-`, "must be 20-255 letters and digits"],
      // haproxy() escapes spaces alike for HAProxy 1.8 and 2.x; quotes and $ it cannot write.
      ["haproxy_stats_pass", " with spaces ", undefined],
      ["haproxy_stats_pass", "dollar$sign", "must not contain quotes or $"],
      ["haproxy_stats_pass", "quote'here", "must not contain quotes or $"],
      ["haproxy_stats_pass", 'quote"here', "must not contain quotes or $"],
      ["haproxy_stats_pass", "hash#back\\slash:colon😀", undefined],
      // rabbitmqctl trims Unicode whitespace off the password it reads (regression: rendered, then
      // the RabbitMQ step died at deploy time).
      ["rabbit_pass", " leading-space", "must not start or end with whitespace (rabbitmqctl would drop it)"],
      ["rabbit_pass", "trailing-space ", "must not start or end with whitespace (rabbitmqctl would drop it)"],
      ["rabbit_pass", "\u00a0no-break-space", "must not start or end with whitespace (rabbitmqctl would drop it)"],
      ["rabbit_pass", "ideographic\u3000", "must not start or end with whitespace (rabbitmqctl would drop it)"],
      ["rabbit_pass", "next-line\u0085", "must not start or end with whitespace (rabbitmqctl would drop it)"],
      ["rabbit_pass", "inner space is kept", undefined],
      ["rabbit_pass", "\ufeffbom-is-not-whitespace", undefined],
      // chpasswd and pcs keep surrounding spaces (pcs: input(), chpasswd: the rest of the line).
      ["hacluster_pass", " spaces around ", undefined],
      ["hacluster_pass", "colon:in:password", undefined],
    ];
    for (const [k, v, want] of cases) expect([k, v, checkSecret(k, v)]).toEqual([k, v, want]);
  });

  it("accepts only values every quoting helper for that secret can write (validation rejects first)", () => {
    const padded = fc.tuple(hostile(), hostile()).map(([a, b]) => `${a}pad-8chr${b}`);
    fc.assert(
      fc.property(fc.constantFrom(...SECRET_KEYS), padded, (k, v) => {
        if (checkSecret(k, v) !== undefined) return;
        // secrets.env (sh), SQL statements (sql), option files (cnf): every key may reach them.
        expect(() => [sh(v), sql(v), cnf(v)]).not.toThrow();
        if (k === "haproxy_stats_pass") expect(() => haproxy(`admin:${v}`)).not.toThrow();
      }),
      { numRuns: 3000 },
    );
  });
});

describe("rabbit_pass against its consumers", () => {
  /** Elixir's String.trim (RabbitMQ's CLI trims the password it reads): Unicode White_Space. */
  const elixirTrim = (v: string) => v.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, "");
  // White_Space, glibc's [[:space:]], and look-alikes that are neither (U+FEFF, U+200B).
  const spaces = [..."\t \u0085\u00a0\u1680\u2000\u2007\u200a\u2028\u2029\u202f\u205f\u3000\ufeff\u200b"];
  const edge = fc.constantFrom(...spaces, "");
  const candidates = fc.oneof(
    secretValue("admin_pass"),
    fc.tuple(edge, secretValue("admin_pass"), edge).map(([a, v, b]) => a + v + b),
  );

  it("accepts only values rabbitmqctl keeps as they are (property)", () => {
    fc.assert(
      fc.property(candidates, (v) => {
        if (checkSecret("rabbit_pass", v) === undefined) expect(elixirTrim(v)).toBe(v);
      }),
      { numRuns: 2000 },
    );
  });

  it("accepts only values the configure step's own guard lets through (bash, UTF-8 locale)", () => {
    const { artifacts } = renderCluster(EXAMPLES.lab, FAKE_SECRETS);
    const script = artifacts.find((a) => a.path.endsWith("/32-rabbitmq-configure.sh"))!;
    const guard = /^case \$RABBIT_PASS in\n[\s\S]*?^esac$/m.exec(script.content)![0];
    const values = fc.sample(candidates, { numRuns: 500 }).filter((v) => checkSecret("rabbit_pass", v) === undefined);
    values.push(...spaces.map((c) => `in${c}side-pass`).filter((v) => checkSecret("rabbit_pass", v) === undefined));
    const loop = [`die() { printf 'refused %s\\n' "$i"; }`, "i=0", "while IFS= read -r -d '' RABBIT_PASS; do"];
    loop.push(guard, "i=$((i + 1))", "done");
    const input = values.map((v) => `${v}\0`).join("");
    const env = { ...process.env, LC_ALL: "C.UTF-8" };
    const r = spawnSync("bash", ["-c", loop.join("\n")], { input, env, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const refused = r.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => values[Number(l.split(" ")[1])]);
    expect(refused.map((v) => JSON.stringify(v))).toEqual([]);
  });
});
