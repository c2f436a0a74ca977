import { describe, expect, it } from "vitest";
import { backAfter, longestSqlGap, type Op, summarize, writerWindows } from "./e2e/lab/load.js";
import { maxDownAtOnce, type Restarts } from "./e2e/lab/restarts.js";

/**
 * The drills' figures (test/e2e/drills.e2e.test.ts) are computed from the load client's record and
 * the nodes' journals; these tests pin what each figure counts, on records made here.
 */

const sql = (t: number, node: string, ok = true, extra: Partial<Op> = {}): Op => ({ t, k: "sql", ok, node, ...extra });

describe("load figures", () => {
  it("longest SQL gap: from the last write before the window, across failures, to the window's end", () => {
    const ops = [sql(9, "a"), sql(10.5, "a", false), sql(16, "b"), sql(17, "b")];
    expect(longestSqlGap(ops, 10, 17)).toBe(7);
    // No write after the window opens: the gap runs to its end.
    expect(longestSqlGap([sql(9, "a")], 10, 20)).toBe(11);
    expect(longestSqlGap([sql(10, "a"), sql(11, "a"), sql(12, "a")], 10, 12)).toBe(1);
  });

  it("two writers: a clean switch is not one; A…B…A within a second is", () => {
    const clean = [sql(100.1, "a"), sql(100.4, "a"), sql(100.6, "b"), sql(100.9, "b")];
    expect(writerWindows(clean)).toMatchObject({ secondsWithTwoNodes: 1, interleaved: 0 });
    const two = [sql(200.1, "a"), sql(200.4, "b"), sql(200.6, "a"), sql(201.2, "a")];
    expect(writerWindows(two)).toMatchObject({ secondsWithTwoNodes: 1, interleaved: 1 });
    // Failed writes name no committing node and do not count.
    expect(writerWindows([sql(300.1, "a"), sql(300.2, "b", false), sql(300.3, "a")]).interleaved).toBe(0);
  });

  it("service back: from the fault to the first success after the last failure", () => {
    const c = (t: number, ok: boolean): Op => ({ t, k: "connect", ok });
    expect(backAfter([c(10.2, true), c(11, false), c(14, false), c(15, true), c(16, true)], "connect", 10, 20)).toBe(5);
    expect(backAfter([c(11, false)], "connect", 10, 20)).toBeNull();
  });

  it("losses: committed rows and confirmed messages missing at the end; acked etcd writes absent", () => {
    const ops: Op[] = [
      sql(1, "a", true, { seq: 1 }),
      sql(2, "a", true, { seq: 2 }),
      sql(3, "a", false, { seq: 3 }),
      { t: 9, k: "sql-final", ok: true, present: [1, 3] },
      { t: 1, k: "amqp-pub", ok: true, seq: 1 },
      { t: 2, k: "amqp-pub", ok: true, seq: 2 },
      { t: 3, k: "amqp-pub", ok: false, seq: 3 },
      { t: 4, k: "amqp-recv", ok: true, seq: 2 },
      { t: 1, k: "etcd-put", ok: true, seq: 1 },
      { t: 2, k: "etcd-put", ok: false, seq: 2 },
      { t: 9, k: "etcd-final", ok: true, present: [] },
      sql(70, "a", false, { seq: 4, idle: 65 }),
      // Cut while resting, but a fault broke another connection meanwhile: not counted as an idle cut.
      { t: 100, k: "connect", ok: false },
      sql(120, "a", false, { seq: 5, idle: 65 }),
    ];
    expect(summarize(ops)).toMatchObject({
      sqlWrites: 2,
      sqlRowsLost: 1,
      amqpConfirmed: 2,
      amqpLost: 1,
      etcdFailedAfterRetry: 1,
      etcdLost: 1,
      sqlIdleReuses: 2,
      sqlIdleReuseFailures: 1,
    });
    // Without a final read-back the loss is unknown, not zero.
    expect(summarize(ops.filter((o) => o.k !== "sql-final")).sqlRowsLost).toBeNull();
  });
});

describe("restarts at once", () => {
  const down = (node: string, from: number, to: number | null) => ({ node, unit: "etcd" as const, from, to });
  it("overlapping down intervals of one unit count; back-to-back and other units do not", () => {
    const rolling: Restarts = { downs: [down("a", 0, 5), down("b", 5, 9), down("c", 9.5, 12)], reloads: [] };
    expect(maxDownAtOnce(rolling, "etcd")).toBe(1);
    const parallel: Restarts = { downs: [down("a", 0, 5), down("b", 1, 6), down("c", 2, null)], reloads: [] };
    expect(maxDownAtOnce(parallel, "etcd")).toBe(3);
    expect(maxDownAtOnce(parallel, "mariadb")).toBe(0);
  });
});
