import fc from "fast-check";
import { UnquotableValueError } from "../../src/core/quote.js";
import { checkSecret, type SecretKey } from "../../src/core/secrets.js";

/**
 * Hostile strings for the quoting helpers, and what each format cannot represent, written out
 * character by character here (independently of src/quote.ts) so the tests can hold the helpers to it.
 */

/** Characters and fragments that break naive quoting somewhere. */
export const NASTY: readonly string[] = [
  "'",
  '"',
  "$",
  "`",
  "\\",
  " ",
  "\t",
  "\n",
  "\r",
  "#",
  ";",
  "-",
  "--",
  "=",
  "%",
  "{",
  "}",
  "(",
  ")",
  "*",
  "?",
  "[",
  "]",
  "~",
  "!",
  "&",
  "|",
  "<",
  ">",
  ":",
  ",",
  "@",
  "^",
  "/",
  ".",
  "+",
  "\u0000",
  "\u0001",
  "\u0008",
  "\u000b",
  "\u000c",
  "\u001a",
  "\u001b",
  "\u007f",
  "\u0085",
  "\u00a0",
  "é",
  "ß",
  "😀",
  "👍🏽",
  "中",
  "文",
  "\u2028",
  "\u200b",
  "\ufeff",
  "\ufffd",
  "\ufffe",
  "\ufdd0",
  "\u{10ffff}",
  "\u{1fffe}",
  "\ud800",
  "\udfff",
  "\\n",
  "\\t",
  "\\0",
  "\\Z",
  "\\x41",
  "\\044",
  "\\$",
  '\\"',
  "\\'",
  "\\\\",
  "\\ ",
  "\\#",
  "${HOME}",
  "$(id)",
  "$1",
  "'\\''",
  "%msg%",
  "%s",
  "*/",
  "/*",
  "-- ",
  "0x41",
  "NULL",
  "!include",
];

/** Whole values that are edge cases on their own. */
export const EDGE_VALUES: readonly string[] = [
  "",
  "-",
  "-n",
  "-e",
  "--",
  "--help",
  "-x=y",
  "'",
  '"',
  "''",
  '""',
  "\\",
  "$",
  "`",
  " ",
  "  ",
  "\t",
  "\n",
  "a b",
  " lead",
  "trail ",
  "#",
  "#x",
  "a#b",
  ";",
  "a;b",
  "=",
  "a=b",
  "=a",
  "~",
  "~root",
  "a:b",
  "x\\",
  "\\x",
  "😀",
  "中文密码",
  "emoji 😀 and 中文 and é",
  "pa'ss\"wo$rd`\\ #;",
  "line1\nline2",
  "tab\there",
  "%",
  "%%",
  "{}",
  "[x]",
  "!",
  "*",
  "?",
  "0",
  "007",
  "true",
  "null",
  "~/x",
  "a\u00a0b",
];

function unitChar(avoid?: (ch: string) => boolean): fc.Arbitrary<string> {
  const base = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...NASTY) },
    { weight: 4, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }) },
  );
  return avoid ? base.filter((s) => ![...s].some(avoid)) : base;
}

/**
 * Arbitrary hostile string. `avoid` drops characters from the generated units (to keep most samples
 * acceptable for a strict format); the fixed EDGE_VALUES are always run separately, unfiltered.
 */
export function hostile(opts: { maxLength?: number; avoid?: (ch: string) => boolean } = {}): fc.Arbitrary<string> {
  const str = fc.string({ unit: unitChar(opts.avoid), maxLength: opts.maxLength ?? 24 });
  const edge = fc.constantFrom(...EDGE_VALUES.filter((v) => !opts.avoid || ![...v].some(opts.avoid)));
  return fc.oneof({ weight: 6, arbitrary: str }, { weight: 1, arbitrary: edge });
}

/** A hostile value that still passes checkSecret for `key` (what a secrets file may hold). */
export function secretValue(key: SecretKey): fc.Arbitrary<string> {
  if (key === "erlang_cookie") {
    return fc.string({
      unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
      minLength: 20,
      maxLength: 64,
    });
  }
  const unit = unitChar((ch) => isControl(ch.codePointAt(0)!) || hasLoneSurrogate(ch));
  return fc.string({ unit, minLength: 8, maxLength: 40 }).filter((v) => checkSecret(key, v) === undefined);
}

/** A batch of hostile strings: one real-program run checks the whole batch. */
export function batch(
  opts: { minLength?: number; maxLength?: number; value?: fc.Arbitrary<string> } = {},
): fc.Arbitrary<string[]> {
  return fc.array(opts.value ?? hostile(), { minLength: opts.minLength ?? 20, maxLength: opts.maxLength ?? 60 });
}

// ---- what each format cannot represent, per code point ----

const cps = (v: string): number[] => [...v].map((c) => c.codePointAt(0)!);
/** A lone UTF-16 surrogate: no UTF-8 encoding exists, a file would get U+FFFD instead. */
export const hasLoneSurrogate = (v: string): boolean => cps(v).some((c) => c >= 0xd800 && c <= 0xdfff);
const isControl = (c: number): boolean => c < 0x20 || c === 0x7f;
const isNoncharacter = (c: number): boolean => (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) === 0xfffe;

