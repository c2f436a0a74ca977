import type * as z from "zod";
import { contains, hasHostBits, isReserved, parseCidr, type Ipv4Net } from "../net.js";
import { formatIssue, formatPath, type SpecIssue } from "./issues.js";
import { clusterSpecSchema, type ClusterSpec } from "./schema.js";

export { formatIssue, formatPath, type SpecIssue };

export type ValidationResult =
  | { readonly ok: true; readonly spec: ClusterSpec; readonly warnings: readonly SpecIssue[] }
  | { readonly ok: false; readonly errors: readonly SpecIssue[]; readonly warnings: readonly SpecIssue[] };

function get(obj: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

function fromZod(input: unknown, issue: z.core.$ZodIssue): SpecIssue[] {
  const path = issue.path as PropertyKey[];
  if (issue.code === "unrecognized_keys") {
    const known = knownKeys(path);
    return issue.keys.map((k) => {
      const near = closest(k, known);
      return { severity: "error" as const, path: formatPath([...path, k]), message: near ? `is not a known setting; did you mean ${near}?` : "is not a known setting" };
    });
  }
  const value = get(input, path);
  if (value === undefined) return [{ severity: "error", path: formatPath(path), message: "is required" }];
  let message = issue.message;
  // Messages the schema words itself start lower-case; zod's defaults are reworded to fit "path: value message".
  if (/^[a-z]/.test(message)) return [{ severity: "error", path: formatPath(path), value, message }];
  if (issue.code === "invalid_type") message = `must be ${issue.expected}`;
  else if (issue.code === "invalid_value") message = `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
  else if (issue.code === "too_small") message = issue.origin === "array" ? `needs at least ${String(issue.minimum)} item(s)` : `must be at least ${String(issue.minimum)}`;
  else if (issue.code === "too_big") message = issue.origin === "array" ? `may have at most ${String(issue.maximum)} item(s)` : `must be at most ${String(issue.maximum)}`;
  return [{ severity: "error", path: formatPath(path), value, message }];
}

/** Keys the schema accepts at `path`, for "did you mean" hints. */
function knownKeys(path: readonly PropertyKey[]): string[] {
  let cur: unknown = clusterSpecSchema;
  const unwrap = (t: unknown): unknown => {
    // Defaults, prefaults and optionals wrap the object schema we want.
    let x = t as { _zod?: { def?: { innerType?: unknown } } };
    while (x?._zod?.def?.innerType) x = x._zod.def.innerType as typeof x;
    return x;
  };
  for (const p of path) {
    cur = unwrap(cur);
    const def = (cur as { _zod: { def: { type: string; shape?: Record<string, unknown>; element?: unknown } } })._zod.def;
    if (def.type === "array" && typeof p === "number") cur = def.element;
    else if (def.type === "object" && typeof p === "string" && def.shape?.[p]) cur = def.shape[p];
    else return [];
  }
  const def = (unwrap(cur) as { _zod: { def: { type: string; shape?: Record<string, unknown> } } })._zod.def;
  return def.type === "object" && def.shape ? Object.keys(def.shape) : [];
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const limit = Math.max(2, Math.floor(key.length / 3));
  for (const k of known) {
    // The distance is at least the length difference: skip the O(n·m) table (a 5 MB key would need 5M rows).
    if (Math.abs(key.length - k.length) > limit) continue;
    const dd = distance(key.toLowerCase(), k.toLowerCase());
    if (dd < bestD) [best, bestD] = [k, dd];
  }
  return bestD <= limit ? best : undefined;
}

type Issues = { errors: SpecIssue[]; warnings: SpecIssue[] };

/** Cross-field rules on a structurally valid spec. */
function semantic(spec: ClusterSpec, out: Issues): void {
  const err = (path: string, value: unknown, message: string) => out.errors.push({ severity: "error", path, value, message });
  const warn = (path: string, value: unknown, message: string) => out.warnings.push({ severity: "warning", path, value, message });
  const warnNoValue = (path: string, message: string) => out.warnings.push({ severity: "warning", path, message });

  const nets: Record<string, Ipv4Net | undefined> = {
    management: parseCidr(spec.networks.management.cidr),
    vlan: spec.networks.vlan ? parseCidr(spec.networks.vlan.cidr) : undefined,
  };
  for (const [name, net] of Object.entries(spec.networks)) {
    if (net && hasHostBits(net.cidr)) {
      err(`networks.${name}.cidr`, net.cidr, `has host bits set; the network is ${parseCidr(net.cidr).cidr}`);
    }
  }
  if (spec.networks.vlan && spec.networks.vlan.interface === spec.networks.management.interface) {
    err("networks.vlan.interface", spec.networks.vlan.interface, "is also the management interface");
  }

  const hostSeen = new Map<string, number>();
  const addrSeen = new Map<string, string>();
  const vip = spec.vip.address;
  spec.nodes.forEach((n, i) => {
    const key = n.hostname.toLowerCase();
    const prev = hostSeen.get(key);
    if (prev !== undefined) err(`nodes[${i}].hostname`, n.hostname, `duplicates nodes[${prev}].hostname`);
    else hostSeen.set(key, i);
    if (new Set(n.roles).size !== n.roles.length) err(`nodes[${i}].roles`, n.roles, "lists a role twice");
    for (const [netName, addr] of Object.entries(n.addresses)) {
      if (addr === undefined) continue;
      const path = `nodes[${i}].addresses.${netName}`;
      const net = nets[netName];
      if (!net) {
        err(path, addr, `has no network: networks.${netName} is not defined`);
        continue;
      }
      if (!contains(net, addr)) err(path, addr, `is outside networks.${netName}.cidr ${net.cidr}`);
      else if (isReserved(net, addr)) err(path, addr, `is the network or broadcast address of ${net.cidr}`);
      if (addr === vip) err(path, addr, "is the VIP");
      const other = addrSeen.get(addr);
      if (other) err(path, addr, `is already used by ${other}`);
      else addrSeen.set(addr, path);
    }
  });

  const mgmt = nets.management!;
  if (!contains(mgmt, vip)) err("vip.address", vip, `is outside the management network ${mgmt.cidr}`);
  else if (isReserved(mgmt, vip)) err("vip.address", vip, `is the network or broadcast address of ${mgmt.cidr}`);
  if (spec.vip.prefix !== undefined && spec.vip.prefix !== mgmt.prefix) {
    warn("vip.prefix", spec.vip.prefix, `differs from the management network's /${mgmt.prefix}; IPaddr2 adds a route for a different subnet`);
  }
  if (spec.vip.hostname && hostSeen.has(spec.vip.hostname.toLowerCase())) {
    err("vip.hostname", spec.vip.hostname, "is also a node's hostname");
  }

  const controllers = spec.nodes.filter((n) => n.roles.includes("controller"));
  if (controllers.length === 0 && spec.nodes.length > 0) {
    err("nodes", spec.nodes.length, "node(s) given, but none has the role controller (Galera, RabbitMQ, etcd, pacemaker and HAProxy run on controllers)");
  } else if (controllers.length < 3 || controllers.length % 2 === 0) {
    const why = `controller(s): Galera, etcd, RabbitMQ and pacemaker need an odd number of at least 3 members to keep quorum when one fails`;
    if (spec.safety.allowUnsafeMemberCount) warn("nodes", controllers.length, `${why} (allowed by safety.allowUnsafeMemberCount)`);
    else err("nodes", controllers.length, `${why}; set safety.allowUnsafeMemberCount: true to accept the risk`);
  }

  if (spec.ntp.server !== undefined && !hostSeen.has(spec.ntp.server.toLowerCase())) {
    err("ntp.server", spec.ntp.server, "is not the hostname of a node");
  }

  // Ports bound on the VIP must not clash.
  const vipPorts = new Map<number, string>([[spec.haproxy.stats.port, "haproxy.stats.port"]]);
  const names = new Map<string, number>();
  spec.haproxy.services.forEach((s, i) => {
    const prevName = names.get(s.name);
    if (prevName !== undefined) err(`haproxy.services[${i}].name`, s.name, `duplicates haproxy.services[${prevName}].name`);
    else names.set(s.name, i);
    const prev = vipPorts.get(s.port);
    if (prev) err(`haproxy.services[${i}].port`, s.port, `is already bound on the VIP by ${prev}`);
    else vipPorts.set(s.port, `haproxy.services[${i}]`);
    // The Galera listener's health check is clustercheck: both ports must agree.
    if ((s.backendPort ?? s.port) === spec.galera.port && s.checkPort !== undefined && s.checkPort !== spec.clustercheck.port) {
      err(`haproxy.services[${i}].checkPort`, s.checkPort, `differs from clustercheck.port ${spec.clustercheck.port}: HAProxy would check a port nothing listens on`);
    }
    if (s.checkPort !== undefined && !s.httpCheck) {
      err(`haproxy.services[${i}].checkPort`, s.checkPort, "needs httpCheck: true (a TCP check on the check port keeps a desynced node in rotation)");
    }
  });

  // Ports each controller listens on, on its own address.
  const nodePorts: [string, number][] = [
    ["galera.port", spec.galera.port],
    ["clustercheck.port", spec.clustercheck.port],
    ["rabbitmq.port", spec.rabbitmq.port],
    ["rabbitmq.managementPort", spec.rabbitmq.managementPort],
    ["memcached.port", spec.memcached.port],
    ["etcd.clientPort", spec.etcd.clientPort],
    ["etcd.peerPort", spec.etcd.peerPort],
    ["haproxy.stats.port", spec.haproxy.stats.port],
  ];
  const seenPort = new Map<number, string>();
  for (const [path, p] of nodePorts) {
    const prev = seenPort.get(p);
    if (prev) err(path, p, `is also ${prev}`);
    else seenPort.set(p, path);
  }
  for (const fixed of [4444, 4567, 4568, 25672, 4369, 2224, 5405]) {
    const clash = seenPort.get(fixed);
    if (clash) err(clash, fixed, "is reserved for Galera/Erlang/pcsd/corosync cluster traffic");
  }

  const props = spec.pacemaker.properties;
  if (!props["stonith-enabled"]) {
    warnNoValue("pacemaker.properties.stonith-enabled", "is false: without fencing a hung node can keep the VIP (acceptable only until a fence device is configured)");
  }
  if (props["no-quorum-policy"] === "ignore") {
    warn("pacemaker.properties.no-quorum-policy", "ignore", `lets a partition without quorum keep running resources: split brain, two nodes holding the VIP`);
  }
  if (spec.rabbitmq.ramNodes) {
    warn("rabbitmq.ramNodes", true, "joins RAM nodes: deprecated by RabbitMQ, and a full outage loses whatever only they held");
  }
  if (spec.prepare.disableSelinux === false && spec.os === "centos8") {
    warnNoValue("prepare.disableSelinux", "is false: install openstack-selinux (prepare.extraPackages) or the services will be denied");
  }
}

