import type * as z from "zod";
import { clusterSpecSchema } from "../../src/core/spec/schema.js";
import { formatPath } from "../../src/core/spec/issues.js";
import { EXAMPLES } from "./examples.js";

/**
 * Every field of the spec schema that accepts a string, found by walking the zod schema itself so
 * that a field added later is covered without anyone listing it.
 */
export interface StringField {
  /** Where the value goes; `ANY_KEY` stands for "the first key of this record". */
  readonly path: readonly (string | number | typeof ANY_KEY)[];
  /** The field is a record's key (the value is used as a key, not stored under one). */
  readonly isKey: boolean;
  /** The path as validation messages spell it (with the base spec's key for record entries). */
  readonly name: string;
}

export const ANY_KEY = Symbol("any key of a record");
type Def = { type: string; [k: string]: unknown };
const defOf = (t: unknown): Def => (t as { _zod: { def: Def } })._zod.def;

export function stringFields(schema: z.ZodType = clusterSpecSchema): StringField[] {
  const out: { path: StringField["path"]; isKey: boolean }[] = [];
  const acceptsString = (t: unknown): boolean => {
    const d = defOf(t);
    if (["optional", "default", "prefault", "nullable"].includes(d.type)) return acceptsString(d.innerType);
    if (d.type === "union") return (d.options as unknown[]).some(acceptsString);
    if (d.type === "literal") return (d.values as unknown[]).some((v) => typeof v === "string");
    return d.type === "string" || d.type === "enum";
  };
  const walk = (t: unknown, path: StringField["path"]): void => {
    const d = defOf(t);
    switch (d.type) {
      case "optional":
      case "default":
      case "prefault":
      case "nullable":
        walk(d.innerType, path);
        return;
      case "object":
        for (const [k, v] of Object.entries(d.shape as Record<string, unknown>)) walk(v, [...path, k]);
        return;
      case "array":
        walk(d.element, [...path, 0]);
        return;
      case "record":
        if (acceptsString(d.keyType)) out.push({ path, isKey: true });
        walk(d.valueType, [...path, ANY_KEY]);
        return;
      case "union": {
        const scalar = ["string", "enum", "literal", "number", "boolean", "null"];
        for (const o of d.options as unknown[]) {
          const od = defOf(o);
          if (scalar.includes(od.type)) continue;
          // Object options (an override's INI fragment as sections) are walked at the same place.
          if (od.type === "record" || od.type === "object") walk(o, path);
          // A list of the same scalars as a string option beside it (an INI option repeated): its
          // items are checked as that option is, and fullSpec cannot hold both at one place.
          else if (od.type === "array" && acceptsString(t) && defOf(od.element).type === "union") continue;
          else throw new Error(`stringFields: union option ${od.type} at ${String(path.join("."))}: teach the walker`);
        }
        if (acceptsString(t)) out.push({ path, isKey: false });
        return;
      }
      case "string":
      case "enum":
        out.push({ path, isKey: false });
        return;
      case "literal":
        if (acceptsString(t)) out.push({ path, isKey: false });
        return;
      case "number":
      case "boolean":
        return;
      default:
        // A construct the walker does not know (pipe, transform, lazy, tuple...) must not hide fields.
        throw new Error(`stringFields: unknown zod type ${d.type} at ${String(path.join("."))}: teach the walker`);
    }
  };
  walk(schema, []);
  return out.map((f) => {
    const shown = formatPath(f.path.map((p) => (p === ANY_KEY ? "<key>" : p)));
    return { ...f, name: shown + (f.isKey ? "{key}" : "") };
  });
}

/**
 * A valid spec in which every string field is present (optional ones included) with a valid value,
 * so a hostile value can be put into any one of them. Node 0 is not the NTP server, so renaming it
 * is judged on its own.
 */
