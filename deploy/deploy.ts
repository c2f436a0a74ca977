import { createHash } from "node:crypto";
import type { Artifact, PlanStep } from "../src/core/artifact.js";
import { guardProblem } from "../src/core/formats.js";
import { unifiedDiff } from "./diff.js";
import type { DeployEvent, EventSink, FileChange } from "./events.js";
import { decideGuard, probeGuard, probeNodes } from "./guards.js";
import { LineRedactor, Redactor } from "./redact.js";
import { asRoot, forEachLimit, inspect, install, lastLines, modeString, readRemote, type InstallFile } from "./remote-fs.js";
import { RunLog, newRunId } from "./run-log.js";
import { UsageError } from "../src/core/errors.js";
import { rootFor, selectRun } from "./select.js";
import { ConnectError, type Connection, type Transport } from "./transport.js";

/**
 * deploy(): push every node's files, then run the plan's steps in order, over any Transport.
 *
 * Order of a run: connect to every node involved (nothing changes if one is unreachable or
 * refuses its host key) → push files to all nodes (only those whose content, mode or owner differ;
 * atomic) → run the steps in plan order, each on its nodes one at a time (serial) or together
 * (parallel), stopping at the first failure: no later step starts, running ones finish. A failed
 * run reports the node, step, exit status and last output lines, and the `--from` to resume with.
 */

/** A plan step, optionally with arguments for its script (on-demand scripts such as galera-recover). */
export type RunnableStep = PlanStep & { readonly args?: readonly string[] };

export interface DeployOptions {
  readonly artifacts: readonly Artifact[];
  readonly plan: { readonly steps: readonly RunnableStep[] };
  readonly transport: Transport;
  /** Every secret value: removed from all events, output and logs. */
  readonly secrets?: Iterable<string>;
  /** Prefix of every remote path; `{node}` is replaced by the node name. Absolute. */
  readonly root?: string;
  /** Run steps although `root` is set (scripts get HA_GEN_ROOT and HA_GEN_NODE in their environment). */
  readonly rootSteps?: boolean;
  readonly dryRun?: boolean;
  readonly from?: string;
  /** Step ids; "push" is the file push. */
  readonly only?: readonly string[];
  readonly nodes?: readonly string[];
  /** Nodes worked on at the same time (connects, pushes, parallel steps). Default 16. */
  readonly concurrency?: number;
  /** Bound on one step on one node (enforced on the node with `timeout`). Default 30 min. */
  readonly stepTimeoutMs?: number;
  /** Bound on ha-gen's own commands (inspect, install). Default 120 s. */
  readonly commandTimeoutMs?: number;
  readonly onEvent?: EventSink;
  /** Directory for this run's log (created, 0700). */
  readonly logDir?: string;
  readonly runId?: string;
}

export interface NodeStepResult {
  readonly step: string;
  readonly node: string;
  readonly code: number | null;
  readonly ms: number;
  readonly changes: readonly string[];
}

export interface DeployResult {
  readonly ok: boolean;
  readonly runId: string;
  readonly filesChanged: number;
  readonly filesUnchanged: number;
  /** Per node: the files changed (or that would change, in a dry run). */
  readonly changes: ReadonlyMap<string, readonly FileChange[]>;
  readonly stepResults: readonly NodeStepResult[];
  readonly failed?: { readonly step: string; readonly node?: string; readonly code?: number | null; readonly message: string; readonly tail?: string };
  /** The step to pass to --from to resume after a failure. */
  readonly resumeFrom?: string;
}


const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const CHANGED = "ha-gen:changed ";
const TAIL_LINES = 20;

