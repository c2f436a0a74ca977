import type * as z from "zod";
import { contains, hasHostBits, isReserved, overlaps, parseCidr, type Ipv4Net } from "../net.js";
import { closest } from "../near.js";
import { formatIssue, formatPath, WARNING_IDS, type SpecIssue, type WarningId } from "./issues.js";
import { toPlainData } from "./plain.js";
import { clusterSpecSchema, type ClusterSpec } from "./schema.js";

export { formatIssue, formatPath, type SpecIssue };

/** What {@link validateSpec} finds: the resolved spec, or every error; warnings either way. */
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
  if (issue.code === "invalid_union") {
    // When the value is of the type of one option only (an override's INI fragment as an object,
    // not text), that option's own problems say where and why; "Invalid input" at the union does not.
    const typeMismatch = (errs: readonly z.core.$ZodIssue[]) =>
      errs.length === 1 && errs[0]!.code === "invalid_type" && errs[0]!.path.length === 0;
    const fitting = issue.errors.filter((errs) => !typeMismatch(errs));
    if (fitting.length === 1 && fitting[0]!.length > 0) {
      return fitting[0]!.flatMap((inner) => fromZod(input, { ...inner, path: [...path, ...inner.path] }));
    }
  }
  if (issue.code === "unrecognized_keys") {
    const known = knownKeys(path);
    return issue.keys.map((k) => {
      const near = closest(k, known);
      return {
        severity: "error" as const,
        path: formatPath([...path, k]),
        message: near ? `is not a known setting; did you mean ${near}?` : "is not a known setting",
      };
    });
  }
  if (issue.code === "invalid_key") {
    // The key is the offending value; the key schema's own message says why.
    const why = issue.issues.find((i) => /^[a-z]/.test(i.message))?.message ?? "is not a valid key";
    return [{ severity: "error", path: formatPath(path), value: path.at(-1), message: why }];
  }
  const value = get(input, path);
  if (value === undefined) return [{ severity: "error", path: formatPath(path), message: "is required" }];
  let message = issue.message;
  // Messages the schema words itself start lower-case; zod's defaults are reworded to fit "path: value message".
  if (/^[a-z]/.test(message)) return [{ severity: "error", path: formatPath(path), value, message }];
  if (issue.code === "invalid_union") message = "is none of the forms this setting takes (see ha-gen schema)";
  else if (issue.code === "invalid_type")
    message = `must be ${issue.expected === "record" ? "an object" : issue.expected}`;
  else if (issue.code === "invalid_value")
    message = `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
  else if (issue.code === "too_small")
    message =
      issue.origin === "array"
        ? `needs at least ${String(issue.minimum)} item(s)`
        : `must be at least ${String(issue.minimum)}`;
  else if (issue.code === "too_big")
    message =
      issue.origin === "array"
        ? `may have at most ${String(issue.maximum)} item(s)`
        : `must be at most ${String(issue.maximum)}`;
  const sized = issue.code === "too_small" || issue.code === "too_big";
  if (sized && issue.origin === "string") message += " characters long";
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
    const def = (cur as { _zod: { def: { type: string; shape?: Record<string, unknown>; element?: unknown } } })._zod
      .def;
    if (def.type === "array" && typeof p === "number") cur = def.element;
    else if (def.type === "object" && typeof p === "string" && def.shape?.[p]) cur = def.shape[p];
    else return [];
  }
  const def = (unwrap(cur) as { _zod: { def: { type: string; shape?: Record<string, unknown> } } })._zod.def;
  return def.type === "object" && def.shape ? Object.keys(def.shape) : [];
}

type Issues = { errors: SpecIssue[]; warnings: SpecIssue[] };
type Path = readonly PropertyKey[];

/**
 * What the cross-field rules may rely on. With structural errors they run on a repaired copy of the
 * spec (partialSpec), where broken parts were dropped or replaced by defaults: a rule must not run
 * when one of its inputs is broken, or it reports on defaults or on holes instead of on the spec.
 */
interface Soundness {
  /** Paths of broken parts: a rule reading a path at, inside or above one of them is skipped. */
  readonly broken: readonly Path[];
  /** Index in the input of each node in spec.nodes. */
  readonly positions: readonly number[];
  /** Nodes left out of spec.nodes as invalid, with their hostname and roles where those are valid. */
  readonly leftOut: readonly LeftOutNode[];
}
interface LeftOutNode {
  readonly index: number;
  readonly hostname?: string;
  readonly roles?: readonly string[];
}

const within = (a: Path, b: Path) => b.length <= a.length && b.every((seg, i) => String(seg) === String(a[i]));

/** Cross-field rules; each names the inputs it reads and runs only when those are sound. */
function semantic(spec: ClusterSpec, out: Issues, sound: Soundness): void {
  const err = (path: string, value: unknown, message: string) =>
    out.errors.push({ severity: "error", path, value, message });
  const warn = (id: WarningId, path: string, value: unknown, message: string) =>
    out.warnings.push({ severity: "warning", id, path, value, message });
  const warnNoValue = (id: WarningId, path: string, message: string) =>
    out.warnings.push({ severity: "warning", id, path, message });
  /** The inputs, as dotted paths (no indexes), are free of structural errors. */
  const ok = (...inputs: string[]) =>
    !inputs.some((input) => {
      const p = input.split(".");
      return sound.broken.some((b) => within(p, b) || within(b, p));
    });
  const nodePath = (i: number) => `nodes[${sound.positions[i] ?? i}]`;

  const nets: Record<string, Ipv4Net | undefined> = {
    management: parseCidr(spec.networks.management.cidr),
    vlan: spec.networks.vlan ? parseCidr(spec.networks.vlan.cidr) : undefined,
  };
  for (const [name, net] of Object.entries(spec.networks)) {
    if (net && ok(`networks.${name}.cidr`) && hasHostBits(net.cidr)) {
      err(`networks.${name}.cidr`, net.cidr, `has host bits set; the network is ${parseCidr(net.cidr).cidr}`);
    }
  }
  const vlan = spec.networks.vlan;
  const interfaces = ok("networks.vlan.interface", "networks.management.interface");
  if (vlan && interfaces && vlan.interface === spec.networks.management.interface) {
    err("networks.vlan.interface", vlan.interface, "is also the management interface");
  }
  // Overlapping networks make a node's source address and the VIP's route ambiguous.
  if (vlan && ok("networks.vlan.cidr", "networks.management.cidr") && overlaps(nets.vlan!, nets.management!)) {
    err("networks.vlan.cidr", vlan.cidr, `overlaps the management network ${nets.management!.cidr}`);
  }

  // Hostnames of every node whose hostname is valid, left-out nodes included, in input order.
  const named = [
    ...spec.nodes.map((n, i) => ({ index: sound.positions[i] ?? i, hostname: n.hostname })),
    ...sound.leftOut.flatMap((n) => (n.hostname === undefined ? [] : [{ index: n.index, hostname: n.hostname }])),
  ].sort((a, b) => a.index - b.index);
  const allNamed = ok("nodes") && sound.leftOut.every((n) => n.hostname !== undefined);
  // Upper case is refused by the schema, so names compare exactly (as resolveCluster does).
  const hostSeen = new Map<string, number>();
  for (const { index, hostname } of named) {
    const prev = hostSeen.get(hostname);
    if (prev !== undefined) err(`nodes[${index}].hostname`, hostname, `duplicates nodes[${prev}].hostname`);
    else hostSeen.set(hostname, index);
  }
  // Resolvers refuse names longer than 253 characters; /etc/hosts lists host.domain.
  if (spec.domain !== undefined && ok("domain")) {
    const fqdn: [string, string][] = named.map((n) => [`nodes[${n.index}].hostname`, n.hostname]);
    if (spec.vip.hostname !== undefined && ok("vip.hostname")) fqdn.push(["vip.hostname", spec.vip.hostname]);
    for (const [path, h] of fqdn) {
      if (h.length + 1 + spec.domain.length > 253) {
        err(path, h, "with the domain appended is longer than 253 characters");
      }
    }
  }

  const addrSeen = new Map<string, string>();
  const vip = spec.vip.address;
  spec.nodes.forEach((n, i) => {
    if (new Set(n.roles).size !== n.roles.length) err(`${nodePath(i)}.roles`, n.roles, "lists a role twice");
    for (const [netName, addr] of Object.entries(n.addresses)) {
      if (addr === undefined || !ok(`networks.${netName}`)) continue;
      const path = `${nodePath(i)}.addresses.${netName}`;
      const net = nets[netName];
      if (!net) {
        err(path, addr, `has no network: networks.${netName} is not defined`);
        continue;
      }
      if (!contains(net, addr)) err(path, addr, `is outside networks.${netName}.cidr ${net.cidr}`);
      else if (isReserved(net, addr)) err(path, addr, `is the network or broadcast address of ${net.cidr}`);
      if (ok("vip.address") && addr === vip) err(path, addr, "is the VIP");
      const other = addrSeen.get(addr);
      if (other) err(path, addr, `is already used by ${other}`);
      else addrSeen.set(addr, path);
    }
  });

  const mgmt = nets.management!;
  if (ok("vip.address", "networks.management.cidr")) {
    if (!contains(mgmt, vip)) err("vip.address", vip, `is outside the management network ${mgmt.cidr}`);
    else if (isReserved(mgmt, vip)) err("vip.address", vip, `is the network or broadcast address of ${mgmt.cidr}`);
  }
  const prefix = spec.vip.prefix;
  if (prefix !== undefined && ok("vip.prefix", "networks.management.cidr") && prefix !== mgmt.prefix) {
    warn(
      "vip-prefix-differs",
      "vip.prefix",
      spec.vip.prefix,
      `differs from the management network's /${mgmt.prefix}; IPaddr2 adds a route for a different subnet`,
    );
  }
  if (spec.vip.hostname !== undefined && ok("vip.hostname") && hostSeen.has(spec.vip.hostname)) {
    err("vip.hostname", spec.vip.hostname, "is also a node's hostname");
  }

  // Counting needs every node's roles.
  if (ok("nodes", "safety.allowUnsafeMemberCount") && sound.leftOut.every((n) => n.roles !== undefined)) {
    const roles = [...spec.nodes.map((n) => n.roles), ...sound.leftOut.map((n) => n.roles!)];
    const controllers = roles.filter((r) => r.includes("controller")).length;
    if (controllers === 0 && roles.length > 0) {
      const why = "(Galera, RabbitMQ, etcd, pacemaker and HAProxy run on controllers)";
      err("nodes", roles.length, `node(s) given, but none has the role controller ${why}`);
    } else if (controllers < 3 || controllers % 2 === 0) {
      const why =
        "controller(s): Galera, etcd, RabbitMQ and pacemaker need an odd number of at least 3 members " +
        "to keep quorum when one fails";
      if (spec.safety.allowUnsafeMemberCount) {
        warn("unsafe-member-count", "nodes", controllers, `${why} (allowed by safety.allowUnsafeMemberCount)`);
      } else err("nodes", controllers, `${why}; set safety.allowUnsafeMemberCount: true to accept the risk`);
    }
  }

  // Needs every node's hostname: the server may be the node whose other parts are broken.
  if (spec.ntp.server !== undefined && ok("ntp.server") && allNamed && !hostSeen.has(spec.ntp.server)) {
    err("ntp.server", spec.ntp.server, "is not the hostname of a node");
  } else if (spec.ntp.server !== undefined && ok("ntp.server") && allNamed) {
    warn(
      "ntp-server-unused",
      "ntp.server",
      spec.ntp.server,
      "is no longer used: every controller serves time (remove the setting)",
    );
  }

  // Ports bound on the VIP must not clash.
  if (ok("haproxy.services")) {
    const vipPorts = new Map<number, string>();
    if (ok("haproxy.stats.port")) vipPorts.set(spec.haproxy.stats.port, "haproxy.stats.port");
    const names = new Map<string, number>();
    const galeraCheck = ok("galera.port", "clustercheck.port");
    spec.haproxy.services.forEach((s, i) => {
      const prevName = names.get(s.name);
      const at = `haproxy.services[${i}]`;
      if (prevName !== undefined) err(`${at}.name`, s.name, `duplicates haproxy.services[${prevName}].name`);
      else names.set(s.name, i);
      const prev = vipPorts.get(s.port);
      if (prev) err(`haproxy.services[${i}].port`, s.port, `is already bound on the VIP by ${prev}`);
      else vipPorts.set(s.port, `haproxy.services[${i}]`);
      // The Galera listener's health check is clustercheck: both ports must agree.
      const checkPort = s.checkPort;
      const clustercheck = spec.clustercheck.port;
      const isGalera = (s.backendPort ?? s.port) === spec.galera.port;
      if (galeraCheck && isGalera && checkPort !== undefined && checkPort !== clustercheck) {
        const why = `differs from clustercheck.port ${clustercheck}: HAProxy would check a port nothing listens on`;
        err(`${at}.checkPort`, checkPort, why);
      }
      if (checkPort !== undefined && !s.httpCheck) {
        const why = "needs httpCheck: true (a TCP check on the check port keeps a desynced node in rotation)";
        err(`${at}.checkPort`, checkPort, why);
      }
    });
  }

  // Ports each controller listens on, on its own address (a broken one is a default, not the spec's).
  const nodePorts: [string, number][] = (
    [
      ["galera.port", spec.galera.port],
      ["clustercheck.port", spec.clustercheck.port],
      ["rabbitmq.port", spec.rabbitmq.port],
      ["rabbitmq.managementPort", spec.rabbitmq.managementPort],
      ["memcached.port", spec.memcached.port],
      ["etcd.clientPort", spec.etcd.clientPort],
      ["etcd.peerPort", spec.etcd.peerPort],
      ["haproxy.stats.port", spec.haproxy.stats.port],
    ] as [string, number][]
  ).filter(([path]) => ok(path));
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
  if (!props["stonith-enabled"] && ok("pacemaker.properties.stonith-enabled")) {
    warnNoValue(
      "stonith-disabled",
      "pacemaker.properties.stonith-enabled",
      "is false: without fencing a hung node can keep the VIP (acceptable only until a fence device is configured)",
    );
  }
  if (props["no-quorum-policy"] === "ignore" && ok("pacemaker.properties.no-quorum-policy")) {
    warn(
      "no-quorum-policy-ignore",
      "pacemaker.properties.no-quorum-policy",
      "ignore",
      `lets a partition without quorum keep running resources: split brain, two nodes holding the VIP`,
    );
  }
  if (spec.rabbitmq.ramNodes && ok("rabbitmq.ramNodes")) {
    warn(
      "rabbitmq-ram-nodes",
      "rabbitmq.ramNodes",
      true,
      "joins RAM nodes: deprecated by RabbitMQ, and a full outage loses whatever only they held",
    );
  }
  if (spec.prepare.disableSelinux === false && spec.os === "centos8" && ok("prepare.disableSelinux", "os")) {
    warnNoValue(
      "selinux-enforcing",
      "prepare.disableSelinux",
      "is false: install openstack-selinux (prepare.extraPackages) or the services will be denied",
    );
  }

  // Acknowledged warnings stay in the output files, marked; an unknown id is a mistake, not a no-op.
  if (ok("safety.acknowledge")) {
    const known: readonly string[] = WARNING_IDS;
    spec.safety.acknowledge.forEach((id, i) => {
      if (known.includes(id)) return;
      const near = closest(id, known);
      err(
        `safety.acknowledge[${i}]`,
        id,
        `is not a warning id${near ? `; did you mean ${near}?` : ""} (known: ${known.join(", ")})`,
      );
    });
    const acked = new Set(spec.safety.acknowledge);
    out.warnings.forEach((w, i) => {
      if (w.id && acked.has(w.id)) out.warnings[i] = { ...w, acknowledged: true };
    });
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

/**
 * Checks a spec as written (any value: parsed YAML, a module's default export) and reports every
 * problem at once, each with its path, the value and why. Never throws: problems are data.
 *
 * @param raw - the spec; defaults are applied to the result, never to `raw`
 * @returns `ok` with the spec every default applied, or `errors`; `warnings` in both cases
 */
export function validateSpec(raw: unknown, options: ValidateOptions = {}): ValidationResult {
  // Read the input once, as data: a cycle, a getter that throws or 50 000 levels become one issue.
  const plain = toPlainData(raw);
  if (!plain.ok) {
    return { ok: false, errors: [{ severity: "error", path: plain.path, message: plain.message }], warnings: [] };
  }
  const input = plain.value;
  const out: Issues = { errors: [], warnings: [] };
  const parsed = clusterSpecSchema.safeParse(input, { jitless: options.once === true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) out.errors.push(...fromZod(input, issue));
    // Cross-field rules still run where the parts they need are sound, so one run reports all.
    const partial = partialSpec(input, parsed.error.issues);
    if (partial) {
      const inner: Issues = { errors: [], warnings: [] };
      semantic(partial.spec, inner, partial.sound);
      const have = new Set(out.errors.map((e) => e.path));
      for (const e of inner.errors) if (!have.has(e.path)) out.errors.push(e);
      out.warnings.push(...inner.warnings);
    }
    return { ok: false, errors: out.errors, warnings: out.warnings };
  }
  semantic(parsed.data, out, { broken: [], positions: parsed.data.nodes.map((_, i) => i), leftOut: [] });
  if (out.errors.length > 0) return { ok: false, errors: out.errors, warnings: out.warnings };
  return { ok: true, spec: parsed.data, warnings: out.warnings };
}

const isRecord = (x: unknown): x is Record<PropertyKey, unknown> =>
  x !== null && typeof x === "object" && !Array.isArray(x);

/** A copy of `obj` without the value at `path` (copies only along the path). */
function without(obj: Record<string, unknown>, path: Path): Record<string, unknown> {
  const [head, ...rest] = path;
  if (typeof head !== "string" || !Object.hasOwn(obj, head)) return obj;
  const copy = { ...obj };
  if (rest.length === 0) delete copy[head];
  else if (isRecord(copy[head])) copy[head] = without(copy[head] as Record<string, unknown>, rest);
  return copy;
}

/**
 * When the spec has structural errors, a copy the cross-field rules can run on: each broken value
 * removed (a default takes its place; a broken list item takes the whole list), broken nodes left
 * out; what could not be kept is listed as broken so the rules reading it are skipped.
 */
function partialSpec(
  input: unknown,
  issues: readonly z.core.$ZodIssue[],
): { spec: ClusterSpec; sound: Soundness } | undefined {
  if (!isRecord(input)) return undefined;
  const shape = clusterSpecSchema.shape as Record<string, z.ZodType>;
  const nodeSchema = clusterSpecSchema.shape.nodes.element;
  let copy: Record<string, unknown> = {};
  for (const key of Object.keys(shape)) if (Object.hasOwn(input, key)) copy[key] = input[key];
  const broken: Path[] = [];

  const nodes = Array.isArray(input.nodes) ? (input.nodes as unknown[]) : [];
  if (!Array.isArray(input.nodes) || nodes.length === 0) broken.push(["nodes"]);
  const keep = nodes.map((n) => nodeSchema.safeParse(n).success);
  copy.nodes = nodes.filter((_, i) => keep[i]);
  const part = <T>(schema: z.ZodType<T>, n: unknown, key: string): T | undefined => {
    const r = isRecord(n) ? schema.safeParse(n[key]) : undefined;
    return r?.success ? r.data : undefined;
  };
  const leftOut = nodes.flatMap((n, index) => {
    if (keep[index]) return [];
    const hostname = part(nodeSchema.shape.hostname, n, "hostname");
    return [{ index, hostname, roles: part(nodeSchema.shape.roles, n, "roles") }];
  });

  for (const issue of issues) {
    if (issue.path[0] === "nodes") continue;
    const targets = issue.code === "unrecognized_keys" ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
    for (const target of targets) {
      // Inside a list, the whole list goes: items cannot be removed without renumbering them.
      const cut = target.findIndex((seg) => typeof seg === "number");
      const path = cut === -1 ? target : target.slice(0, cut);
      if (path.length === 0) return undefined;
      broken.push(path);
      copy = without(copy, path);
    }
  }
  const loose = clusterSpecSchema.extend({ nodes: nodeSchema.array() });
  let retry = loose.safeParse(copy);
  if (!retry.success) {
    // A required part was removed, or a section still fails as a whole: leave such sections out.
    for (const key of Object.keys(copy)) {
      if (key !== "nodes" && !shape[key]!.safeParse(copy[key]).success) {
        delete copy[key];
        broken.push([key]);
      }
    }
    retry = loose.safeParse(copy);
    if (!retry.success) return undefined;
  }
  const positions = keep.flatMap((k, i) => (k ? [i] : []));
  return { spec: retry.data, sound: { broken, positions, leftOut } };
}
