import { HaGenError } from "../src/core/errors.js";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { isAbsolute, join } from "node:path";

/**
 * The subset of OpenSSH's client configuration (ssh_config(5)) that decides where and as whom
 * ha-gen connects: Host blocks with wildcard and negated patterns, HostName, Port, User,
 * IdentityFile, ProxyJump, HostKeyAlias, IdentitiesOnly, ConnectTimeout and Include. As in OpenSSH
 * the first value obtained for a keyword wins and IdentityFile accumulates. This parser is the
 * fallback where OpenSSH's `ssh -G` cannot be run (ssh-g.ts): a `Match` block (other than
 * `Match all`) it cannot evaluate is skipped with a warning for every host resolved. Options ha-gen
 * deliberately does not honour (StrictHostKeyChecking, UserKnownHostsFile...) are reported.
 */

export interface SshConfigEntry {
  readonly keyword: string;
  readonly args: readonly string[];
  readonly file: string;
  readonly line: number;
}

export interface SshConfigBlock {
  /**
   * Host pattern lists that must all match (more than one when a Host block comes from a file
   * Included inside another Host block); empty: options before the first Host line, for every host.
   */
  readonly conditions: readonly (readonly string[])[];
  readonly entries: readonly SshConfigEntry[];
  /** A `Match` block this parser cannot evaluate ("file:line Match ..."): skipped, with a warning. */
  readonly unevaluated?: string;
}

export interface SshConfig {
  readonly blocks: readonly SshConfigBlock[];
}

export interface JumpHost {
  readonly user?: string;
  readonly host: string;
  readonly port?: number;
}

/** Where and how to reach one host, after applying the configuration. */
export interface SshHostConfig {
  /** The name that was looked up (a node's hostname). */
  readonly alias: string;
  readonly hostname: string;
  /** HostName came from the configuration (else it is the alias, and callers may substitute an address). */
  readonly hostnameFromConfig: boolean;
  readonly port: number;
  readonly user?: string;
  readonly identityFiles: readonly string[];
  readonly identitiesOnly: boolean;
  /** Hops nearest first; empty for a direct connection. */
  readonly proxyJump: readonly JumpHost[];
  /** Where ProxyJump was set ("file:line ProxyJump value"), for messages. */
  readonly proxyJumpAt?: string;
  /** Name the host key is recorded under in known_hosts, when it is not the hostname. */
  readonly hostKeyAlias?: string;
  readonly connectTimeoutSec?: number;
  /** Options present for this host that ha-gen ignores, with why (printed as warnings). */
  readonly ignored: readonly string[];
}

/** An ssh config file that cannot be used as given. Exit 2, like any unusable option file. */
export class SshConfigError extends HaGenError {
  readonly code = "SSH_CONFIG";
  constructor(message: string) {
    super(message, 2);
  }
}

/** Keywords that would weaken or redirect host key checking; ha-gen's own flags decide those. */
const IGNORED_WITH_REASON: Record<string, string> = {
  stricthostkeychecking: "ha-gen never disables host key checking (use --accept-new-host-keys for trust on first use)",
  userknownhostsfile: "ha-gen uses --known-hosts",
  globalknownhostsfile: "ha-gen uses --known-hosts",
  proxycommand: "use ProxyJump",
  checkhostip: "ha-gen checks the key under HostName (or HostKeyAlias) only",
};

/** Splits one line into words: whitespace-separated, double quotes group, `key=value` allowed. */
export function splitConfigLine(raw: string): string[] {
  const line = raw.trim();
  const words: string[] = [];
  let i = 0;
  // The keyword may be followed by `=` (with optional spaces) instead of whitespace.
  const m = /^([^\s=]+)\s*(?:=\s*|\s+|$)/.exec(line);
  if (!m) throw new SshConfigError("a line must start with a keyword");
  words.push(m[1]!);
  i = m[0].length;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    if (line[i] === "#") break;
    let w = "";
    if (line[i] === '"') {
      const end = line.indexOf('"', i + 1);
      if (end < 0) throw new SshConfigError("unterminated quote");
      w = line.slice(i + 1, end);
      i = end + 1;
    } else {
      while (i < line.length && !/\s/.test(line[i]!)) w += line[i++];
    }
    words.push(w);
  }
  return words;
}

