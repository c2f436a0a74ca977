import { describe, expect, it } from "vitest";
import * as z from "zod";
import { specJsonSchema } from "../../src/core/json-schema.js";

/**
 * Every setting of a spec explains itself in the JSON Schema (editor hovers in a YAML spec,
 * `ha-gen schema`): a description on every property, naming the default where there is one. An
 * object whose default is {} takes its fields' defaults, which are checked one by one.
 */
type Node = {
  properties?: Record<string, Node>;
  items?: Node;
  anyOf?: Node[];
  description?: string;
  default?: unknown;
};

function problems(schema: Node): string[] {
  const out: string[] = [];
  const walk = (n: Node, path: string) => {
    for (const [k, v] of Object.entries(n.properties ?? {})) {
      const p = path ? `${path}.${k}` : k;
      if (!v.description) out.push(`${p}: no description`);
      else if ("default" in v) {
        const d = v.default;
        const plain = typeof d === "string" || typeof d === "number" || typeof d === "boolean";
        const emptyObject = d !== null && typeof d === "object" && !Array.isArray(d) && Object.keys(d).length === 0;
        if (plain && !v.description.includes(`Default: ${String(d)}`))
          out.push(`${p}: description lacks "Default: ${d}"`);
        else if (!plain && !emptyObject && !v.description.includes("Default:")) out.push(`${p}: default not described`);
      }
      walk(v, p);
    }
    if (n.items) walk(n.items, `${path}[]`);
    for (const x of n.anyOf ?? []) walk(x, path);
  };
  walk(schema, "");
  return out;
}

describe("spec field descriptions", () => {
  it("every property of the spec's JSON Schema has a description that names its default", () => {
    expect(problems(specJsonSchema() as Node)).toEqual([]);
  });

  it("reports a field without a description, and one whose default changed without its text (broken samples)", () => {
    const broken = z.strictObject({
      a: z.string().default("x"),
      b: z
        .strictObject({ c: z.int().default(2).meta({ description: "C. Default: 1." }) })
        .prefault({})
        .meta({ description: "B." }),
    });
    expect(problems(z.toJSONSchema(broken, { io: "input" }) as Node)).toEqual([
      "a: no description",
      'b.c: description lacks "Default: 2"',
    ]);
  });
});
