import { cutText } from "./spec/issues.js";

/**
 * JSON for spec files, stricter than JSON.parse where JSON.parse is silently lenient or fails far
 * away: a key given twice is an error (JSON.parse keeps the last one, YAML refuses it), and so is
 * nesting deeper than MAX_JSON_DEPTH (a 6000-deep document parses, then overflows the stack of
 * whatever walks it). Everything else is as JSON.parse: same values, `__proto__` an own key.
 */

export const MAX_JSON_DEPTH = 1000;

export class JsonParseError extends Error {
  constructor(
    readonly reason: string,
    /** 1-based line and column (in characters) of the offending place. */
    readonly line: number,
    readonly column: number,
  ) {
    super(`line ${line}, column ${column}: ${reason}`);
    this.name = "JsonParseError";
  }
}

function position(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  // Characters, not UTF-16 units: what an editor's column shows.
  let column = 1;
  for (const _ of text.slice(lineStart, offset)) column++;
  return { line, column };
}

const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/** Parses JSON text; throws JsonParseError with line and column on any problem. */
export function parseJsonStrict(text: string, maxDepth: number = MAX_JSON_DEPTH): unknown {
  let i = 0;
  const fail = (reason: string, at = i): never => {
    const { line, column } = position(text, at);
    throw new JsonParseError(reason, line, column);
  };
  const shown = (s: string) => {
    const { text: t, cut } = cutText(s);
    return `${JSON.stringify(t)}${cut ? "…" : ""}`;
  };
  const ws = () => {
    for (let c = text.charCodeAt(i); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = text.charCodeAt(++i));
  };
  const unexpected = (): never => {
    if (i >= text.length) return fail("unexpected end of the text");
    return fail(`unexpected character ${shown(String.fromCodePoint(text.codePointAt(i)!))}`);
  };

  const string = (): string => {
    // At the opening quote. Plain runs are sliced whole: a 5 MB string is not built char by char.
    let out = "";
    let start = ++i;
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i++);
        return out;
      }
      if (Number.isNaN(c)) fail("unterminated string");
      if (c < 0x20) fail("control character in a string (write it as an escape such as \\n)");
      if (c === 0x5c) {
        out += text.slice(start, i);
        const e = text[i + 1];
        if (e === "u") {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9A-Fa-f]{4}$/.test(hex)) fail("invalid \\u escape");
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
        } else if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
          out += ESCAPES[e];
          i += 2;
        } else {
          fail("invalid escape in a string");
        }
        start = i;
        continue;
      }
      i++;
    }
  };

  const value = (depth: number): unknown => {
    ws();
    const c = text[i];
    if (c === "{" || c === "[") {
      if (depth >= maxDepth) fail(`nested deeper than ${maxDepth} levels`);
      return c === "{" ? object(depth + 1) : array(depth + 1);
    }
    if (c === '"') return string();
    for (const [word, v] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m) {
      i += m[0].length;
      return Number(m[0]);
    }
    return unexpected();
  };

  const object = (depth: number): Record<string, unknown> => {
    i++;
    const out: Record<string, unknown> = {};
    // Where each key was first given, for the duplicate's message.
    const seen = new Map<string, number>();
    ws();
    if (text[i] === "}") {
      i++;
      return out;
    }
    for (;;) {
      ws();
      if (text[i] !== '"') fail(i >= text.length ? "unexpected end of the text" : "expected a key in double quotes");
      const at = i;
      const key = string();
      const first = seen.get(key);
      if (first !== undefined) {
        const p = position(text, first);
        fail(`duplicate key ${shown(key)} (first at line ${p.line}, column ${p.column})`, at);
      }
      seen.set(key, at);
      ws();
      if (text[i] !== ":") fail("expected : after a key");
      i++;
      // defineProperty: `__proto__` becomes an own key, as JSON.parse makes it.
      Object.defineProperty(out, key, { value: value(depth), enumerable: true, writable: true, configurable: true });
      ws();
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "}") {
        i++;
        return out;
      }
      fail(i >= text.length ? "unexpected end of the text" : "expected , or } after a value");
    }
  };

  const array = (depth: number): unknown[] => {
    i++;
    const out: unknown[] = [];
    ws();
    if (text[i] === "]") {
      i++;
      return out;
    }
    for (;;) {
      out.push(value(depth));
      ws();
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "]") {
        i++;
        return out;
      }
      fail(i >= text.length ? "unexpected end of the text" : "expected , or ] after a value");
    }
  };

  if (text.charCodeAt(0) === 0xfeff) fail("starts with a byte order mark (U+FEFF), which JSON does not allow", 0);
  const result = value(0);
  ws();
  if (i < text.length) fail("unexpected text after the JSON value");
  return result;
}
