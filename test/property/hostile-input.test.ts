import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SpecError } from "../../src/core/errors.js";
import { renderCluster } from "../../src/render.js";
import { checkSecret, SECRET_KEYS, type SecretKey } from "../../src/core/secrets.js";
import { clusterSpecSchema } from "../../src/core/spec/schema.js";
import { validateSpec } from "../../src/core/spec/validate.js";
import { formatIssue, type SpecIssue } from "../../src/core/spec/issues.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";
import { EXAMPLES } from "../helpers/examples.js";
import { EDGE_VALUES, hostile, NASTY, show } from "../helpers/quote-arb.js";
import { ALTERNATIVE_VALUES, fullSpec, getField, issuePath, setField, stringFields } from "../helpers/spec-fields.js";

/**
 * Any spec that validates renders: validation and the quoting helpers must agree. Every value
 * validation accepts renders without a quoting error, and every value a format cannot carry is
 * rejected by validation first, with an issue at that field (never an exception from deep inside a
 * generator). Checked for every string field of the schema, found by walking it.
 */
const hostileNames = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 24 }),
  fc.string({
    unit: fc.constantFrom(
      "'",
      '"',
      "$",
      "`",
      "\\",
      " ",
      "\n",
      "\t",
      "#",
      ";",
      "{",
      "}",
      "=",
      ":",
      "/",
      "a",
      "Z",
      "0",
      "-",
      ".",
      "_",
      "é",
      "中",
      "😀",
    ),
    maxLength: 16,
  }),
  fc.constantFrom(
    "",
    "-rf",
    "--help",
    "a b",
    "x'y",
    'x"y',
    "$(id)",
    "`id`",
    "a\nb",
    "ÄÖÜ",
    "name.with.dots",
    "UPPER",
    "9starts-digit",
  ),
);

/** `fragment` put into `valid` at `at` (modulo its length): close to valid, so it reaches the generators. */
const splice = (valid: string, at: number, fragment: string) => {
  const i = at % (valid.length + 1);
  return valid.slice(0, i) + fragment + valid.slice(i);
};

/** Very long values: past every length limit a field or a reader has. */
function longVariants(valid: string): string[] {
  return [64, 300, 5000, 100_000].flatMap((n) => [
    valid + "a".repeat(n),
    valid[0]!.repeat(n) + valid,
    valid + "/a".repeat(n / 2),
    valid + "9".repeat(n),
  ]);
}

/**
 * Hostile variants of a field's valid value: noise, one nasty fragment spliced in (lone surrogates,
 * NUL and control characters, quotes, `$`, backslashes, newlines, noncharacters...), surrounding
 * spaces, upper case, and very long values.
 */
function hostileFor(valid: string): fc.Arbitrary<string> {
  return fc.oneof(
    hostileNames,
    hostile(),
    fc.tuple(fc.nat(), fc.constantFrom(...NASTY)).map(([at, f]) => splice(valid, at, f)),
    fc.tuple(fc.nat(), hostile({ maxLength: 3 })).map(([at, f]) => splice(valid, at, f)),
    fc.constantFrom(` ${valid}`, `${valid} `, `${valid}\n`, `${valid}\u0000`, valid.toUpperCase()),
    fc.constantFrom(...longVariants(valid)),
  );
}

/** The same kinds, every one of them, deterministically: each fragment at the start, middle and end. */
function fixedVariants(valid: string): string[] {
  const spliced = NASTY.flatMap((f) => [f + valid, splice(valid, valid.length >> 1, f), valid + f, f]);
  return [...spliced, ...EDGE_VALUES, ` ${valid}`, `${valid} `, valid.toUpperCase(), ...longVariants(valid)];
}

const FIELDS = stringFields();

/** The issue names the field: at its path, inside it (record keys, array items), or in the message. */
const namesField = (i: SpecIssue, path: string) =>
  i.path === path || i.path.startsWith(`${path}.`) || i.path.startsWith(`${path}[`) || i.message.includes(path);