export async function deploy(o: DeployOptions): Promise<DeployResult> {
  const started = Date.now();
  const runId = o.runId ?? newRunId();
  const dryRun = o.dryRun ?? false;
  const concurrency = Math.max(1, o.concurrency ?? 16);
  const stepTimeoutMs = o.stepTimeoutMs ?? 30 * 60_000;
  const cmdTimeoutMs = o.commandTimeoutMs ?? 120_000;
  if (o.root !== undefined && !o.root.startsWith("/")) throw new UsageError(`--root must be an absolute path, got "${o.root}"`);

  for (const s of o.plan.steps) {
    const problem = s.guard === undefined ? undefined : guardProblem(s.guard);
    if (problem) throw new UsageError(`step ${s.id}: ${problem}`);
  }

  const byNode = new Map<string, Artifact[]>();
  for (const a of o.artifacts) byNode.set(a.node, [...(byNode.get(a.node) ?? []), a]);
  const allNodes = unique([...byNode.keys(), ...o.plan.steps.flatMap((s) => s.nodes)]);
  const sel = selectRun(o.plan.steps, allNodes, {
    ...(o.from !== undefined ? { from: o.from } : {}),
    ...(o.only !== undefined ? { only: o.only } : {}),
    ...(o.nodes !== undefined ? { nodes: o.nodes } : {}),
    root: o.root !== undefined,
    rootSteps: o.rootSteps ?? false,
  });

  const redactor = new Redactor(o.secrets ?? []);
  const log = o.logDir ? new RunLog(o.logDir, redactor) : undefined;
  const emit = (e: DeployEvent) => {
    const safe = redactDeep(e, redactor);
    log?.event(safe);
    o.onEvent?.(safe);
  };

  const pushNodes = sel.push ? [...byNode.keys()].filter((n) => !sel.nodeFilter || sel.nodeFilter.has(n)) : [];
  const guardNodes = new Map<PlanStep, string[]>();
  for (const s of sel.steps) {
    // The whole original step, not only the --nodes part: safety looks at every member.
    if (s.guard) guardNodes.set(s, probeNodes(o.plan.steps.find((p) => p.id === s.id)!, s.guard));
  }
  const involved = unique([...pushNodes, ...sel.steps.flatMap((s) => s.nodes), ...[...guardNodes.values()].flat()]);

  emit({ type: "run-start", runId, dryRun, nodes: involved, steps: sel.steps.map((s) => s.id), push: sel.push, ...(o.logDir ? { logDir: o.logDir } : {}) });
  for (const n of sel.notes) emit({ type: "warning", message: n });

  const conns = new Map<string, Connection>();
  /** Per node: files waiting for their owner to exist, and whether a step has run there yet. */
  const deferred = new Map<string, Artifact[]>();
  const stepsOnNode = new Map<string, number>();
  const changes = new Map<string, FileChange[]>();
  const stepResults: NodeStepResult[] = [];
  let filesUnchanged = 0;
  let failed: DeployResult["failed"];
  let resumeFrom: string | undefined;
  let stepsRun = 0;
  let stepsChanged = 0;

  const finish = async (): Promise<DeployResult> => {
    await Promise.all([...conns.values()].map((c) => c.close().catch(() => undefined)));
    await o.transport.close?.().catch(() => undefined);
    const filesChanged = [...changes.values()].reduce((n, c) => n + c.length, 0);
    emit({
      type: "run-end",
      ok: !failed,
      dryRun,
      ms: Date.now() - started,
      filesChanged,
      filesUnchanged,
      stepsRun,
      stepsChanged,
      ...(failed ? { failed } : {}),
      ...(resumeFrom ? { resumeFrom } : {}),
    });
    await log?.close();
    return { ok: !failed, runId, filesChanged, filesUnchanged, changes, stepResults, ...(failed ? { failed: redactDeep(failed, redactor) } : {}), ...(resumeFrom ? { resumeFrom } : {}) };
  };

  // 1. Connect to everything first: an unreachable node or a refused host key changes nothing.
  const connectErrors: { node: string; message: string }[] = [];
  await forEachLimit(involved, concurrency, async (node) => {
    emit({ type: "connect-start", node });
    const t0 = Date.now();
    try {
      conns.set(node, await o.transport.connect(node));
      emit({ type: "connect-end", node, ms: Date.now() - t0 });
    } catch (e) {
      const message = e instanceof ConnectError || e instanceof Error ? e.message : String(e);
      connectErrors.push({ node, message });
      emit({ type: "error", node, message });
    }
  });
  if (connectErrors.length > 0) {
    failed = { step: "connect", node: connectErrors[0]!.node, message: `cannot connect to ${connectErrors.map((c) => c.node).join(", ")}: nothing was changed` };
    return finish();
  }

  // 2. Push.
  if (sel.push) {
    const pushErrors: { node: string; message: string }[] = [];
    await forEachLimit(pushNodes, concurrency, async (node) => {
      const t0 = Date.now();
      const files = byNode.get(node)!;
      emit({ type: "push-start", node, files: files.length });
      try {
        const r = await pushNode(conns.get(node)!, node, files, { root: rootFor(o.root, node), dryRun, timeoutMs: cmdTimeoutMs, redactor });
        if (r.deferred.length > 0) {
          deferred.set(node, r.deferred);
          emit({ type: "warning", message: `${node}: ${r.deferred.length} file(s) wait for their owner to exist (created by the packages the first step installs): ${r.deferred.map((f) => `${f.path} ${f.owner}:${f.group}`).join(", ")}` });
        }
        changes.set(node, r.changed);
        filesUnchanged += r.unchanged;
        log?.push(node, r.log);
        emit({ type: "push-end", node, changed: r.changed, unchanged: r.unchanged, ms: Date.now() - t0, dryRun });
      } catch (e) {
        const message = (e as Error).message;
        pushErrors.push({ node, message });
        log?.push(node, [`push failed: ${message}`]);
        emit({ type: "error", node, step: "push", message });
      }
    });
    if (pushErrors.length > 0) {
      failed = { step: "push", node: pushErrors[0]!.node, message: `pushing files failed on ${pushErrors.map((p) => p.node).join(", ")}: ${pushErrors[0]!.message}` };
      // Every file is replaced atomically, so pushing again is always safe.
      resumeFrom = "push";
      return finish();
    }
  }

  // 3. Steps, in plan order.
  for (const [index, step] of sel.steps.entries()) {
    const gNodes = guardNodes.get(step);
    if (step.guard && gNodes) {
      const decision = decideGuard(step.guard.kind, await probeGuard(step.guard, conns, gNodes, cmdTimeoutMs));
      if (decision.action === "skip") {
        emit({ type: "step-skip", step: step.id, reason: `${dryRun ? "would skip: " : ""}${decision.reason}` });
        continue;
      }
      if (decision.action === "refuse") {
        if (dryRun) {
          emit({ type: "warning", message: `step ${step.id} would be refused: ${decision.reason}` });
        } else {
          emit({ type: "error", step: step.id, message: decision.reason });
          failed = { step: step.id, message: decision.reason };
          resumeFrom = step.id;
          break;
        }
      }
    }
    if (dryRun) {
      emit({ type: "step-would-run", step: step.id, title: step.title, nodes: step.nodes, mode: step.mode });
      continue;
    }
    const t0 = Date.now();
    emit({ type: "step-start", step: step.id, title: step.title, nodes: step.nodes, mode: step.mode });
    let stepFailed: NonNullable<DeployResult["failed"]> | undefined;
    let stepChanged = false;
    const runOn = async (node: string) => {
      const late = deferred.get(node);
      if (late && late.length > 0) {
        // Push what has become possible; after the node's first step nothing may still wait.
        const p = await pushNode(conns.get(node)!, node, late, { root: rootFor(o.root, node), dryRun, timeoutMs: cmdTimeoutMs, redactor });
        changes.set(node, [...(changes.get(node) ?? []), ...p.changed]);
        log?.push(node, p.log);
        if (p.changed.length > 0) emit({ type: "push-end", node, changed: p.changed, unchanged: p.unchanged, ms: 0, dryRun });
        deferred.set(node, p.deferred);
        if (p.deferred.length > 0 && (stepsOnNode.get(node) ?? 0) > 0) {
          const message = `owner ${p.deferred[0]!.owner}:${p.deferred[0]!.group} of ${p.deferred[0]!.path} does not exist on ${node} after the OS-preparation step`;
          emit({ type: "error", node, step: step.id, message });
          if (!stepFailed) stepFailed = { step: step.id, node, code: null, message };
          return;
        }
      }
      stepsOnNode.set(node, (stepsOnNode.get(node) ?? 0) + 1);
      const r = await runStep(conns.get(node)!, node, step, index, { root: o.root, rootSteps: o.rootSteps ?? false, timeoutMs: stepTimeoutMs, redactor, log, emit });
      stepResults.push({ step: step.id, node, code: r.code, ms: r.ms, changes: r.changes });
      if (r.changes.length > 0) stepChanged = true;
      if (r.code !== 0 && !stepFailed) {
        stepFailed = { step: step.id, node, code: r.code, message: r.message, tail: r.tail };
      }
    };
    if (step.mode === "serial") {
      for (const node of step.nodes) {
        await runOn(node);
        if (stepFailed) break;
      }
    } else {
      // No new node starts after a failure; the ones already running finish.
      let next = 0;
      const worker = async () => {
        while (!stepFailed && next < step.nodes.length) await runOn(step.nodes[next++]!);
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, step.nodes.length) }, worker));
    }
    stepsRun++;
    if (stepChanged) stepsChanged++;
    emit({ type: "step-end", step: step.id, ok: !stepFailed, ms: Date.now() - t0, changed: stepChanged });
    if (stepFailed) {
      failed = stepFailed;
      resumeFrom = step.id;
      break;
    }
  }
  return finish();
}

