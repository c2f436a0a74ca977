import { parse as parseIni } from "ini";
import * as z from "zod";
import { CNF_MAX_BYTES, cnf, UnquotableValueError } from "../quote.js";

/**
 * The spec's `overrides`: changes to single generated files, for what the spec has no setting for
 * (kolla-ansible's /etc/kolla/config files, cdk8s's addJsonPatch, projen's addOverride). Checked
 * here as far as the spec alone allows; whether the file exists on the nodes is known only once
 * the files are generated (src/core/overrides.ts applies them and reports the rest).
 */

/** An INI value as written: a flag (`true`, the bare key), a value, several (repeated key), or null to remove it. */
export type IniValue = string | number | boolean | null | readonly (string | number)[];
/** Sections of keys, each merged key by key into the file's own section of that name. */
export type IniFragment = Readonly<Record<string, Readonly<Record<string, IniValue>>>>;

/** my.cnf option names (mysys: letters, digits, `-` and `_`, which it treats alike). */
export const INI_KEY_RE = /^[A-Za-z0-9_-]{1,128}$/;
/** Option groups: `[mysqld]`, `[galera]`, `[mariadb-10.11]`, `[client-server]`. */
export const INI_SECTION_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const MAX_TEXT_BYTES = 1 << 20;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Why `v` cannot be written into a generated file, or undefined. */
function textProblem(v: string, maxBytes: number): string | undefined {
  if (v.includes("\u0000")) return "must not contain NUL";
  if (LONE_SURROGATE.test(v)) return "must be valid Unicode text (no lone \\uD800-\\uDFFF escapes)";
  if (Buffer.byteLength(v) > maxBytes) return `is longer than ${maxBytes} bytes`;
  return undefined;
}

/** One normalized entry: the key as given, and its lines' values (`true`: the bare key; null: removed). */
export interface IniEntry {
  readonly key: string;
  readonly values: readonly (string | true)[] | null;
}
export interface IniSection {
  readonly section: string;
  readonly entries: readonly IniEntry[];
}
export interface IniProblem {
  /** Below `ini`: the section and key when known. */
  readonly path: readonly string[];
  readonly value?: unknown;
  readonly message: string;
}

/**
 * A fragment (an object, or INI text parsed with the `ini` package) as sections of entries, and
 * every problem. `ini` reads `[a.b]` as a section nested in `a`; option groups have dots
 * (`[mariadb-10.11]`), so nested sections are joined back.
 */
export function iniFragment(fragment: string | IniFragment): { sections: IniSection[]; problems: IniProblem[] } {
  const problems: IniProblem[] = [];
  let tree: Record<string, unknown>;
  const fromText = typeof fragment === "string";
  if (fromText) {
    const why = textProblem(fragment, MAX_TEXT_BYTES);
    if (why) return { sections: [], problems: [{ path: [], message: why }] };
    tree = parseIni(fragment) as Record<string, unknown>;
  } else tree = fragment as Record<string, unknown>;
  const sections: IniSection[] = [];
  const walk = (prefix: string, obj: Record<string, unknown>) => {
    const entries: IniEntry[] = [];
    let parent = false;
    for (const [key, raw] of Object.entries(obj)) {
      if (fromText && raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
        walk(prefix ? `${prefix}.${key}` : key, raw as Record<string, unknown>);
        parent = true;
        continue;
      }
      if (!prefix) {
        // ini puts keys before the first [section] at the top level: my.cnf has no such keys.
        problems.push({ path: ["", key], value: raw, message: "is outside any [section]" });
        continue;
      }
      const at = [prefix, key];
      if (!INI_KEY_RE.test(key)) {
        problems.push({ path: at, message: "is not an option name (1-128 of A-Z a-z 0-9 _ -)" });
        continue;
      }
      const entry = iniEntry(key, raw);
      if (typeof entry === "string") problems.push({ path: at, value: raw, message: entry });
      else entries.push(entry);
    }
    // `[a.b]` alone makes `a` a parent only: no group `a` was written.
    if (!prefix || (parent && entries.length === 0)) return;
    if (!INI_SECTION_RE.test(prefix)) {
      problems.push({ path: [prefix], message: "is not an option group name (1-64 of A-Z a-z 0-9 _ . -)" });
    } else sections.push({ section: prefix, entries });
  };
  if (!fromText) {
    for (const [section, keys] of Object.entries(tree)) {
      if (keys === null || typeof keys !== "object" || Array.isArray(keys)) {
        problems.push({ path: [section], value: keys, message: "must be an object of option = value" });
      } else walk(section, keys as Record<string, unknown>);
    }
  } else walk("", tree);
  if (sections.length > 64) problems.push({ path: [], message: "may have at most 64 sections" });
  return { sections, problems };
}