export interface ParseOptions {
  /** Resolves Include paths and reads files; defaults to the real filesystem. */
  readonly readFile?: (path: string) => string;
  readonly listDir?: (path: string) => string[];
  /** Owner and mode of an included file (checked as OpenSSH does); default: the real filesystem's. */
  readonly stat?: (path: string) => { readonly uid: number; readonly mode: number };
  readonly home?: string;
}

/** Parses config text; `file` names it in messages and anchors relative Include paths. */
export function parseSshConfig(text: string, file = "<config>", o: ParseOptions = {}, depth = 0): SshConfig {
  if (depth > 16) throw new SshConfigError(`${file}: Include nested too deeply`);
  const blocks: { conditions: (readonly string[])[]; entries: SshConfigEntry[]; unevaluated?: string }[] = [
    { conditions: [], entries: [] },
  ];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, idx) => {
    const lineNo = idx + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    let words: string[];
    try {
      words = splitConfigLine(trimmed);
    } catch (e) {
      throw new SshConfigError(`${file}:${lineNo}: ${(e as Error).message}`);
    }
    const keyword = words[0]!.toLowerCase();
    const args = words.slice(1);
    if (keyword === "host") {
      if (args.length === 0) throw new SshConfigError(`${file}:${lineNo}: Host needs at least one pattern`);
      blocks.push({ conditions: [args], entries: [] });
      return;
    }
    if (keyword === "match") {
      if (args.length === 1 && args[0]!.toLowerCase() === "all") {
        blocks.push({ conditions: [], entries: [] });
        return;
      }
      if (args.length === 0) throw new SshConfigError(`${file}:${lineNo}: Match needs criteria`);
      blocks.push({ conditions: [], entries: [], unevaluated: `${file}:${lineNo}: Match ${args.join(" ")}` });
      return;
    }
    if (keyword === "include") {
      const current = blocks[blocks.length - 1]!;
      for (const pattern of args) {
        for (const inc of expandInclude(pattern, o)) {
          const text = readInclude(inc, `${file}:${lineNo}`, o);
          if (text === undefined) continue;
          const sub = parseSshConfig(text, inc, o, depth + 1);
          // As in OpenSSH, an Include inside a Host block applies only when that block matches, and
          // lines after the Include continue the enclosing block.
          const skip = (b: SshConfigBlock) => current.unevaluated ?? b.unevaluated;
          for (const b of sub.blocks) {
            const unevaluated = skip(b);
            blocks.push({
              conditions: [...current.conditions, ...b.conditions],
              entries: [...b.entries],
              ...(unevaluated ? { unevaluated } : {}),
            });
          }
          blocks.push({
            conditions: current.conditions,
            entries: [],
            ...(current.unevaluated ? { unevaluated: current.unevaluated } : {}),
          });
        }
      }
      return;
    }
    if (args.length === 0) throw new SshConfigError(`${file}:${lineNo}: ${words[0]} needs a value`);
    blocks[blocks.length - 1]!.entries.push({ keyword, args, file, line: lineNo });
  });
  return { blocks };
}

/**
 * The files an Include pattern names, as OpenSSH's glob(3) finds them: relative paths are in ~/.ssh
 * (a user configuration), `*` `?` `[...]` in any path component, a leading dot only matched by a dot,
 * case-sensitive, in lexical order. A path without wildcards is returned as is (it may not exist).
 */