interface PushResult {
  readonly changed: FileChange[];
  readonly unchanged: number;
  readonly log: string[];
  /** Files whose owner or group does not exist on the node yet. */
  readonly deferred: Artifact[];
}

async function pushNode(
  conn: Connection,
  node: string,
  files: readonly Artifact[],
  o: { readonly root: string; readonly dryRun: boolean; readonly timeoutMs: number; readonly redactor: Redactor },
): Promise<PushResult> {
  const targets = files.map((f) => ({ path: o.root + f.path, owner: f.owner, group: f.group }));
  const states = await inspect(conn, node, targets, { clean: !o.dryRun, mkdir: !o.dryRun, timeoutMs: o.timeoutMs, root: o.root });
  const changed: FileChange[] = [];
  const todo: InstallFile[] = [];
  const logLines: string[] = [];
  const deferred: Artifact[] = [];
  let unchanged = 0;
  for (const [i, f] of files.entries()) {
    const st = states[i]!;
    const target = targets[i]!.path;
    const content = Buffer.from(f.content, "utf8");
    const mode = f.mode & 0o7777;
    if (st.kind === "unknown-owner") {
      // Package users (rabbitmq, etcd, memcache...) appear only once the OS-preparation step has
      // installed the packages: such files are pushed as soon as their owner exists.
      deferred.push(f);
      logLines.push(`deferred ${target}: owner ${f.owner}:${f.group} does not exist yet`);
      continue;
    }
    if (st.kind === "other") throw new Error(`${target} exists and is not a regular file (a directory?): refusing to replace it`);
    let change: FileChange | undefined;
    if (st.kind === "missing") change = { path: f.path, action: "create", detail: `new file ${modeString(mode)} ${f.owner}:${f.group}`, secret: f.secret };
    else if (st.kind === "link") change = { path: f.path, action: "update", detail: "replaces a symbolic link", secret: f.secret };
    else {
      const parts: string[] = [];
      const contentDiffers = st.sha256 !== sha256(content);
      if (contentDiffers) parts.push("content");
      if (st.mode !== mode) parts.push(`mode ${modeString(st.mode ?? 0)} -> ${modeString(mode)}`);
      if (!st.ownerOk) parts.push(`owner ${st.owner}:${st.group} -> ${f.owner}:${f.group}`);
      if (parts.length > 0) change = { path: f.path, action: contentDiffers ? "update" : "attrs", detail: parts.join(", "), secret: f.secret };
    }
    if (!change) {
      unchanged++;
      logLines.push(`unchanged ${target}`);
      continue;
    }
    if (o.dryRun && !f.secret && change.action !== "attrs") {
      const before = st.kind === "file" ? await readRemote(conn, target, o.timeoutMs) : undefined;
      change = { ...change, diff: o.redactor.redact(unifiedDiff(before, f.content, f.path.replace(/^\//, ""))) };
    }
    changed.push(change);
    logLines.push(`${o.dryRun ? "would " : ""}${change.action} ${target} (${change.detail})`);
    todo.push({ target, ...(change.action === "attrs" ? {} : { content }), mode, owner: f.owner, group: f.group });
  }
  if (!o.dryRun) await install(conn, node, todo, { timeoutMs: o.timeoutMs, root: o.root });
  return { changed, unchanged, log: logLines, deferred };
}

interface StepRun {
  readonly code: number | null;
  readonly ms: number;
  readonly changes: string[];
  readonly tail: string;
  readonly message: string;
}

async function runStep(
  conn: Connection,
  node: string,
  step: RunnableStep,
  index: number,
  o: {
    readonly root: string | undefined;
    readonly rootSteps: boolean;
    readonly timeoutMs: number;
    readonly redactor: Redactor;
    readonly log: RunLog | undefined;
    readonly emit: (e: DeployEvent) => void;
  },
): Promise<StepRun> {
  const root = rootFor(o.root, node);
  const secs = Math.max(1, Math.ceil(o.timeoutMs / 1000));
  const env = root ? ["env", `HA_GEN_ROOT=${root}`, `HA_GEN_NODE=${node}`] : [];
  // `timeout` bounds the script on the node itself: closing an SSH channel does not stop it.
  const command = asRoot(conn, ["timeout", "--kill-after=30", `${secs}`, ...env, "bash", "--", root + step.script, ...(step.args ?? [])]);
  o.emit({ type: "node-step-start", step: step.id, node, command });
  const slog = o.log?.step(node, index, step.id, command);
  const tail: string[] = [];
  const changes: string[] = [];
  const keep = (l: string) => {
    tail.push(l);
    if (tail.length > TAIL_LINES) tail.shift();
  };
  const out = new LineRedactor(o.redactor, (l) => {
    slog?.line("out", l);
    keep(l);
    if (l.startsWith(CHANGED)) changes.push(l.slice(CHANGED.length));
  });
  const err = new LineRedactor(o.redactor, (l) => {
    slog?.line("err", l);
    keep(l);
  });
  const t0 = Date.now();
  let code: number | null;
  let timedOut = false;
  let message: string;
  try {
    const r = await conn.exec(command, { timeoutMs: o.timeoutMs + 60_000, onStdout: (c) => out.push(c), onStderr: (c) => err.push(c) });
    out.flush();
    err.flush();
    code = r.code;
    timedOut = r.timedOut === true || r.code === 124;
    message =
      code === 0
        ? "ok"
        : timedOut
          ? `timed out after ${secs}s`
          : code === null
            ? `no exit status (${r.signal ? `signal ${r.signal}` : "connection lost"})`
            : `exit status ${code}`;
  } catch (e) {
    out.flush();
    err.flush();
    code = null;
    message = `could not run: ${(e as Error).message}`;
  }
  const ms = Date.now() - t0;
  slog?.end(code, code === 0 ? undefined : message);
  const tailText = o.redactor.redact(lastLines(tail.join("\n"), TAIL_LINES));
  o.emit({ type: "node-step-end", step: step.id, node, code, ms, changes, ...(code !== 0 ? { tail: tailText } : {}), ...(timedOut ? { timedOut } : {}) });
  return { code, ms, changes, tail: tailText, message };
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

/** Every string inside `v`, redacted (events, results). */
export function redactDeep<T>(v: T, r: Redactor): T {
  if (r.empty) return v;
  if (typeof v === "string") return r.redact(v) as T;
  if (Array.isArray(v)) return v.map((x) => redactDeep(x, r)) as T;
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = redactDeep(x, r);
    return out as T;
  }
  return v;
}