/**
 * Validates a spec as users wrote it and returns every problem at once: structural ones from the
 * schema, then cross-field ones. Never throws for bad input.
 */
export interface ValidateOptions {
  /**
   * The process validates one spec and exits (the CLI): skip zod's compiled fast path, whose
   * one-time code generation costs more than it saves on a single parse.
   */
  readonly once?: boolean;
}

export function validateSpec(input: unknown, options: ValidateOptions = {}): ValidationResult {
  const out: Issues = { errors: [], warnings: [] };
  const parsed = clusterSpecSchema.safeParse(input, { jitless: options.once === true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) out.errors.push(...fromZod(input, issue));
    // Cross-field rules still run where the parts they need are sound, so one run reports all.
    const partial = partialSemantic(input);
    if (partial) semanticInto(partial, out);
    return { ok: false, errors: out.errors, warnings: out.warnings };
  }
  semantic(parsed.data, out);
  if (out.errors.length > 0) return { ok: false, errors: out.errors, warnings: out.warnings };
  return { ok: true, spec: parsed.data, warnings: out.warnings };
}

/**
 * When the spec has structural errors, re-parse it with the broken parts dropped (unknown keys
 * removed, broken nodes/services skipped) so cross-field rules can still report on the rest.
 */
interface PartialSpec {
  readonly spec: ClusterSpec;
  /** Original index of each node kept in `spec.nodes`. */
  readonly positions: readonly number[];
  /** Some nodes were left out, so counting rules would miscount. */
  readonly dropped: boolean;
}

