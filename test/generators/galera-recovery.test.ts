import { describe, expect, it } from "vitest";
import {
  chooseBootstrapNode,
  GaleraReportError,
  parseRecoveryReport,
  ZERO_UUID,
  type GaleraReport,
  type NodeReport,
} from "../../src/core/galera-recovery.js";

const U1 = "700133db-e9cb-11f1-a63e-1301ed33e521";
const U2 = "8a1f0c2e-0000-11f1-9999-0123456789ab";

function rep(node: string, seqno: number, o: Partial<GaleraReport> = {}): NodeReport {
  return { node, report: { node, uuid: U1, seqno, safeToBootstrap: false, running: false, state: "stopped", ...o } };
}

describe("parseRecoveryReport", () => {
  it("parses the report line and ignores surrounding output", () => {
    const out =
      `Warning: banner\nha-gen:galera node=controller02 uuid=${U1} seqno=1234 ` +
      `safe_to_bootstrap=0 running=no state=stopped\n`;
    expect(parseRecoveryReport(out)).toEqual({
      node: "controller02",
      uuid: U1,
      seqno: 1234,
      safeToBootstrap: false,
      running: false,
      state: "stopped",
    });
  });

  it("accepts seqno -1, a running Primary node and CRLF line ends", () => {
    const r = parseRecoveryReport(
      `ha-gen:galera node=c1 uuid=${U1} seqno=-1 safe_to_bootstrap=1 running=yes state=Primary\r\n`,
    );
    expect(r).toMatchObject({ seqno: -1, safeToBootstrap: true, running: true, state: "Primary" });
    expect(
      parseRecoveryReport(`ha-gen:galera node=c1 uuid=${U1} seqno=7 safe_to_bootstrap=0 running=yes state=non-Primary`)
        .state,
    ).toBe("non-Primary");
  });

  const bad: [string, string][] = [
    ["no report line", "hello"],
    [
      "two report lines",
      `ha-gen:galera node=a uuid=${U1} seqno=1 safe_to_bootstrap=0 running=no state=stopped\n` +
        `ha-gen:galera node=a uuid=${U1} seqno=2 safe_to_bootstrap=0 running=no state=stopped`,
    ],
    ["missing field", `ha-gen:galera node=a uuid=${U1} seqno=1 running=no state=stopped`],
    ["duplicate field", `ha-gen:galera node=a uuid=${U1} seqno=1 seqno=2 safe_to_bootstrap=0 running=no state=stopped`],
    ["unknown field", `ha-gen:galera node=a uuid=${U1} seqno=1 safe_to_bootstrap=0 running=no state=stopped extra=1`],
    [
      "upper-case uuid",
      `ha-gen:galera node=a uuid=${U1.toUpperCase()} seqno=1 safe_to_bootstrap=0 running=no state=stopped`,
    ],
    ["non-numeric seqno", `ha-gen:galera node=a uuid=${U1} seqno=12x safe_to_bootstrap=0 running=no state=stopped`],
    ["seqno below -1", `ha-gen:galera node=a uuid=${U1} seqno=-2 safe_to_bootstrap=0 running=no state=stopped`],
    ["leading zero", `ha-gen:galera node=a uuid=${U1} seqno=012 safe_to_bootstrap=0 running=no state=stopped`],
    [
      "unsafe integer",
      `ha-gen:galera node=a uuid=${U1} seqno=99999999999999999999 safe_to_bootstrap=0 running=no state=stopped`,
    ],
    ["bad safe_to_bootstrap", `ha-gen:galera node=a uuid=${U1} seqno=1 safe_to_bootstrap=2 running=no state=stopped`],
    ["bad running", `ha-gen:galera node=a uuid=${U1} seqno=1 safe_to_bootstrap=0 running=maybe state=stopped`],
    ["empty node", `ha-gen:galera node= uuid=${U1} seqno=1 safe_to_bootstrap=0 running=no state=stopped`],
    ["token without =", `ha-gen:galera node=a uuid=${U1} seqno=1 safe_to_bootstrap=0 running=no state=stopped junk`],
    ["state with odd characters", `ha-gen:galera node=a uuid=${U1} seqno=1 safe_to_bootstrap=0 running=no state=$(x)`],
  ];
  it.each(bad)("refuses %s", (_, text) => {
    expect(() => parseRecoveryReport(text)).toThrow(GaleraReportError);
  });
});

