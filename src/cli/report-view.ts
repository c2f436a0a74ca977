import type { PreflightReport, StatusReport } from "../core/formats.js";

/**
 * The human tables of `ha-gen preflight` and `ha-gen status` (`--json` prints the report itself).
 * One row per check or item; a failed check's fix on the line below it.
 */

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd(),
  );
}

const MARK: Record<string, string> = {
  pass: "ok",
  warn: "WARN",
  fail: "FAIL",
  skip: "skip",
  ok: "ok",
  problem: "PROBLEM",
  unknown: "?",
};

export function formatPreflight(r: PreflightReport): string {
  const rows: string[][] = [["NODE", "CHECK", "RESULT", "DETAIL"]];
  const fixes = new Map<number, string>();
  for (const c of r.checks) {
    rows.push([c.node ?? "(cluster)", c.check, MARK[c.status]!, c.detail]);
    if (c.fix && (c.status === "fail" || c.status === "warn")) fixes.set(rows.length - 1, c.fix);
  }
  const lines = table(rows).flatMap((l, i) => (fixes.has(i) ? [l, `      → ${fixes.get(i)}`] : [l]));
  const failed = r.checks.filter((c) => c.status === "fail").length;
  const warned = r.checks.filter((c) => c.status === "warn").length;
  const verdict = failed
    ? `preflight FAILED: ${failed} check(s) failed, ${warned} warning(s)`
    : `preflight passed (${warned} warning(s))`;
  return `${lines.join("\n")}\n${verdict} in ${(r.ms / 1000).toFixed(1)} s\n`;
}

export function formatStatus(r: StatusReport): string {
  const rows: string[][] = [["COMPONENT", "NODE", "STATE", "SUMMARY"]];
  for (const i of r.items) rows.push([i.component, i.node ?? "(cluster)", MARK[i.state]!, i.summary]);
  const problems = r.items.filter((i) => i.state === "problem").length;
  const unknown = r.items.filter((i) => i.state === "unknown").length;
  const verdict =
    r.health === "healthy"
      ? "healthy"
      : r.health === "degraded"
        ? `DEGRADED: ${problems} problem(s), ${unknown} not answered`
        : `CANNOT TELL: ${unknown} item(s) could not be asked`;
  return `${table(rows).join("\n")}\n${r.cluster}: ${verdict} (${(r.ms / 1000).toFixed(1)} s)\n`;
}
