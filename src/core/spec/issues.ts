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
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else if (typeof p === "string" && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out || "(spec)";
}

function formatValue(v: unknown): string {
  if (typeof v === "string") return /^[\x21-\x7e]+$/.test(v) && !v.includes('"') ? v : JSON.stringify(v);
  if (v === undefined) return "(missing)";
  // JSON would show Infinity and NaN (YAML's .inf, .nan) as null, and -0 as 0.
  if (typeof v === "number" && (!Number.isFinite(v) || Object.is(v, -0))) return Object.is(v, -0) ? "-0" : String(v);
  if (typeof v === "bigint") return `${v}`;
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** `nodes[4].addresses.management: 10.15.253.88 is the VIP` */
export function formatIssue(i: SpecIssue): string {
  const prefix = i.severity === "warning" ? "warning: " : "";
  return "value" in i ? `${prefix}${i.path}: ${formatValue(i.value)} ${i.message}` : `${prefix}${i.path}: ${i.message}`;
}