describe("chooseBootstrapNode", () => {
  it("picks the highest seqno and joins the others in spec order", () => {
    const d = chooseBootstrapNode([rep("c1", 10), rep("c2", 12), rep("c3", 11)]);
    expect(d).toMatchObject({ action: "bootstrap", node: "c2", join: ["c1", "c3"] });
  });

  it("breaks a seqno tie by safe_to_bootstrap, then by spec order", () => {
    expect(chooseBootstrapNode([rep("c1", 12), rep("c2", 12), rep("c3", 12, { safeToBootstrap: true })])).toMatchObject(
      { action: "bootstrap", node: "c3", join: ["c1", "c2"] },
    );
    expect(chooseBootstrapNode([rep("c1", 5), rep("c2", 12), rep("c3", 12)])).toMatchObject({
      action: "bootstrap",
      node: "c2",
    });
    // A higher seqno beats safe_to_bootstrap: that flag alone does not mean the latest data.
    expect(chooseBootstrapNode([rep("c1", 12, { safeToBootstrap: true }), rep("c2", 13), rep("c3", 1)])).toMatchObject({
      node: "c2",
    });
  });

  it("does not bootstrap when a node already runs a Primary component", () => {
    const d = chooseBootstrapNode([rep("c1", 3), rep("c2", 20, { running: true, state: "Primary" }), rep("c3", 40)]);
    expect(d).toEqual({ action: "join", primary: "c2", join: ["c1", "c3"], reason: expect.stringContaining("c2") });
  });

  it("treats a running non-Primary node as a candidate by its last committed seqno", () => {
    const d = chooseBootstrapNode([
      rep("c1", 3),
      rep("c2", 50, { running: true, state: "non-Primary" }),
      rep("c3", 40),
    ]);
    expect(d).toMatchObject({ action: "bootstrap", node: "c2" });
  });

  it("refuses when a report is missing", () => {
    const d = chooseBootstrapNode([rep("c1", 10), { node: "c2", report: undefined }, rep("c3", 11)]);
    expect(d.action).toBe("refuse");
    expect(d.reason).toContain("c2");
  });

  it("refuses when cluster UUIDs differ", () => {
    const d = chooseBootstrapNode([rep("c1", 10), rep("c2", 12, { uuid: U2 }), rep("c3", 11)]);
    expect(d.action).toBe("refuse");
    expect(d.reason).toContain(U2);
  });

  it("refuses two Primary components of different clusters", () => {
    const d = chooseBootstrapNode([
      rep("c1", 10, { running: true, state: "Primary" }),
      rep("c2", 12, { uuid: U2, running: true, state: "Primary" }),
      rep("c3", 11),
    ]);
    expect(d.action).toBe("refuse");
  });

  it("refuses when a node with state has no recoverable position", () => {
    const d = chooseBootstrapNode([rep("c1", 10), rep("c2", -1), rep("c3", 11)]);
    expect(d.action).toBe("refuse");
    expect(d.reason).toContain("c2");
  });

  it("lets a node without Galera state (zero UUID) only join", () => {
    const d = chooseBootstrapNode([rep("c1", -1, { uuid: ZERO_UUID }), rep("c2", 12), rep("c3", 11)]);
    expect(d).toMatchObject({ action: "bootstrap", node: "c2", join: ["c1", "c3"] });
  });

  it("refuses when no node holds any cluster state", () => {
    const d = chooseBootstrapNode([rep("c1", -1, { uuid: ZERO_UUID }), rep("c2", -1, { uuid: ZERO_UUID })]);
    expect(d.action).toBe("refuse");
  });

  it("refuses a report that names another node", () => {
    const wrong: NodeReport = { node: "c2", report: { ...rep("c1", 99).report!, node: "c1" } };
    expect(chooseBootstrapNode([rep("c1", 10), wrong]).action).toBe("refuse");
  });

  it("refuses an empty list", () => {
    expect(chooseBootstrapNode([]).action).toBe("refuse");
  });
});
