import type { DeployEvent } from "../../deploy/events.js";
import type { StepMode } from "../core/artifact.js";

/**
 * The three views of a run: one JSON event per line (`--json`, for tooling), plain lines (not a
 * TTY: CI logs, pipes) and a live view on a TTY (what runs where, with elapsed time, redrawn in
 * place above the finished lines). Events arrive already redacted.
 */

export interface ViewOptions {
  /** "ha-gen deploy <spec> …" with --from STEP, shown after a failure. */
  readonly resumeCommand?: (step: string) => string;
  /** Print unified diffs of a dry run (default true). */
  readonly diffs?: boolean;
}

interface Out {
  write(s: string): unknown;
}

const sec = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** Finished-work lines for an event (shared by the plain and the live view). */
export function formatEvent(e: DeployEvent, o: ViewOptions = {}): string[] {
  switch (e.type) {
    case "galera-recovery": {
      const lines = ["Galera state of the controllers:"];
      for (const r of e.reports) {
        lines.push(
          r.error
            ? `  ${r.node}: no report (${r.error})`
            : `  ${r.node}: uuid ${r.uuid} seqno ${r.seqno} ` +
                `safe_to_bootstrap ${r.safeToBootstrap ? 1 : 0} ${r.running ? `running (${r.state})` : "stopped"}`,
        );
      }
      const plan =
        e.action === "bootstrap"
          ? `bootstrap ${e.bootstrap}${e.join?.length ? `, then join ${e.join.join(", ")} one at a time` : ""}`
          : e.action === "join"
            ? e.join?.length
              ? `no bootstrap; join ${e.join.join(", ")} one at a time`
              : "no bootstrap, nothing to join"
            : "nothing (refused)";
      lines.push(`decision: ${e.dryRun ? "would " : ""}${plan}: ${e.reason}`);
      return lines;
    }
    case "run-start":
      return [
        `ha-gen deploy${e.dryRun ? " (dry run: nothing is changed)" : ""}: ${e.nodes.length} node(s); ` +
          `${e.push ? "push files" : "no file push"}${e.steps.length ? ` + ${e.steps.length} step(s)` : ""}` +
          `${e.logDir ? `; log: ${e.logDir}` : ""}`,
      ];
    case "connect-start":
    case "push-start":
    case "node-step-start":
      return [];
    case "connect-end":
      return [];
    case "host-key-accepted":
      return [
        `host key of ${e.name} accepted on first use (${e.keyType} ${e.fingerprint})` +
          `${e.recorded ? "" : " for this run only (dry run)"}`,
      ];
    case "warning":
      return [`warning: ${e.message}`];
    case "push-end": {
      const verb = e.dryRun ? "would change" : "changed";
      const lines = [
        `${e.node}: files ${e.changed.length ? `${e.changed.length} ${verb}` : "unchanged"}` +
          `${e.changed.length ? `, ${e.unchanged} unchanged` : ` (${e.unchanged})`} (${sec(e.ms)})`,
      ];
      for (const c of e.changed) {
        lines.push(
          `  ${c.action.padEnd(6)} ${c.path} (${c.detail})` +
            `${c.secret && e.dryRun && c.action !== "attrs" ? " [secret: no diff]" : ""}`,
        );
        if (c.diff && o.diffs !== false) for (const l of c.diff.replace(/\n$/, "").split("\n")) lines.push(`    ${l}`);
      }
      return lines;
    }
    case "step-skip":
      return [`step ${e.step}${e.node ? ` on ${e.node}` : ""}: skipped: ${e.reason}`];
    case "step-would-run":
      return [`step ${e.step} would run: ${e.title} (${describeNodes(e.nodes, e.mode)})`];
    case "step-start":
      return [`step ${e.step}: ${e.title} (${describeNodes(e.nodes, e.mode)})`];
    case "node-step-end": {
      const who = `${e.node}${e.pass ? ` (${e.pass})` : ""}`;
      if (e.code !== 0)
        return [`  ${who}: FAILED ${e.timedOut ? "(timed out)" : `(exit ${e.code ?? "none"})`} after ${sec(e.ms)}`];
      const lines = [
        `  ${who}: ok, ${e.changes.length ? `${e.changes.length} change(s)` : "unchanged"} (${sec(e.ms)})`,
      ];
      for (const c of e.changes) lines.push(`    changed: ${c}`);
      return lines;
    }
    case "step-end":
      return [];
    case "error":
      return [`error${e.node ? ` on ${e.node}` : ""}${e.step ? ` (${e.step})` : ""}: ${e.message}`];
    case "run-end": {
      const lines: string[] = [];
      if (e.ok) {
        const nothing = e.filesChanged === 0 && e.stepsChanged === 0;
        if (e.dryRun)
          lines.push(
            `dry run done in ${sec(e.ms)}: ${e.filesChanged} file(s) would change, ${e.filesUnchanged} unchanged`,
          );
        else if (nothing)
          lines.push(
            `done in ${sec(e.ms)}: no changes (${e.filesUnchanged} file(s) unchanged` +
              `${e.stepsRun ? `, ${e.stepsRun} step(s) run, none changed anything` : ""})`,
          );
        else
          lines.push(
            `done in ${sec(e.ms)}: ${e.filesChanged} file(s) changed, ${e.filesUnchanged} unchanged; ` +
              `${e.stepsRun} step(s) run, ${e.stepsChanged} changed something`,
          );
        return lines;
      }
      const f = e.failed!;
      const exit =
        f.code !== undefined && f.code !== null && !f.message.includes(String(f.code)) ? ` (exit ${f.code})` : "";
      lines.push(`FAILED: ${f.step}${f.node ? ` on ${f.node}` : ""}: ${f.message}${exit}`);
      if (f.tail) {
        lines.push("  last output:");
        for (const l of f.tail.split("\n")) lines.push(`    ${l}`);
      }
      lines.push(`${e.filesChanged} file(s) changed, ${e.stepsRun} step(s) run before the failure (${sec(e.ms)})`);
      if (e.resumeFrom)
        lines.push(`resume with: ${o.resumeCommand ? o.resumeCommand(e.resumeFrom) : `--from ${e.resumeFrom}`}`);
      return lines;
    }
  }
}

