import { describe, expect, it } from "vitest";
import { clusterSpecSchema, defaultServices, InputError, validateSpec, withServices } from "../../src/index.js";
import { EXAMPLES } from "../helpers/examples.js";

describe("defaultServices", () => {
  it("is what haproxy.services defaults to", () => {
    const spec = clusterSpecSchema.parse(EXAMPLES["train-ha"]);
    const explicit = clusterSpecSchema.parse({ ...EXAMPLES["train-ha"], haproxy: { services: defaultServices } });
    expect(explicit.haproxy.services).toEqual(spec.haproxy.services);
    expect(defaultServices.map((s) => s.name)).toHaveLength(11);
  });

  it("is frozen, deeply: a spec cannot change another spec's defaults", () => {
    expect(() => {
      (defaultServices[1]!.check as { inter: string }).inter = "9s";
    }).toThrow(TypeError);
  });
});

describe("withServices", () => {
  it("removes, updates (check merged field by field), replaces in place and adds at the end", () => {
    const out = withServices(defaultServices, {
      remove: ["nova_vncproxy_cluster"],
      update: { galera_cluster: { check: { fall: 3 } }, glance_api_cluster: { timeoutClient: "6h" } },
      replace: { dashboard_cluster: { name: "horizon", port: 80, mode: "http" } },
      add: [{ name: "heat_api_cluster", port: 8004, httpCheck: true }],
    });
    const names = out.map((s) => s.name);
    expect(names).not.toContain("nova_vncproxy_cluster");
    expect(names[0]).toBe("horizon");
    expect(names.at(-1)).toBe("heat_api_cluster");
    expect(names).toHaveLength(11);
    const galera = out.find((s) => s.name === "galera_cluster")!;
    expect(galera.check).toEqual({ inter: "1s", rise: 2, fall: 3 });
    expect(out.find((s) => s.name === "glance_api_cluster")).toMatchObject({
      timeoutClient: "6h",
      timeoutServer: "3h",
    });
    // Copies: the result can be edited, the defaults stay.
    galera.port = 3307;
    expect(defaultServices.find((s) => s.name === "galera_cluster")!.port).toBe(3306);
    expect(defaultServices.find((s) => s.name === "galera_cluster")!.check).toEqual({ inter: "1s", rise: 2, fall: 2 });
  });

  it("reports every unknown or clashing name at once, with a did-you-mean", () => {
    let err: unknown;
    try {
      withServices(defaultServices, {
        remove: ["nova_vncproxy_clustr", "cinder_api_cluster"],
        update: { cinder_api_cluster: { port: 1 } },
        replace: { nope: { name: "nope", port: 1 } },
        add: [{ name: "galera_cluster", port: 3307 }],
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    const m = (err as Error).message;
    expect(m).toContain(
      'remove: "nova_vncproxy_clustr" is not a service of the list; did you mean nova_vncproxy_cluster?',
    );
    expect(m).toContain('update: "cinder_api_cluster" is also removed');
    expect(m).toContain('replace: "nope" is not a service of the list');
    expect(m).toContain('add: "galera_cluster" is already a service (use update or replace)');
  });

  it("leaves port clashes to validation, which reports them at their spec path", () => {
    const services = withServices(defaultServices, { add: [{ name: "other_db", port: 3306 }] });
    const v = validateSpec({ ...EXAMPLES["train-ha"], haproxy: { services } });
    expect(v.ok).toBe(false);
    expect(!v.ok && v.errors.map((e) => e.path)).toContain("haproxy.services[11].port");
  });
});