export const UNREPRESENTABLE = {
  /** bash strings are C strings. */
  sh: (v: string) => v.includes("\u0000") || hasLoneSurrogate(v),
  /** A MariaDB utf8mb4 literal holds every Unicode scalar value, NUL included (as \0). */
  sql: (v: string) => hasLoneSurrogate(v),
  /** mysys option lines are C strings read into a 4 KiB buffer (ha-gen allows 4000 bytes quoted). */
  cnf: (v: string) => v.includes("\u0000") || hasLoneSurrogate(v) || cnfQuotedBytes(v) > 4000,
  /**
   * By ha-gen's choice: only what HAProxy 1.8 and 2.x read alike (no quotes, no `$`, no control
   * characters; backslash-escaped space, `#` and `\`), and never empty.
   */
  haproxy: (v: string) =>
    v === "" || hasLoneSurrogate(v) || cps(v).some((c) => isControl(c) || c === 0x22 || c === 0x27 || c === 0x24),
  /**
   * By ha-gen's choice: only characters that bash and systemd (239 and 252) take literally inside
   * double quotes; plus what systemd cannot hold at all (noncharacters: "invalid UTF-8").
   */
  envValue: (v: string) =>
    hasLoneSurrogate(v) ||
    cps(v).some((c) => isControl(c) || isNoncharacter(c) || c === 0x22 || c === 0x5c || c === 0x24 || c === 0x60),
  /** A single xinetd token: letters, digits and _@%+:,./- only (no `=`, `#`, braces, spaces). */
  xinetd: (v: string) => v === "" || cps(v).some((c) => !isTokenChar(c, "_@%+:,./-")),
  /** A plain token in a whitespace-separated line: also `[` `]` for IPv6 literals. */
  word: (v: string) => v === "" || cps(v).some((c) => !isTokenChar(c, "_@%+:,./[]-")),
  /** rsyslog strings are C strings; ha-gen also keeps control characters out of rsyslog config. */
  rainer: (v: string) => hasLoneSurrogate(v) || cps(v).some(isControl),
} as const;

function isTokenChar(c: number, extra: string): boolean {
  const ch = String.fromCodePoint(c);
  return (ch >= "a" && ch <= "z") || (ch >= "A" && ch <= "Z") || (ch >= "0" && ch <= "9") || extra.includes(ch);
}

/** Bytes of cnf(v) on its line: plain words stay bare, anything else is quoted and escaped. */
function cnfQuotedBytes(v: string): number {
  if (v !== "" && [...v].every((c) => isTokenChar(c.codePointAt(0)!, "_@%+=:,./-"))) return v.length;
  let n = 2;
  for (const ch of v)
    n += ch === "\\" || ch === '"' || ch === "\n" || ch === "\t" || ch === "\r" ? 2 : Buffer.byteLength(ch);
  return n;
}

export type Format = keyof typeof UNREPRESENTABLE;

/**
 * Quote every value; refused ones must be exactly the unrepresentable ones and must be refused
 * with UnquotableValueError. Returns the accepted values with their quoted form.
 */
export function quoteAll(
  format: Format,
  values: readonly string[],
  quote: (v: string) => string,
): { value: string; quoted: string }[] {
  const accepted: { value: string; quoted: string }[] = [];
  for (const value of values) {
    let quoted: string | undefined;
    let error: unknown;
    try {
      quoted = quote(value);
    } catch (e) {
      error = e;
    }
    const mustRefuse = UNREPRESENTABLE[format](value);
    if (error !== undefined) {
      if (!(error instanceof UnquotableValueError)) throw new Error(`${format}(${show(value)}) threw ${String(error)}`);
      if (!mustRefuse) throw new Error(`${format}(${show(value)}) refused a representable value: ${error.message}`);
    } else {
      if (mustRefuse)
        throw new Error(`${format}(${show(value)}) accepted an unrepresentable value as ${show(quoted!)}`);
      accepted.push({ value, quoted: quoted! });
    }
  }
  return accepted;
}

/** JSON form of a value for messages, shortened when huge. */
export function show(v: string): string {
  const j = JSON.stringify(v);
  return j.length > 160 ? `${j.slice(0, 150)}…(${v.length} chars)` : j;
}

/** Throws a readable error unless the reader's values equal the written ones, byte for byte. */
export function expectSameBytes(what: string, written: readonly string[], read: readonly Buffer[]): void {
  if (read.length !== written.length) {
    throw new Error(
      `${what}: wrote ${written.length} values, read back ${read.length}: ` +
        `${JSON.stringify(read.map((b) => b.toString("utf8")))}`,
    );
  }
  written.forEach((v, i) => {
    // Bytes, and the decoded text too: Buffer.from() would turn a lone surrogate into U+FFFD on both sides.
    if (!read[i]!.equals(Buffer.from(v, "utf8")) || read[i]!.toString("utf8") !== v) {
      throw new Error(
        `${what}: value ${i} ${show(v)} came back as ${show(read[i]!.toString("utf8"))} ` +
          `(hex ${read[i]!.toString("hex")})`,
      );
    }
  });
}

/** Split NUL-terminated output into its fields. */
export function splitNul(out: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < out.length; i++) {
    if (out[i] === 0) {
      parts.push(out.subarray(start, i));
      start = i + 1;
    }
  }
  if (start !== out.length)
    throw new Error(`output does not end with NUL: ${JSON.stringify(out.subarray(start).toString("utf8"))}`);
  return parts;
}

/**
 * Bounded fast-check settings: few runs of big batches keep each file within seconds. No shrinking:
 * each check names the failing value itself, and shrinking would start a real program per step.
 */
export const RUNS = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, endOnFailure: true });
