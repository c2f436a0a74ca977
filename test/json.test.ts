import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JsonParseError, MAX_JSON_DEPTH, parseJsonStrict } from "../src/core/json.js";

/** parseJsonStrict: JSON.parse plus refusing duplicate keys and deep nesting, with line and column. */
const errorOf = (text: string): string => {
  try {
    parseJsonStrict(text);
  } catch (e) {
    expect(e).toBeInstanceOf(JsonParseError);
    return (e as Error).message;
  }
  throw new Error(`parsed: ${text.slice(0, 80)}`);
};

describe("parseJsonStrict", () => {
  it("refuses a key given twice, naming both places (regression: JSON kept the last, YAML refused)", () => {
    const twice = '{\n  "name": "a",\n  "name": "b"\n}';
    expect(errorOf(twice)).toBe('line 3, column 3: duplicate key "name" (first at line 2, column 3)');
    const inNode = '{"nodes": [{"hostname": "x", "roles": [], "hostname": "y"}]}';
    expect(errorOf(inNode)).toMatch(/^line 1, column 43: duplicate key "hostname"/);
    // The same key spelled with an escape is the same key.
    expect(errorOf('{"a": 1, "\\u0061": 2}')).toBe('line 1, column 10: duplicate key "a" (first at line 1, column 2)');
    // Columns count characters, not UTF-16 units.
    expect(errorOf('{"😀": 1, "😀": 2}')).toBe('line 1, column 10: duplicate key "😀" (first at line 1, column 2)');
  });

  it("accepts the same key in different objects", () => {
    const text = '{"a": {"a": 1}, "b": [{"a": 2}, {"a": 3}]}';
    expect(parseJsonStrict(text)).toEqual({ a: { a: 1 }, b: [{ a: 2 }, { a: 3 }] });
  });

  it("cuts a huge duplicate key in the message", () => {
    const k = "k".repeat(5_000_000);
    const m = errorOf(`{"${k}": 1, "${k}": 2}`);
    expect(m.length).toBeLessThan(200);
  });

  it(`refuses nesting deeper than ${MAX_JSON_DEPTH} levels, without a stack overflow (regression: 6000 deep)`, () => {
    const arrays = (n: number) => "[".repeat(n) + "]".repeat(n);
    const objects = (n: number) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
    expect(() => parseJsonStrict(arrays(MAX_JSON_DEPTH))).not.toThrow();
    expect(() => parseJsonStrict(objects(MAX_JSON_DEPTH))).not.toThrow();
    const where = `line 1, column ${MAX_JSON_DEPTH + 1}`;
    expect(errorOf(arrays(MAX_JSON_DEPTH + 1))).toBe(`${where}: nested deeper than ${MAX_JSON_DEPTH} levels`);
    for (const n of [6000, 1_000_000]) {
      expect(errorOf(arrays(n))).toMatch(/nested deeper than 1000 levels$/);
      expect(errorOf(objects(n))).toMatch(/nested deeper than 1000 levels$/);
    }
  });

  it("keeps __proto__ as an own key, as JSON.parse does", () => {
    const v = parseJsonStrict('{"__proto__": {"polluted": true}, "constructor": 1}') as Record<string, unknown>;
    expect(Object.hasOwn(v, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(v).toEqual(JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1}'));
  });

  it("reports syntax errors with line and column", () => {
    expect(errorOf('{\n  "a": 1,\n}')).toBe("line 3, column 1: expected a key in double quotes");
    expect(errorOf('{"a": 1')).toBe("line 1, column 8: unexpected end of the text");
    expect(errorOf('{"a": tru}')).toBe('line 1, column 7: unexpected character "t"');
    const control = "control character in a string (write it as an escape such as \\n)";
    expect(errorOf('"a\nb"')).toBe(`line 1, column 3: ${control}`);
    expect(errorOf("[1] [2]")).toBe("line 1, column 5: unexpected text after the JSON value");
    expect(errorOf("")).toBe("line 1, column 1: unexpected end of the text");
    expect(errorOf("\ufeff{}")).toMatch(/^line 1, column 1: starts with a byte order mark/);
    expect(errorOf('"\\x41"')).toBe("line 1, column 2: invalid escape in a string");
  });

  it("parses what JSON.parse parses, to the same value (property)", () => {
    const layouts = (v: unknown) => {
      const crlf = JSON.stringify(v, null, "\t").replaceAll("\n", "\r\n");
      return fc.constantFrom(JSON.stringify(v), JSON.stringify(v, null, 2), crlf);
    };
    const doc = fc.jsonValue({ maxDepth: 6 }).chain(layouts);
    fc.assert(
      fc.property(doc, (text) => {
        let strict: unknown;
        try {
          strict = parseJsonStrict(text);
        } catch (e) {
          // fc.jsonValue makes no duplicate keys (objects); only JSON.stringify's own output is parsed here.
          throw new Error(`${String(e)} for ${text.slice(0, 200)}`);
        }
        expect(strict).toEqual(JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  it("agrees with JSON.parse on what is valid, for near-JSON noise (property)", () => {
    const unit = fc.constantFrom(...'{}[],:"a1-.e \n\\u0', "true", "null");
    const noise = fc.string({ unit, maxLength: 30 });
    fc.assert(
      fc.property(noise, (text) => {
        let expected: unknown;
        let jsonOk = true;
        try {
          expected = JSON.parse(text);
        } catch {
          jsonOk = false;
        }
        let strict: unknown;
        try {
          strict = parseJsonStrict(text);
        } catch (e) {
          expect(e).toBeInstanceOf(JsonParseError);
          // Invalid for JSON.parse too, or one of the two added refusals.
          if (jsonOk) expect((e as Error).message).toMatch(/duplicate key|nested deeper/);
          return;
        }
        expect(jsonOk).toBe(true);
        expect(strict).toEqual(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it("parses a 5 MB string quickly", () => {
    const big = JSON.stringify({ name: "x".repeat(5_000_000), esc: "a\\b\n".repeat(100_000) });
    const started = Date.now();
    expect(parseJsonStrict(big)).toEqual(JSON.parse(big));
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