describe("every string field of the schema", () => {
  it("is found by the walker (spot check of known fields, optional ones included)", () => {
    const names = FIELDS.map((f) => f.name);
    expect(names.length).toBeGreaterThan(40);
    for (const known of [
      "name",
      "domain",
      "nodes[0].hostname",
      "nodes[0].addresses.vlan",
      "vip.hostname",
      "ntp.server",
      "ntp.upstream[0]",
      "rabbitmq.policy.pattern",
      "rabbitmq.policy.definition{key}",
      'rabbitmq.policy.definition["<key>"]',
      "prepare.centosMirror",
      "haproxy.services[0].check.inter",
      "networks.vlan.cidr",
      "rabbitmq.tags[0]",
      'pacemaker.properties["no-quorum-policy"]',
      "overrides[0].path",
      "overrides[0].nodes[0]",
      "overrides[0].ini",
      "overrides[0].ini{key}",
      'overrides[0].ini["<key>"]{key}',
      'overrides[0].ini["<key>"]["<key>"]',
      "overrides[0].append",
      "overrides[0].replace",
    ]) {
      expect(names).toContain(known);
    }
  });

  it("has a place in the full base spec, which validates and renders", () => {
    const spec = fullSpec();
    const v = validateSpec(spec);
    expect(v.ok ? [] : v.errors.map(formatIssue)).toEqual([]);
    renderCluster(spec, FAKE_SECRETS);
    for (const f of FIELDS) setField(fullSpec(), f, "x"); // throws when fullSpec lacks a container
  });

  for (const field of FIELDS) {
    it(`${field.name}: a hostile value is rejected there by validation, or renders`, () => {
      // The field's valid value (defaults applied) is where hostile variants start from.
      const base = clusterSpecSchema.parse(fullSpec()) as Record<string, any>;
      const record = field.isKey ? (getField(base, { ...field, isKey: false }) as object) : undefined;
      const set = getField(base, field);
      const valid = record ? Object.keys(record)[0] : typeof set === "string" ? set : ALTERNATIVE_VALUES[field.name];
      if (typeof valid !== "string") throw new Error(`fullSpec has no string at ${field.name}`);
      const check = (value: string, os: "centos8" | "debian12") => {
        const spec = fullSpec();
        spec.os = os;
        setField(spec, field, value);
        const v = validateSpec(spec);
        if (!v.ok) {
          const path = issuePath(spec, { ...field, isKey: false });
          const shown = v.errors.map(formatIssue).join("\n");
          const there = v.errors.filter((i) => namesField(i, path)).map(formatIssue);
          expect(there, `${show(value)} rejected elsewhere:\n${shown}`).not.toEqual([]);
          return;
        }
        try {
          renderCluster(spec, FAKE_SECRETS);
        } catch (e) {
          // Whether an override's file exists is known only once generated: renderCluster reports
          // that as a spec problem at the field, like validation, never as an exception from inside.
          const path = issuePath(spec, { ...field, isKey: false });
          if (e instanceof SpecError && path.startsWith("overrides[") && e.errors.some((i) => namesField(i, path)))
            return;
          throw new Error(`${field.name} = ${show(value)} (${os}) validated but did not render: ${String(e)}`);
        }
      };
      fixedVariants(valid).forEach((value, i) => {
        check(value, i % 2 === 0 ? "centos8" : "debian12");
      });
      fc.assert(fc.property(hostileFor(valid), fc.constantFrom("centos8", "debian12"), check), { numRuns: 100 });
    });
  }
});

describe("hostile secrets", () => {
  for (const key of SECRET_KEYS as readonly SecretKey[]) {
    it(`${key}: rejected by the secrets check or rendered into every file`, () => {
      fc.assert(
        fc.property(hostile(), fc.string({ minLength: 8, maxLength: 12 }), (v, pad) => {
          const value = v.length >= 8 ? v : v + pad;
          if (checkSecret(key, value) !== undefined) return;
          const secrets = { ...FAKE_SECRETS, [key]: value };
          for (const spec of Object.values(EXAMPLES)) {
            const r = renderCluster(spec, secrets);
            // A secret that is used appears verbatim or quoted, and only in secret files.
            // (Only for values distinctive enough not to occur by chance, e.g. not eight spaces.)
            if (!/[^\s\-_.=]{6}/.test(value)) continue;
            for (const a of r.artifacts)
              if (a.content.includes(value)) expect(a.secret, `${a.node}:${a.path}`).toBe(true);
          }
        }),
        { numRuns: 40 },
      );
    });
  }
});
