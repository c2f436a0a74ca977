import { formatPath } from "./issues.js";

/** Deeper than any spec needs (a spec is about six levels deep); keeps every walk of it bounded. */
export const MAX_SPEC_DEPTH = 64;

const MAX_ITEMS = 100_000;

export type PlainResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly path: string; readonly message: string };

/**
 * A copy of `value` made only of plain data (objects, arrays, strings, numbers, booleans, null),
 * read exactly once, or where and why it is not: a cycle, a BigInt, a function, a getter or Proxy
 * trap that throws, an instance of a class, nesting deeper than MAX_SPEC_DEPTH. A spec module's
 * default export can be any of those; everything after this step sees only data.
 */
export function toPlainData(value: unknown): PlainResult {
  const path: PropertyKey[] = [];
  const ancestors = new Set<object>();
  let failure: { path: string; message: string } | undefined;
  const fail = (message: string): undefined => {
    // A path hundreds of levels deep says no more than its start and its depth.
    const shown = path.length > 8 ? `${formatPath(path.slice(0, 4))}…(${path.length} levels)` : formatPath(path);
    failure ??= { path: shown, message };
    return undefined;
  };

  const walk = (v: unknown): unknown => {
    switch (typeof v) {
      case "string":
      case "number":
      case "boolean":
      case "undefined":
        return v;
      case "bigint":
        return fail("is a BigInt: write a number or a string");
      case "function":
        return fail("is a function, not data");
      case "symbol":
        return fail("is a symbol, not data");
    }
    if (v === null) return null;
    const obj = v as object;
    if (path.length >= MAX_SPEC_DEPTH) return fail(`is nested deeper than ${MAX_SPEC_DEPTH} levels`);
    if (ancestors.has(obj)) return fail("refers to itself (a cycle)");
    try {
      const isArray = Array.isArray(obj);
      const proto = Object.getPrototypeOf(obj) as unknown;
      if (!isArray && proto !== Object.prototype && proto !== null) {
        const name = (proto as { constructor?: { name?: unknown } } | null)?.constructor?.name;
        return fail(`is ${typeof name === "string" && name ? `a ${name}` : "an object of a class"}, not plain data`);
      }
      if (isArray && (obj as unknown[]).length > MAX_ITEMS) return fail(`has more than ${MAX_ITEMS} items`);
      ancestors.add(obj);
      const out: Record<string, unknown> | unknown[] = isArray ? [] : {};
      const keys = isArray ? Array.from({ length: (obj as unknown[]).length }, (_, i) => i) : Object.keys(obj);
      for (const k of keys) {
        path.push(k);
        const item = walk((obj as Record<PropertyKey, unknown>)[k]);
        path.pop();
        if (failure) return undefined;
        // defineProperty: a key named __proto__ stays an own key, as JSON.parse and YAML make it.
        Object.defineProperty(out, k, { value: item, enumerable: true, writable: true, configurable: true });
      }
      ancestors.delete(obj);
      return out;
    } catch (e) {
      return fail(`cannot be read: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
    }
  };

  const copy = walk(value);
  return failure ? { ok: false, ...failure } : { ok: true, value: copy };
}
