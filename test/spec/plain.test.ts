import { describe, expect, it } from "vitest";
import { MAX_SPEC_DEPTH, toPlainData } from "../../src/core/spec/plain.js";

/** A spec module's default export can be anything JavaScript allows; what comes out is plain data. */

const refused = (v: unknown) => {
  const r = toPlainData(v);
  if (r.ok) throw new Error("accepted");
  return `${r.path} ${r.message}`;
};

describe("toPlainData", () => {
  it("copies plain data exactly, a key named __proto__ included", () => {
    const v = JSON.parse('{"a":[1,"x",null,true,{"b":-0}],"__proto__":{"c":1}}') as unknown;
    const r = toPlainData(v);
    expect(r).toEqual({ ok: true, value: v });
    if (r.ok) expect(Object.hasOwn(r.value as object, "__proto__")).toBe(true);
    expect(toPlainData(Object.assign(Object.create(null) as object, { a: 1 }))).toEqual({ ok: true, value: { a: 1 } });
  });

  it("names the place and the reason for everything that is not data", () => {
    const cyc: Record<string, unknown> = { nodes: [] };
    (cyc.nodes as unknown[]).push({ back: cyc });
    expect(refused(cyc)).toBe("nodes[0].back refers to itself (a cycle)");
    expect(refused({ n: 1n })).toBe("n is a BigInt: write a number or a string");
    expect(refused({ f: () => 1 })).toBe("f is a function, not data");
    expect(refused({ s: Symbol("x") })).toBe("s is a symbol, not data");
    expect(refused({ d: new Date(0) })).toBe("d is a Date, not plain data");
    expect(refused({ m: new Map() })).toBe("m is a Map, not plain data");
    expect(
      refused({
        get vip() {
          throw new Error("getter boom");
        },
      }),
    ).toBe("vip cannot be read: getter boom");
    const trap = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error("trap boom");
        },
      },
    );
    expect(refused({ x: trap })).toBe("x cannot be read: trap boom");
  });

  it("bounds depth: 50 000 levels are refused without exhausting the stack", () => {
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 50_000; i++) {
      const next = {};
      deep.x = next;
      deep = next;
    }
    expect(refused(root)).toBe(`x.x.x.x…(${MAX_SPEC_DEPTH} levels) is nested deeper than ${MAX_SPEC_DEPTH} levels`);
  });

  it("a shared (not cyclic) object is data, copied twice", () => {
    const shared = { a: 1 };
    expect(toPlainData({ x: shared, y: shared })).toEqual({ ok: true, value: { x: { a: 1 }, y: { a: 1 } } });
  });
});