function partialSemantic(input: unknown): PartialSpec | undefined {
  if (input === null || typeof input !== "object") return undefined;
  const loose = clusterSpecSchema;
  const src = input as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(loose.shape)) if (key in src) copy[key] = src[key];
  const nodes = Array.isArray(src.nodes) ? src.nodes : [];
  const nodeSchema = loose.shape.nodes.element;
  // Keep indexes stable for messages: replace a broken node by a placeholder that is skipped.
  const keep = nodes.map((n) => nodeSchema.safeParse(n).success);
  copy.nodes = nodes.filter((_, i) => keep[i]);
  for (const key of Object.keys(copy)) {
    if (key === "nodes") continue;
    const field = (loose.shape as Record<string, z.ZodType>)[key]!;
    if (!field.safeParse(copy[key]).success) delete copy[key];
  }
  // An empty node list is already reported; the other rules can still run without nodes.
  const retry = clusterSpecSchema.extend({ nodes: loose.shape.nodes.element.array() }).safeParse(copy);
  if (!retry.success) return undefined;
  // Re-map node indexes to the original positions.
  const positions = keep.flatMap((ok, i) => (ok ? [i] : []));
  return { spec: retry.data, positions, dropped: keep.some((k) => !k) };
}

function semanticInto({ spec, positions, dropped }: PartialSpec, out: Issues): void {
  const inner: Issues = { errors: [], warnings: [] };
  semantic(spec, inner);
  const fix = (s: string) => s.replace(/nodes\[(\d+)\]/g, (_, n: string) => `nodes[${positions[Number(n)] ?? n}]`);
  const remap = (i: SpecIssue): SpecIssue => ({ ...i, path: fix(i.path), message: fix(i.message) });
  const have = new Set(out.errors.map((e) => e.path));
  // Counting rules are meaningless when broken nodes were left out of this pass.
  for (const e of inner.errors.map(remap)) if (!have.has(e.path) && !(dropped && e.path === "nodes")) out.errors.push(e);
  out.warnings.push(...inner.warnings.map(remap));
}
