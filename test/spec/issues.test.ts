import { describe, expect, it } from "vitest";
import { parsePlanJson } from "../../src/core/formats.js";
import { formatIssue, formatPath, type SpecIssue } from "../../src/core/spec/issues.js";
import { validateSpec } from "../../src/core/spec/validate.js";
import { EXAMPLES } from "../helpers/examples.js";

/** Values shown in messages are cut: a 5 MB value must not come back as a 5 MB message. */
const BIG = 5 * 1024 * 1024;
const issue = (value: unknown): SpecIssue => ({ severity: "error", path: "name", value, message: "is bad" });
const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe("formatIssue cuts long values", () => {
  it("shows 80 characters of a long string, an ellipsis and the original length", () => {
    expect(formatIssue(issue("a".repeat(BIG)))).toBe(`name: ${"a".repeat(80)}… (${BIG} characters) is bad`);
    const spaced = JSON.stringify(`x y${"b".repeat(77)}`);
    expect(formatIssue(issue(`x y${"b".repeat(100)}`))).toBe(`name: ${spaced}… (103 characters) is bad`);
    expect(formatIssue(issue("a".repeat(80)))).toBe(`name: ${"a".repeat(80)} is bad`);
  });

  it("never cuts inside a surrogate pair", () => {
    const shown = formatIssue(issue("😀".repeat(100)));
    expect(shown).not.toMatch(LONE);
    expect(shown).toContain("… (200 characters)");
  });

  it("cuts huge, nested and cyclic objects, and never throws", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const values: unknown[] = [
      Array.from({ length: 1_000_000 }, (_, i) => i),
      { deep: { deeper: "z".repeat(BIG) } },
      cyclic,
      Symbol("s"),
      () => 1,
      { n: 10n, s: Symbol("t"), f() {} },
      new Date(Number.NaN),
      [undefined, null, -0, Infinity],
    ];
    for (const v of values) {
      const shown = formatIssue(issue(v));
      expect(shown.length, String(typeof v)).toBeLessThan(120);
    }
    expect(formatIssue(issue(["controller", "controller"]))).toBe('name: ["controller","controller"] is bad');
    expect(formatIssue(issue([undefined, null, -0, Infinity]))).toBe("name: [undefined,null,-0,Infinity] is bad");
  });

  it("cuts huge keys in paths", () => {
    const shown = formatPath(["galera", "k".repeat(BIG)]);
    expect(shown.length).toBeLessThan(120);
    expect(shown).toBe(`galera[${JSON.stringify("k".repeat(80))}… (${BIG} characters)]`);
  });
});

describe("validation messages stay short for huge input", () => {
  it("a 5 MB value, a 5 MB unknown key and a 5 MB record key: short messages, quickly", () => {
    const s = structuredClone(EXAMPLES.lab) as Record<string, any>;
    s.name = "n".repeat(BIG);
    s.galera = { ...s.galera, ["k".repeat(BIG)]: 1 };
    s.rabbitmq = { policy: { pattern: "p".repeat(BIG), definition: { ["D".repeat(BIG)]: "all" } } };
    const started = Date.now();
    const r = validateSpec(s);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.ok).toBe(false);
    const shown = r.ok ? [] : r.errors.map(formatIssue);
    expect(shown.length).toBeGreaterThanOrEqual(3);
    for (const m of shown) expect(m.length, m.slice(0, 100)).toBeLessThan(400);
  });

  it("plan.json problems are cut too", () => {
    const huge = "x".repeat(BIG);
    const plan = JSON.stringify({ format: "ha-gen-plan/1", cluster: "c", os: "centos8", steps: [], [huge]: 1 });
    let message = "";
    try {
      parsePlanJson(plan, "plan.json");
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^plan\.json: not an ha-gen file of this version/);
    expect(message.length).toBeLessThan(400);
  });
});