function describeNodes(nodes: readonly string[], mode: StepMode): string {
  if (nodes.length === 1) return `on ${nodes[0]}`;
  const how = {
    serial: "one at a time",
    parallel: "in parallel",
    rolling: "rolling: start all, restart one at a time",
  };
  return `${how[mode]} on ${nodes.join(", ")}`;
}

export function jsonView(out: Out): (e: DeployEvent) => void {
  return (e) => out.write(`${JSON.stringify(e)}\n`);
}

export function plainView(out: Out, o: ViewOptions = {}): (e: DeployEvent) => void {
  return (e) => {
    for (const l of formatEvent(e, o)) out.write(`${l}\n`);
  };
}

/** Live view: finished lines scroll, the running work stays at the bottom with a ticking clock. */
export function liveView(
  out: Out & { columns?: number },
  o: ViewOptions = {},
): { sink: (e: DeployEvent) => void; stop: () => void } {
  const active = new Map<string, { label: string; since: number }>();
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  const frames = ["|", "/", "-", "\\"];
  let frame = 0;
  const clear = () => {
    if (drawn > 0) out.write(`\x1b[${drawn}F\x1b[J`);
    drawn = 0;
  };
  const draw = () => {
    const width = Math.max(20, (out.columns ?? 100) - 1);
    const now = Date.now();
    const lines = [...active.values()].map((a) =>
      `${frames[frame % frames.length]} ${a.label}  ${sec(now - a.since)}`.slice(0, width),
    );
    frame++;
    for (const l of lines) out.write(`${l}\n`);
    drawn = lines.length;
  };
  const sink = (e: DeployEvent) => {
    clear();
    switch (e.type) {
      case "connect-start":
        active.set(`c:${e.node}`, { label: `${e.node}: connecting`, since: Date.now() });
        break;
      case "connect-end":
        active.delete(`c:${e.node}`);
        break;
      case "error":
        if (e.node) {
          active.delete(`c:${e.node}`);
          active.delete(`p:${e.node}`);
        }
        break;
      case "push-start":
        active.set(`p:${e.node}`, { label: `${e.node}: pushing ${e.files} file(s)`, since: Date.now() });
        break;
      case "push-end":
        active.delete(`p:${e.node}`);
        break;
      case "node-step-start":
        active.set(`s:${e.step}:${e.node}`, { label: `${e.node}: ${e.step}`, since: Date.now() });
        break;
      case "node-step-end":
        active.delete(`s:${e.step}:${e.node}`);
        break;
      default:
    }
    for (const l of formatEvent(e, o)) out.write(`${l}\n`);
    if (e.type === "run-end") {
      active.clear();
      stop();
      return;
    }
    draw();
  };
  timer = setInterval(() => {
    clear();
    draw();
  }, 250);
  timer.unref();
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    clear();
  };
  return { sink, stop };
}
