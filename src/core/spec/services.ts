import { InputError } from "../errors.js";
import type { HaproxyServiceInput } from "./schema.js";
import { closest } from "../near.js";

const deepFreeze = <T>(v: T): T => {
  if (v && typeof v === "object") {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
};

/**
 * The 11 HAProxy services of the guide, as `haproxy.services` defaults to them: the starting point
 * for {@link withServices}. Frozen: derive a new list instead of editing this one.
 *
 * @example
 * ```ts
 * import { defaultServices, defineCluster, withServices } from "ha-gen";
 * export default defineCluster({
 *   // ...
 *   haproxy: { services: withServices(defaultServices, { remove: ["nova_vncproxy_cluster"] }) },
 * });
 * ```
 */
export const defaultServices: readonly Readonly<HaproxyServiceInput>[] = deepFreeze<HaproxyServiceInput[]>([
  { name: "dashboard_cluster", port: 80, httpCheck: true },
  // 90m (TripleO): longer than oslo.db's connection_recycle_time (3600 s), so HAProxy never cuts a
  // pooled connection before the service recycles it; the guide's 1m defaults did.
  {
    name: "galera_cluster",
    port: 3306,
    mode: "tcp",
    httpCheck: true,
    checkPort: 9200,
    activeBackup: true,
    tcpKeepalive: true,
    timeoutClient: "90m",
    timeoutServer: "90m",
    check: { inter: "1s", rise: 2, fall: 2 },
  },
  {
    name: "rabbitmq_cluster",
    port: 5673,
    backendPort: 5672,
    mode: "tcp",
    balance: "roundrobin",
    timeoutClient: "3h",
    timeoutServer: "3h",
    check: { inter: "10s", rise: 2, fall: 5 },
  },
  { name: "glance_api_cluster", port: 9292, httpCheck: true, timeoutClient: "3h", timeoutServer: "3h" },
  { name: "keystone_public_cluster", port: 5000, httpCheck: true },
  { name: "nova_compute_api_cluster", port: 8774, httpCheck: true },
  { name: "nova_placement_cluster", port: 8778 },
  { name: "nova_metadata_api_cluster", port: 8775 },
  // noVNC consoles are websockets, idle while someone reads the screen: 1h as kolla.
  { name: "nova_vncproxy_cluster", port: 6080, timeoutTunnel: "1h" },
  { name: "neutron_api_cluster", port: 9696, httpCheck: true },
  { name: "cinder_api_cluster", port: 8776, httpCheck: true },
]);

/** What {@link withServices} changes in a list of services; every service is named by its `name`. */
export interface ServiceChanges {
  /** Services to leave out. */
  readonly remove?: readonly string[];
  /** Changes to existing services: only the fields given change (`check` is merged field by field too). */
  readonly update?: Readonly<Record<string, Partial<HaproxyServiceInput>>>;
  /** Whole new definitions of existing services, in the same place in the list. */
  readonly replace?: Readonly<Record<string, HaproxyServiceInput>>;
  /** New services, after the others. */
  readonly add?: readonly HaproxyServiceInput[];
}

/**
 * A new list of HAProxy services: `base` (usually {@link defaultServices}) with the `changes`
 * applied in the order remove, update, replace, add. The list and its services are copies; `base`
 * is not changed. Naming a service `base` does not have (remove, update, replace) or adding one
 * it has throws an {@link InputError} that lists every such name at once, with a did-you-mean; the
 * result is validated with the rest of the spec (ports, names) like any list.
 *
 * @example
 * ```ts
 * withServices(defaultServices, {
 *   remove: ["nova_vncproxy_cluster"],
 *   update: { glance_api_cluster: { timeoutClient: "6h", timeoutServer: "6h" } },
 *   add: [{ name: "heat_api_cluster", port: 8004, httpCheck: true }],
 * });
 * ```
 */
export function withServices(
  base: readonly Readonly<HaproxyServiceInput>[],
  changes: ServiceChanges,
): HaproxyServiceInput[] {
  const names = base.map((s) => s.name);
  const problems: string[] = [];
  const known = (what: string, name: string) => {
    if (names.includes(name)) return true;
    const near = closest(name, names);
    problems.push(
      `${what}: ${JSON.stringify(name)} is not a service of the list${near ? `; did you mean ${near}?` : ""}`,
    );
    return false;
  };
  const removed = new Set((changes.remove ?? []).filter((n) => known("remove", n)));
  for (const n of Object.keys(changes.update ?? {})) known("update", n);
  for (const n of Object.keys(changes.replace ?? {})) known("replace", n);
  for (const n of Object.keys(changes.update ?? {})) {
    if (removed.has(n)) problems.push(`update: ${JSON.stringify(n)} is also removed`);
  }
  for (const n of Object.keys(changes.replace ?? {})) {
    if (removed.has(n)) problems.push(`replace: ${JSON.stringify(n)} is also removed`);
  }
  for (const s of changes.add ?? []) {
    if (names.includes(s.name) && !removed.has(s.name)) {
      problems.push(`add: ${JSON.stringify(s.name)} is already a service (use update or replace)`);
    }
  }
  if (problems.length > 0) throw new InputError(`withServices: ${problems.join("; ")}`);
  const out = base
    .filter((s) => !removed.has(s.name))
    .map((s) => {
      const patch = changes.update?.[s.name];
      const updated = patch ? { ...s, ...patch, check: { ...s.check, ...patch.check } } : s;
      return structuredClone(changes.replace?.[s.name] ?? updated) as HaproxyServiceInput;
    });
  return [...out, ...(changes.add ?? []).map((s) => structuredClone(s))];
}
