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

/** POSIX shell word: single quotes, embedded `'` as `'\''`. Round-trips every string but NUL. */
export function sh(value: string | number): string {
  const v = String(value);
  if (v.includes("\u0000")) throw new UnquotableValueError("a shell word", "contains NUL");
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(v)) return v;
  return `'${v.replaceAll("'", `'\\''`)}'`;
}

/** Several shell words. */
export function shArgs(values: readonly (string | number)[]): string {
  return values.map(sh).join(" ");
}

/** MariaDB string literal (default sql_mode, backslash escapes on). */
export function sql(value: string): string {
  let out = "'";
  for (const ch of value) {
    switch (ch) {
      case "\\": out += "\\\\"; break;
      case "'": out += "\\'"; break;
      case "\u0000": out += "\\0"; break;
      case "\n": out += "\\n"; break;
      case "\r": out += "\\r"; break;
      case "\u001a": out += "\\Z"; break;
      default: out += ch;
    }
  }
  return out + "'";
}

/** MariaDB option-file (my.cnf) value: double-quoted, `\\`, `\"`, `\n`, `\t`, `\r` escaped. */
export function cnf(value: string | number): string {
  const v = String(value);
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(v)) return v;
  if (v.includes("\u0000")) throw new UnquotableValueError("a my.cnf value", "contains NUL");
  const escaped = v
    .replaceAll("\\", "\\\\")
    .replaceAll('"', '\\"')
    .replaceAll("\n", "\\n")
    .replaceAll("\t", "\\t")
    .replaceAll("\r", "\\r");
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
  return v.replace(/[\\ #]/g, (c) => `\\${c}`);
}

/**
 * Value in a file read both by systemd's EnvironmentFile= and by a POSIX shell (`. file`), such as
 * etcd.conf: double quotes, and only characters both readers treat literally there.
 */
export function envValue(value: string | number): string {
  const v = String(value);
  if (CONTROL.test(v)) throw new UnquotableValueError("an environment-file value", "contains a control character");
  if (/["\\$`]/.test(v)) throw new UnquotableValueError("an environment-file value", "contains \", \\, $ or `");
  return `"${v}"`;
}

/** xinetd attribute value: a single token, no spaces, braces, `=` or `#`. */
export function xinetd(value: string | number): string {
  const v = String(value);
  if (!/^[A-Za-z0-9_@%+:,./-]+$/.test(v)) throw new UnquotableValueError("an xinetd value", `"${v}" is not a plain token`);
  return v;
}

/** One token in a line-oriented config where only plain words are valid (chrony, hosts, sysctl, rsyslog paths). */
export function word(value: string | number, format: string): string {
  const v = String(value);
  if (!/^[A-Za-z0-9_@%+:,./\[\]-]+$/.test(v)) throw new UnquotableValueError(format, `"${v}" is not a plain token`);
  return v;
}

/** RainerScript (rsyslog) string constant: double-quoted, `\\` and `\"` escaped. */
export function rainer(value: string): string {
  if (CONTROL.test(value)) throw new UnquotableValueError("an rsyslog string", "contains a control character");
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}
