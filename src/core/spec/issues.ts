/**
 * Spec problems as data and their one-line form. Apart from the validator so that printing the
 * warnings of a spec whose validation came from the CLI's cache does not load zod.
 */

/** One problem in a spec, as data: where, what value, why. */
export interface SpecIssue {
  readonly severity: "error" | "warning";
  /** Spec path as written by users: nodes[4].addresses.management */
  readonly path: string;
  readonly value?: unknown;
  readonly message: string;
  /** A warning's stable id, for `safety.acknowledge` (see WARNING_IDS). */
  readonly id?: WarningId;
  /** The spec acknowledges this warning: kept in PLAN.md and plan.json, not printed on the terminal. */
  readonly acknowledged?: boolean;
}

/**
 * Every warning a valid spec can carry, by a stable id: `safety.acknowledge` takes these, and a
 * renamed id would silently bring a warning back (or hide another), so ids are never reused.
 */
export const WARNING_IDS = [
  "vip-prefix-differs",
  "unsafe-member-count",
  "ntp-server-unused",
  "stonith-disabled",
  "no-quorum-policy-ignore",
  "rabbitmq-ram-nodes",
  "selinux-enforcing",
] as const;
export type WarningId = (typeof WARNING_IDS)[number];

/** Longest part of a value (or a key) a message shows: a 5 MB value must not become a 5 MB message. */
export const SHOWN_MAX = 80;

/** `v` cut to `max` code points (never inside a surrogate pair), and whether it was cut. */
export function cutText(v: string, max = SHOWN_MAX): { text: string; cut: boolean } {
  if (v.length <= max) return { text: v, cut: false };
  let text = "";
  let n = 0;
  for (const ch of v.slice(0, max * 2)) {
    if (n++ === max) break;
    text += ch;
  }
  return text.length < v.length ? { text, cut: true } : { text: v, cut: false };
}
const lengthNote = (v: string) => `… (${v.length} characters)`;

/** A string as messages show it: bare when plain printable ASCII, JSON-quoted otherwise; cut when long. */
function showString(v: string): string {
  const { text, cut } = cutText(v);
  const shown = /^[\x21-\x7e]+$/.test(text) && !text.includes('"') ? text : JSON.stringify(text);
  return cut ? shown + lengthNote(v) : shown;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    const plain = typeof p === "string" && p.length <= SHOWN_MAX && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(p);
    if (typeof p === "number") out += `[${p}]`;
    else if (plain) out += out ? `.${p}` : p;
    else {
      const { text, cut } = cutText(String(p));
      out += `[${JSON.stringify(text)}${cut ? lengthNote(String(p)) : ""}]`;
    }
  }
  return out || "(spec)";
}

/**
 * JSON-like text of any value, at most about SHOWN_MAX characters: stops walking once over, so a
 * huge or cyclic object costs nothing; never throws (symbols, functions, BigInt included).
 */
function preview(v: unknown): string {
  let out = "";
  const seen = new Set<object>();
  const write = (x: unknown): void => {
    if (out.length > SHOWN_MAX) return;
    if (typeof x === "string") out += JSON.stringify(cutText(x).text);
    // JSON would show Infinity and NaN (YAML's .inf, .nan) as null, and -0 as 0.
    else if (typeof x === "number") out += Object.is(x, -0) ? "-0" : String(x);
    else if (typeof x === "bigint" || typeof x === "boolean") out += String(x);
    else if (x === null) out += "null";
    else if (x === undefined) out += "undefined";
    else if (typeof x === "symbol") out += x.toString();
    else if (typeof x === "function") out += "(function)";
    else if (x instanceof Date) out += Number.isNaN(x.getTime()) ? "(invalid date)" : JSON.stringify(x.toISOString());
    else if (seen.has(x)) out += "(cycle)";
    else {
      seen.add(x);
      const isArray = Array.isArray(x);
      out += isArray ? "[" : "{";
      let first = true;
      for (const key of Object.keys(x)) {
        if (out.length > SHOWN_MAX) break;
        if (!first) out += ",";
        first = false;
        if (!isArray) out += `${JSON.stringify(cutText(key).text)}:`;
        write((x as Record<string, unknown>)[key]);
      }
      out += isArray ? "]" : "}";
      seen.delete(x);
    }
  };
  write(v);
  const { text, cut } = cutText(out);
  return cut ? `${text}…` : text;
}

/** A value as messages show it: cut, quoted when not plain (also the `value` of --json issues). */
export function formatValue(v: unknown): string {
  if (typeof v === "string") return showString(v);
  if (v === undefined) return "(missing)";
  return preview(v);
}

/** `nodes[4].addresses.management: 10.15.253.88 is the VIP` */
export function formatIssue(i: SpecIssue): string {
  const prefix = i.severity === "warning" ? `warning${i.id ? ` [${i.id}]` : ""}: ` : "";
  return "value" in i ? `${prefix}${i.path}: ${formatValue(i.value)} ${i.message}` : `${prefix}${i.path}: ${i.message}`;
}