function expandInclude(pattern: string, o: ParseOptions): string[] {
  const home = o.home ?? homedir();
  let p = pattern === "~" ? home : pattern.startsWith("~/") ? join(home, pattern.slice(2)) : pattern;
  if (!isAbsolute(p)) p = join(home, ".ssh", p);
  if (!/[*?[]/.test(p)) return [p];
  const list = o.listDir ?? ((d: string) => readdirSync(d));
  let found = ["/"];
  for (const part of p.split("/").filter(Boolean)) {
    if (!/[*?[]/.test(part)) {
      found = found.map((d) => join(d, part));
      continue;
    }
    found = found.flatMap((d) => {
      let names: string[];
      try {
        names = list(d);
      } catch {
        return []; // like OpenSSH: a glob that matches nothing is not an error
      }
      const hits = names.filter((n) => (!n.startsWith(".") || part.startsWith(".")) && wildcardMatch(n, part, true));
      return hits.map((n) => join(d, n));
    });
  }
  return found.sort();
}

/**
 * An included file's text, or undefined when OpenSSH would skip it: a path that does not exist (it
 * "matched no files") and a directory (it reads as empty). Unreadable, or writable by others (which
 * could redirect every connection), is refused as OpenSSH refuses it.
 */
function readInclude(path: string, at: string, o: ParseOptions): string | undefined {
  const read = o.readFile ?? ((p: string) => readFileSync(p, "utf8"));
  let text: string;
  try {
    text = read(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return undefined;
    throw new SshConfigError(`${at}: cannot read included file ${path}: ${code ?? (e as Error).message}`);
  }
  // Injected readers (tests, callers with their own files) have no owner to check unless given a stat.
  const stat = o.stat ?? (o.readFile ? undefined : statSync);
  if (stat) checkOwnerAndMode(path, stat(path), at);
  return text;
}

/** OpenSSH's rule for the config files it checks: owned by the user or root, not writable by others. */
function checkOwnerAndMode(path: string, st: { readonly uid: number; readonly mode: number }, at: string): void {
  const me = process.getuid?.() ?? 0;
  if ((st.uid !== 0 && st.uid !== me) || (st.mode & 0o022) !== 0) {
    throw new SshConfigError(
      `${at}: bad owner or permissions on ${path} (it must be yours or root's and not writable by group or others)`,
    );
  }
}

/**
 * Wildcard matching in O(name × pattern) time, never a regular expression: a pattern with many `*`
 * (in a config or known_hosts file) made the regex backtrack for minutes. `?` is one character, `*`
 * any run; with `classes`, `[abc]`, `[a-z]`, `[!x]` as in glob(3); else case-insensitive (host names).
 */
export function wildcardMatch(name: string, pattern: string, classes = false): boolean {
  const n = classes ? name : name.toLowerCase();
  const p = classes ? pattern : pattern.toLowerCase();
  /** Index after the pattern item at `pi` when it matches `c`, else -1. */
  const one = (pi: number, c: string): number => {
    const t = p[pi]!;
    if (t === "?") return pi + 1;
    if (t === "[" && classes) {
      let i = pi + 1;
      const negate = p[i] === "!" || p[i] === "^";
      if (negate) i++;
      let hit = false;
      // A `]` right after `[` or `[!` is a member, not the end.
      for (let first = true; i < p.length && (first || p[i] !== "]"); i++, first = false) {
        if (p[i + 1] === "-" && p[i + 2] !== undefined && p[i + 2] !== "]") {
          if (c >= p[i]! && c <= p[i + 2]!) hit = true;
          i += 2;
        } else if (p[i] === c) hit = true;
      }
      if (i >= p.length) return t === c ? pi + 1 : -1; // no closing ]: a literal [
      return hit !== negate ? i + 1 : -1;
    }
    return t === c ? pi + 1 : -1;
  };
  let ni = 0;
  let pi = 0;
  let starP = -1;
  let starN = 0;
  while (ni < n.length) {
    if (pi < p.length && p[pi] === "*") {
      starP = pi++;
      starN = ni;
      continue;
    }
    const next = pi < p.length ? one(pi, n[ni]!) : -1;
    if (next >= 0) {
      pi = next;
      ni++;
    } else if (starP >= 0) {
      // Let the last `*` take one more character and retry from there.
      pi = starP + 1;
      ni = ++starN;
    } else return false;
  }
  while (p[pi] === "*") pi++;
  return pi === p.length;
}

/** OpenSSH pattern matching: `*` and `?` wildcards, case-insensitive for host names. */
export function matchPattern(name: string, pattern: string): boolean {
  return wildcardMatch(name, pattern);
}

/** A Host line applies when some positive pattern matches and no negated one does. */
export function hostMatches(name: string, patterns: readonly string[]): boolean {
  let positive = false;
  for (const p of patterns) {
    if (p.startsWith("!")) {
      if (matchPattern(name, p.slice(1))) return false;
    } else if (matchPattern(name, p)) positive = true;
  }
  return positive;
}

/** `[user@]host[:port]`, `[user@][v6addr]:port` or `ssh://[user@]host[:port]`, comma-separated; "none" is none. */
export function parseProxyJump(value: string): JumpHost[] {
  if (value.toLowerCase() === "none") return [];
  return value.split(",").map((raw) => {
    let s = raw.trim();
    if (s.startsWith("ssh://")) s = s.slice(6).replace(/\/$/, "");
    let user: string | undefined;
    const at = s.lastIndexOf("@");
    if (at >= 0) {
      user = s.slice(0, at);
      s = s.slice(at + 1);
    }
    let host = s;
    let port: number | undefined;
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
    if (v6) {
      host = v6[1]!;
      if (v6[2]) port = Number(v6[2]);
    } else {
      const m = /^([^:]+):(\d+)$/.exec(s);
      if (m) {
        host = m[1]!;
        port = Number(m[2]);
      }
    }
    if (!host || (port !== undefined && (port < 1 || port > 65535)))
      throw new SshConfigError(`invalid ProxyJump entry "${raw}"`);
    return { host, ...(user ? { user } : {}), ...(port ? { port } : {}) };
  });
}

export interface ResolveOptions {
  readonly localUser?: string;
  readonly home?: string;
}

/** Applies the configuration to one host name, as `ssh <alias>` would. */
export function resolveSshHost(config: SshConfig, alias: string, o: ResolveOptions = {}): SshHostConfig {
  const home = o.home ?? homedir();
  const localUser = o.localUser ?? safeLocalUser();
  const first = new Map<string, SshConfigEntry>();
  const identityEntries: SshConfigEntry[] = [];
  const skipped = new Set<string>();
  for (const b of config.blocks) {
    if (!b.conditions.every((c) => hostMatches(alias, c))) continue;
    if (b.unevaluated) {
      if (b.entries.length > 0) skipped.add(b.unevaluated);
      continue;
    }
    for (const e of b.entries) {
      if (e.keyword === "identityfile") identityEntries.push(e);
      else if (!first.has(e.keyword)) first.set(e.keyword, e);
    }
  }
  const get = (k: string) => first.get(k)?.args[0];
  const rawHostName = get("hostname");
  const hostname = rawHostName ? expandTokens(rawHostName, { h: alias, "%": "%" }, first.get("hostname")!) : alias;
  const invalid = (k: string, why = "") => {
    const e = first.get(k)!;
    const name = { port: "Port", connecttimeout: "ConnectTimeout", identitiesonly: "IdentitiesOnly" }[k] ?? k;
    return new SshConfigError(`${e.file}:${e.line}: invalid ${name} "${e.args[0]}"${why}`);
  };
  const portRaw = get("port");
  // Decimal digits only, as OpenSSH's a2port: Number() would take "0x16" or "1e3".
  const port = portRaw === undefined ? 22 : /^\d{1,5}$/.test(portRaw) ? Number(portRaw) : Number.NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid("port");
  const user = get("user");
  const tokens: Record<string, string> = {
    h: hostname,
    p: String(port),
    r: user ?? localUser,
    u: localUser,
    d: home,
    n: alias,
    l: "localhost",
    "%": "%",
  };
  const identityFiles: string[] = [];
  for (const e of identityEntries) {
    if (e.args[0]!.toLowerCase() === "none") continue;
    let p = expandTokens(e.args[0]!, tokens, e);
    if (p.startsWith("~/")) p = join(home, p.slice(2));
    else if (!isAbsolute(p)) p = join(home, p); // OpenSSH reads relative identity paths from the home directory
    if (!identityFiles.includes(p)) identityFiles.push(p);
  }
  const jumpEntry = first.get("proxyjump");
  let proxyJump: JumpHost[] = [];
  if (jumpEntry) {
    try {
      proxyJump = parseProxyJump(jumpEntry.args[0]!);
    } catch (e) {
      throw new SshConfigError(`${jumpEntry.file}:${jumpEntry.line}: ${(e as Error).message}`);
    }
  }
  const ct = get("connecttimeout");
  if (ct !== undefined && !/^\d+$/.test(ct) && ct.toLowerCase() !== "none") {
    throw invalid("connecttimeout", " (seconds)");
  }
  const only = (get("identitiesonly") ?? "no").toLowerCase();
  if (only !== "yes" && only !== "no") throw invalid("identitiesonly", " (yes or no)");
  const ignored = [...skipped].map(
    (at) => `${at}: skipped: the built-in parser cannot evaluate Match (with OpenSSH's ssh installed, ssh -G would)`,
  );
  for (const [k, e] of first) {
    const why = IGNORED_WITH_REASON[k];
    if (why) ignored.push(`${e.file}:${e.line}: ${e.keyword} ignored: ${why}`);
  }
  return {
    alias,
    hostname,
    hostnameFromConfig: rawHostName !== undefined,
    port,
    ...(user ? { user } : {}),
    identityFiles,
    identitiesOnly: only === "yes",
    proxyJump,
    ...(jumpEntry && proxyJump.length > 0
      ? { proxyJumpAt: `${jumpEntry.file}:${jumpEntry.line} ProxyJump ${jumpEntry.args[0]}` }
      : {}),
    ...(get("hostkeyalias") ? { hostKeyAlias: get("hostkeyalias")! } : {}),
    ...(ct && Number(ct) > 0 ? { connectTimeoutSec: Number(ct) } : {}),
    ignored,
  };
}

function expandTokens(value: string, tokens: Record<string, string>, at: SshConfigEntry): string {
  return value.replace(/%(.)/g, (_, t: string) => {
    const v = tokens[t];
    if (v === undefined) throw new SshConfigError(`${at.file}:${at.line}: unsupported token %${t} in ${at.keyword}`);
    return v;
  });
}

function safeLocalUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? "root";
  }
}

/**
 * Reads and parses a config file. A missing file is an error only when `required`; one that is not
 * (the default ~/.ssh/config) must have a safe owner and mode, as ssh requires of it.
 */
export function loadSshConfig(path: string, required: boolean): SshConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if (!required && (e as NodeJS.ErrnoException).code === "ENOENT") return { blocks: [] };
    throw new SshConfigError(`cannot read ssh config ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (!required) checkOwnerAndMode(path, statSync(path), path);
  return parseSshConfig(text, path);
}

/**
 * Follows the ProxyJump chain of `name` as ssh does (a chain's first hop is reached through its own
 * ProxyJump) and refuses a loop, naming it: connecting would recurse forever.
 */
export function checkProxyJumpLoop(name: string, resolve: (host: string) => SshHostConfig): void {
  const path = [name];
  const where: string[] = [];
  const seen = new Set([name.toLowerCase()]);
  let cfg = resolve(name);
  while (cfg.proxyJump.length > 0) {
    const next = cfg.proxyJump[0]!.host;
    path.push(next);
    where.push(cfg.proxyJumpAt ?? `ProxyJump of ${cfg.alias}`);
    if (seen.has(next.toLowerCase())) {
      throw new SshConfigError(`ProxyJump loop: ${path.join(" -> ")} (${where.join("; ")})`);
    }
    seen.add(next.toLowerCase());
    cfg = resolve(next);
  }
}
