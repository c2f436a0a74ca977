import { MARKER, type AppliedOverride, type Artifact } from "./artifact.js";
import { cnf } from "./quote.js";
import { formatPath, type SpecIssue } from "./spec/issues.js";
import { iniFragment, type ArtifactOverride, type IniSection } from "./spec/overrides.js";
import { closest } from "./near.js";

/**
 * Applies the spec's `overrides` to the generated files, in the order written. Pure. A file keeps
 * its owner, group, mode and secret flag whatever an override does: a secret file stays 0600 (or
 * 0640 with its group), so no override can make a secret world-readable. Every problem (a path no
 * selected node has, an unknown node, an INI merge into a file that is not INI) is reported at
 * once, with its spec path, value and a did-you-mean.
 */
export function applyOverrides(
  artifacts: readonly Artifact[],
  overrides: readonly ArtifactOverride[],
  nodes: readonly string[],
): { artifacts: Artifact[]; applied: AppliedOverride[]; issues: SpecIssue[] } {
  const out = [...artifacts];
  const at = new Map(out.map((a, i) => [`${a.node}\0${a.path}`, i]));
  const applied: AppliedOverride[] = [];
  const issues: SpecIssue[] = [];
  const err = (path: string, value: unknown, message: string) =>
    issues.push({ severity: "error", path, value, message });
  const pathsOn = (names: readonly string[]) => [
    ...new Set(artifacts.filter((a) => names.includes(a.node)).map((a) => a.path)),
  ];

  overrides.forEach((o, index) => {
    const where = `overrides[${index}]`;
    const named = o.nodes ?? [];
    const unknown = named.filter((n) => !nodes.includes(n));
    for (const n of unknown) {
      const near = closest(n, nodes);
      err(`${where}.nodes[${named.indexOf(n)}]`, n, `is not a node${near ? `; did you mean ${near}?` : ""}`);
    }
    if (unknown.length > 0) return;
    const holders = nodes.filter((n) => at.has(`${n}\0${o.path}`));
    const targets = o.nodes ? [...new Set(named)] : holders; // a node named twice changes once
    if (holders.length === 0 || targets.every((n) => !holders.includes(n))) {
      const near = closest(o.path, pathsOn(o.nodes ? named : nodes));
      const on = o.nodes ? ` on ${named.join(", ")}` : "";
      const also = holders.length > 0 ? ` (it is on ${holders.join(", ")})` : "";
      err(
        `${where}.path`,
        o.path,
        `is not a file ha-gen generates${on}${also}${near ? `; did you mean ${near}?` : ""}`,
      );
      return;
    }
    let bad = false;
    named.forEach((n, i) => {
      if (holders.includes(n)) return;
      err(`${where}.nodes[${i}]`, n, `has no ${o.path} (ha-gen writes it on ${holders.join(", ")})`);
      bad = true;
    });
    if (bad) return;
    const files = targets.map((n) => at.get(`${n}\0${o.path}`)!);
    if (o.ini !== undefined && files.some((i) => out[i]!.format !== "ini")) {
      err(`${where}.ini`, o.path, "is not an INI file: merge key by key only into INI files; use append or replace");
      bad = true;
    }
    if (bad) return;

    const note = `overridden by the spec: overrides[${index}]`;
    let entry: AppliedOverride;
    if (o.ini !== undefined) {
      const { sections } = iniFragment(o.ini);
      const keys = (removed: boolean) =>
        sections.flatMap((s) =>
          s.entries.filter((e) => (e.values === null) === removed).map((e) => `${s.section}.${e.key}`),
        );
      const shadowed = new Map<string, Shadowed>();
      for (const i of files) {
        const merged = mergeIni(out[i]!.content, sections, note);
        out[i] = { ...out[i]!, content: merged.content };
        for (const x of merged.shadowed) shadowed.set(`${x.section}\0${x.key}`, x);
      }
      for (const x of shadowed.values()) {
        const path =
          typeof o.ini === "string" ? `${where}.ini` : formatPath(["overrides", index, "ini", x.section, x.key]);
        const why =
          `is set again later in [${x.by}] of ${o.path}, which mariadbd also reads (the last line wins): ` +
          `set it in [${x.by}] instead`;
        err(path, `[${x.section}] ${x.key}`, why);
      }
      if (shadowed.size > 0) return;
      const set = keys(false);
      const removed = keys(true);
      entry = { index, path: o.path, nodes: targets, kind: "ini", ...(set.length ? { set } : {}) };
      if (removed.length > 0) entry = { ...entry, removed };
    } else {
      const kind = o.append !== undefined ? "append" : "replace";
      const text = (o.append ?? o.replace)!;
      for (const i of files) {
        const a = out[i]!;
        out[i] = {
          ...a,
          content: kind === "append" ? appendText(a.content, text, note) : replaceText(a.content, text, note),
        };
      }
      entry = { index, path: o.path, nodes: targets, kind, lines: withNewline(text).split("\n").length - 1 };
    }
    applied.push(entry);
  });
  return { artifacts: out, applied, issues };
}

