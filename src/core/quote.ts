/**
 * One quoting helper per output format. Every value that lands in a script or config line goes
 * through exactly one of these; values a format cannot represent are refused here (and rejected
 * earlier by validation, so users see a spec error, never this exception).
 */

export class UnquotableValueError extends Error {
  constructor(format: string, reason: string) {
    super(`value cannot be written as ${format}: ${reason}`);
    this.name = "UnquotableValueError";
  }
}

const CONTROL = /[\u0000-\u001f\u007f]/;

// A lone UTF-16 surrogate (e.g. from a "\uD800" escape in YAML) has no UTF-8 form: written to a file it
// silently becomes U+FFFD, so the reader would get a different value.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
function refuseLoneSurrogate(format: string, v: string): void {
  if (LONE_SURROGATE.test(v))
    throw new UnquotableValueError(format, "contains a lone UTF-16 surrogate (not valid Unicode)");
}

/** POSIX shell word: single quotes, embedded `'` as `'\''`. Round-trips every string but NUL (and lone surrogates). */
export function sh(value: string | number): string {
  const v = String(value);
  if (v.includes("\u0000")) throw new UnquotableValueError("a shell word", "contains NUL");
  refuseLoneSurrogate("a shell word", v);
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(v)) return v;
  return `'${v.replaceAll("'", `'\\''`)}'`;
}

/** Several shell words. */
export function shArgs(values: readonly (string | number)[]): string {
  return values.map(sh).join(" ");
}

/** MariaDB string literal (default sql_mode, backslash escapes on). */
export function sql(value: string): string {
  refuseLoneSurrogate("an SQL string", value);
  let out = "'";
  for (const ch of value) {
    switch (ch) {
      case "\\":
        out += "\\\\";
        break;
      case "'":
        out += "\\'";
        break;
      case "\u0000":
        out += "\\0";
        break;
      case "\n":
        out += "\\n";
        break;
      case "\r":
        out += "\\r";
        break;
      case "\u001a":
        out += "\\Z";
        break;
      default:
        out += ch;
    }
  }
  return `${out}'`;
}

/**
 * MariaDB option-file (my.cnf) value: double-quoted, `\\`, `\"`, `\n`, `\t`, `\r` escaped. At most
 * CNF_MAX_BYTES: mysys reads option lines into a 4 KiB buffer and silently splits a longer line into
 * bogus options; the margin leaves room for `name = `.
 */
export const CNF_MAX_BYTES = 4000;
export function cnf(value: string | number): string {
  const v = String(value);
  if (Buffer.byteLength(v) > CNF_MAX_BYTES)
    throw new UnquotableValueError("a my.cnf value", `is longer than ${CNF_MAX_BYTES} bytes`);
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(v)) return v;
  if (v.includes("\u0000")) throw new UnquotableValueError("a my.cnf value", "contains NUL");
  refuseLoneSurrogate("a my.cnf value", v);
  const escaped = v
    .replaceAll("\\", "\\\\")
    .replaceAll('"', '\\"')
    .replaceAll("\n", "\\n")
    .replaceAll("\t", "\\t")
    .replaceAll("\r", "\\r");
  if (Buffer.byteLength(escaped) + 2 > CNF_MAX_BYTES)
    throw new UnquotableValueError("a my.cnf value", `is longer than ${CNF_MAX_BYTES} bytes once quoted`);
  return `"${escaped}"`;
}

/**
 * HAProxy config word, written so that both HAProxy 1.8 (CentOS 8) and 2.x (Debian 12) read it
 * alike: backslash escapes for space, `#` and `\`. Quotes and `$` mean different things across
 * those versions, so they are refused.
 */
export function haproxy(value: string | number): string {
  const v = String(value);
  if (v === "") throw new UnquotableValueError("an HAProxy word", "is empty");
  if (CONTROL.test(v)) throw new UnquotableValueError("an HAProxy word", "contains a control character");
  if (/['"$]/.test(v)) throw new UnquotableValueError("an HAProxy word", "contains a quote or $");
  refuseLoneSurrogate("an HAProxy word", v);
  return v.replace(/[\\ #]/g, (c) => `\\${c}`);
}

/**
 * Value in a file read both by systemd's EnvironmentFile= and by a POSIX shell (`. file`), such as
 * etcd.conf: double quotes, and only characters both readers treat literally there. Unicode
 * noncharacters are refused too: systemd drops the whole assignment as "invalid UTF-8".
 */
export function envValue(value: string | number): string {
  const v = String(value);
  if (CONTROL.test(v)) throw new UnquotableValueError("an environment-file value", "contains a control character");
  if (/["\\$`]/.test(v)) throw new UnquotableValueError("an environment-file value", 'contains ", \\, $ or `');
  refuseLoneSurrogate("an environment-file value", v);
  if (/\p{Noncharacter_Code_Point}/u.test(v))
    throw new UnquotableValueError("an environment-file value", "contains a Unicode noncharacter");
  return `"${v}"`;
}

/** xinetd attribute value: a single token, no spaces, braces, `=` or `#`. */
export function xinetd(value: string | number): string {
  const v = String(value);
  if (!/^[A-Za-z0-9_@%+:,./-]+$/.test(v))
    throw new UnquotableValueError("an xinetd value", `"${v}" is not a plain token`);
  return v;
}

/** One token in a line-oriented config where only plain words are valid (chrony, hosts, sysctl, rsyslog paths). */
export function word(value: string | number, format: string): string {
  const v = String(value);
  if (!/^[A-Za-z0-9_@%+:,./[\]-]+$/.test(v)) throw new UnquotableValueError(format, `"${v}" is not a plain token`);
  return v;
}

/**
 * RainerScript (rsyslog) string constant: double-quoted, `\\` and `\"` escaped, `$` as the octal
 * escape `\044`: expression strings (`set $!x = "..."`) reject a bare `$`, object parameters
 * (`file="..."`) reject `\$`, and 3-digit octal is valid in both.
 */
export function rainer(value: string): string {
  if (CONTROL.test(value)) throw new UnquotableValueError("an rsyslog string", "contains a control character");
  refuseLoneSurrogate("an rsyslog string", value);
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("$", "\\044")}"`;
}
