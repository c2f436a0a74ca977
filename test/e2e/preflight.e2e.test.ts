import { describe, expect, it } from "vitest";
import { LAB_SUBNET } from "./lab/config.js";
import { cidrsOverlap, rootNamespaceConflicts, subnetConflicts } from "./lab/preflight.js";

// The lab's guard against touching this machine's own network: it must refuse on any overlap.
describe("lab preflight: the lab subnet must be unknown to the root namespace", () => {
  it("detects overlapping and contained prefixes, ignores disjoint ones", () => {
    expect(cidrsOverlap("198.51.100.0/24", "198.51.100.0/24")).toBe(true);
    expect(cidrsOverlap("198.51.0.0/16", LAB_SUBNET)).toBe(true);
    expect(cidrsOverlap("198.51.100.77", LAB_SUBNET)).toBe(true);
    expect(cidrsOverlap("198.51.100.128/25", LAB_SUBNET)).toBe(true);
    expect(cidrsOverlap("198.51.101.0/24", LAB_SUBNET)).toBe(false);
    expect(cidrsOverlap("203.0.113.0/24", LAB_SUBNET)).toBe(false);
  });

  it("flags a route or an address in the lab subnet, not the default route", () => {
    const routes = [
      { dst: "default", dev: "eth0" },
      { dst: "203.0.113.0/24", dev: "eth0" },
    ];
    expect(subnetConflicts(routes, [])).toEqual([]);
    expect(subnetConflicts([...routes, { dst: "198.51.0.0/16", dev: "wg0" }], [])).toEqual([
      "route 198.51.0.0/16 dev wg0",
    ]);
    expect(
      subnetConflicts(routes, [
        { ifname: "br9", addr_info: [{ family: "inet", local: "198.51.100.1", prefixlen: 24 }] },
      ]),
    ).toEqual(["address 198.51.100.1/24 on br9"]);
  });

  it("finds no conflict on this machine (else the lab refuses to start)", () => {
    expect(rootNamespaceConflicts()).toEqual([]);
  });
});