const withNewline = (t: string) => (t === "" || t.endsWith("\n") ? t : `${t}\n`);

/**
 * The marker line's comment syntax (`# ` before it, ` -->` after it, ...), so a note reads as a
 * comment in the file's own format; none when the file has no marker line near the top (then
 * nothing is added that the format might not read as a comment).
 */
function commentLike(content: string): ((text: string) => string) | undefined {
  const line = content.split("\n", 4).find((l) => l.includes(MARKER));
  if (!line) return undefined;
  const [before, after] = [line.slice(0, line.indexOf(MARKER)), line.slice(line.indexOf(MARKER) + MARKER.length)];
  return before.trim() === "" ? undefined : (text) => `${before}${text}${after}`;
}

function appendText(content: string, text: string, note: string): string {
  const comment = commentLike(content);
  return withNewline(content) + (comment ? `${comment(`${note} (append)`)}\n` : "") + withNewline(text);
}

/** The spec's text under the generated header (the lines up to the marker), so the marker stays. */
function replaceText(content: string, text: string, note: string): string {
  const lines = content.split("\n");
  const marker = lines.slice(0, 4).findIndex((l) => l.includes(MARKER));
  const comment = commentLike(content);
  if (marker < 0 || !comment) return withNewline(text);
  return `${lines.slice(0, marker + 1).join("\n")}\n${comment(`${note} (replace)`)}\n${withNewline(text)}`;
}

/** mysys treats `-` and `_` in option names alike. */
const optionName = (k: string) => k.replaceAll("-", "_");

interface Line {
  text: string;
  /** The option group the line is in (undefined before the first). */
  readonly section: string | undefined;
  /** The option it sets, normalized (undefined for comments, blanks, headers). */
  readonly option?: string;
  removed?: boolean;
}

/**
 * Merges `sections` into the option file `content` key by key: an option the file sets is changed
 * where it stands (its later repetitions in that group removed: mysys keeps the last), a new one is
 * added at the end of its group, a new group at the end of the file; null removes the option.
 * Values go through the my.cnf quoting (`cnf`); comments and the marker stay. Each line written
 * is preceded by a comment naming the override.
 */
export function mergeIni(
  content: string,
  sections: readonly IniSection[],
  note: string,
): { content: string; shadowed: Shadowed[] } {
  let section: string | undefined;
  let lines: Line[] = content.split("\n").map((text) => {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(text);
    if (header) section = header[1]!.trim();
    const key = header ? undefined : /^\s*([A-Za-z0-9_-]+)\s*(?:=|$)/.exec(text)?.[1];
    return { text, section, ...(key ? { option: optionName(key) } : {}) };
  });
  if (lines.at(-1)?.text === "") lines.pop();
  const comment = `# ${note}`;
  const written = (key: string, values: readonly (string | true)[], s: string): Line[] => [
    { text: comment, section: s },
    ...values.map((v) => ({ text: v === true ? key : `${key} = ${cnf(v)}`, section: s, option: optionName(key) })),
  ];
  for (const s of sections) {
    if (!lines.some((l) => l.section === s.section)) {
      lines.push({ text: "", section: s.section }, { text: `[${s.section}]`, section: s.section });
    }
    for (const e of s.entries) {
      const here = lines.filter((l) => l.section === s.section && l.option === optionName(e.key) && !l.removed);
      for (const l of here) l.removed = true;
      if (e.values === null) continue;
      const first = here[0];
      let pos = first ? lines.indexOf(first) : -1;
      // Else after the group's last line that is not blank: the group's own options end there.
      for (let i = lines.length - 1; pos < 0 && i >= 0; i--) {
        const l = lines[i]!;
        if (l.section === s.section && l.text.trim() !== "" && !l.removed) pos = i + 1;
      }
      lines.splice(pos, 0, ...written(e.key, e.values, s.section));
    }
  }
  lines = lines.filter((l) => !l.removed);
  const shadowed: Shadowed[] = [];
  for (const s of sections) {
    if (!SERVER_GROUP.test(s.section)) continue;
    for (const e of s.entries) {
      if (e.values === null) continue;
      const option = optionName(e.key);
      const mine = lines.findIndex((l) => l.section === s.section && l.option === option);
      const later = lines.find(
        (l, i) => i > mine && l.option === option && l.section !== s.section && SERVER_GROUP.test(l.section ?? ""),
      );
      if (later) shadowed.push({ section: s.section, key: e.key, by: later.section! });
    }
  }
  // A note right above another of the same override's notes says nothing more.
  lines = lines.filter((l, i) => !(l.text === comment && lines[i - 2]?.text === comment && lines[i - 1]?.option));
  return { content: `${lines.map((l) => l.text).join("\n")}\n`, shadowed };
}

/** An option set in one group that a later group of the same file sets again for the same program. */
export interface Shadowed {
  readonly section: string;
  readonly key: string;
  readonly by: string;
}

/** Option groups mariadbd reads (version-suffixed ones too): the last line of an option in any of them wins. */
const SERVER_GROUP = /^(?:mysqld|server|galera|mariadb|mariadbd)(?:-[0-9.]+)?$/;