export function fullSpec(): Record<string, any> {
  const s = structuredClone(EXAMPLES["train-ha"]) as Record<string, any>;
  s.domain = "cluster.example.org";
  s.vip.hostname = "openstack-vip";
  s.ntp.server = "controller02";
  s.prepare = { extraPackages: ["vim-enhanced"] };
  s.safety = { acknowledge: ["stonith-disabled"] };
  s.rabbitmq = { tags: ["administrator"], policy: { definition: { "ha-mode": "all" } } };
  s.haproxy = {
    services: [
      {
        name: "dashboard_cluster",
        port: 80,
        httpCheck: true,
        timeoutClient: "1m",
        timeoutServer: "1m",
        timeoutTunnel: "1h",
        check: { inter: "2s" },
      },
      { name: "galera_cluster", port: 3306, mode: "tcp", httpCheck: true, checkPort: 9200, activeBackup: true },
    ],
  };
  // An INI file every controller has on both targets (the check alternates centos8 and debian12).
  s.overrides = [{ path: "/root/.my.cnf", nodes: ["controller02"], ini: { client: { connect_timeout: "5" } } }];
  return s;
}

/**
 * Valid values of fields fullSpec cannot hold at once with the others: an override makes one
 * change (ini as an object there, as text here; append; replace).
 */
export const ALTERNATIVE_VALUES: Readonly<Record<string, string>> = {
  "overrides[0].ini": "[client]\nconnect_timeout = 5\n",
  "overrides[0].append": "# appended\n",
  "overrides[0].replace": "[client]\nconnect_timeout = 5\n",
};

/**
 * Put `value` into `spec` at `field`: objects on the way are created (optional sections), arrays
 * and records must already be in the spec (fullSpec), or this throws.
 */
export function setField(spec: Record<string, any>, field: StringField, value: string): void {
  let cur: any = spec;
  const path = field.path;
  for (let i = 0; i < path.length; i++) {
    let seg = path[i]!;
    if (seg === ANY_KEY) {
      const keys = Object.keys(cur);
      if (keys.length === 0) throw new Error(`fullSpec has an empty record at ${field.name}`);
      seg = keys[0]!;
    }
    const last = i === path.length - 1;
    if (last && !field.isKey) {
      cur[seg] = value;
      // One override makes one change: the hostile text replaces the others, so it is judged alone.
      if (path[0] === "overrides" && i === 2 && ["ini", "append", "replace"].includes(String(seg))) {
        for (const k of ["ini", "append", "replace"]) if (k !== seg) delete cur[k];
      }
      return;
    }
    if (cur[seg] === undefined) {
      if (typeof path[i + 1] === "number" || path[i + 1] === ANY_KEY) throw new Error(`fullSpec lacks ${field.name}`);
      cur[seg] = {};
    }
    cur = cur[seg];
  }
  if (field.isKey) {
    const keys = Object.keys(cur);
    if (keys.length === 0) throw new Error(`fullSpec has an empty record at ${field.name}`);
    const v = cur[keys[0]!];
    delete cur[keys[0]!];
    // defineProperty: a key named __proto__ must become data, as YAML and JSON.parse make it.
    Object.defineProperty(cur, value, { value: v, enumerable: true, writable: true, configurable: true });
  }
}

/** The path validation messages use for `field` once set in `spec` (the real record key). */
export function issuePath(spec: Record<string, any>, field: StringField): string {
  const real: (string | number)[] = [];
  let cur: any = spec;
  for (const seg of field.path) {
    const s = seg === ANY_KEY ? Object.keys(cur)[0]! : seg;
    real.push(s);
    cur = cur?.[s];
  }
  return formatPath(real);
}

/** The value at `field` in `spec` (the first key's entry for record paths). */
export function getField(spec: Record<string, any>, field: StringField): unknown {
  let cur: any = spec;
  for (const seg of field.path) cur = cur?.[seg === ANY_KEY ? Object.keys(cur)[0]! : seg];
  return cur;
}