/** The entry for `raw`, or why it cannot be one. */
function iniEntry(key: string, raw: unknown): IniEntry | string {
  if (raw === null) return { key, values: null };
  if (raw === true) return { key, values: [true] };
  if (raw === false) {
    return "is false: an option file has no false (write OFF or 0, or null to remove the option)";
  }
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0 || list.length > 64) return "must list 1-64 values";
  const values: string[] = [];
  for (const v of list) {
    if (typeof v === "number" && Number.isFinite(v)) values.push(String(v));
    else if (typeof v === "string") {
      const why = textProblem(v, CNF_MAX_BYTES);
      if (why) return why;
      try {
        cnf(v); // the writer's own limits (the quoted length)
      } catch (e) {
        if (e instanceof UnquotableValueError)
          return e.message.replace(/^value cannot be written as a my.cnf value: /, "");
        throw e;
      }
      values.push(v);
    } else return "must be a string, a number, true (a flag), null (remove) or a list of strings and numbers";
  }
  return { key, values };
}

const nodePathRe = /^(\/[^/\0]+)+$/;

const iniValue = z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.union([z.string(), z.number()]))]);

/** One entry of the spec's `overrides`. */
export const artifactOverrideSchema = z
  .strictObject({
    path: z
      .string()
      .regex(nodePathRe, { error: "is not an absolute path" })
      .refine((p) => !p.split("/").some((s) => s === "." || s === ".."), {
        error: "must not contain . or .. segments",
      })
      .meta({ description: "Absolute path of a file ha-gen generates, as on the node." }),
    nodes: z
      .array(z.string())
      .min(1, { error: "needs at least one node (leave it out for every node that has the file)" })
      .optional()
      .meta({ description: "Hostnames of the nodes whose file changes; default: every node that has it." }),
    ini: z
      .union([z.string(), z.record(z.string(), z.record(z.string(), iniValue))])
      .optional()
      .meta({
        description:
          "INI files only (the MariaDB option files): sections of options merged key by key into the file " +
          "(null removes an option, true writes a bare flag, a list repeats it), or the same as INI text.",
      }),
    append: z
      .string()
      .optional()
      .meta({ description: "Text added at the end of the file, after a comment naming this override." }),
    replace: z
      .string()
      .optional()
      .meta({ description: "The whole new content of the file; ha-gen's marker line stays on top." }),
  })
  .superRefine((o, ctx) => {
    const kinds = (["ini", "append", "replace"] as const).filter((k) => o[k] !== undefined);
    if (kinds.length === 0) {
      ctx.addIssue({ code: "custom", path: [], input: o, message: "needs one of ini, append or replace" });
    }
    // Reported at each change after the first: that is the one to move into an override of its own.
    for (const k of kinds.slice(1)) {
      const message = `is given with ${kinds[0]}: one override makes one change (use another override for this one)`;
      ctx.addIssue({ code: "custom", path: [k], input: o[k], message });
    }
    for (const k of ["append", "replace"] as const) {
      const v = o[k];
      const why = v === undefined ? undefined : textProblem(v, MAX_TEXT_BYTES);
      if (why) ctx.addIssue({ code: "custom", path: [k], input: v, message: why });
    }
    if (o.ini !== undefined) {
      for (const p of iniFragment(o.ini).problems) {
        const path = typeof o.ini === "string" ? ["ini"] : ["ini", ...p.path];
        const [section, key] = p.path;
        const where =
          typeof o.ini !== "string" || section === undefined
            ? ""
            : `at ${section ? `[${section}]` : ""}${section && key ? " " : ""}${key ?? ""}: `;
        ctx.addIssue({ code: "custom", path, input: p.value ?? o.ini, message: `${where}${p.message}` });
      }
    }
  });

export const overridesSchema = z
  .array(artifactOverrideSchema)
  .max(256)
  .default([])
  .meta({
    description:
      "Changes to single generated files, applied in order after generation: an INI merge, an append or a " +
      "whole-file replacement. Listed in PLAN.md and plan.json. Default: [] (none).",
  });

/** One override as written in a spec. */
export type ArtifactOverride = z.input<typeof artifactOverrideSchema>;
