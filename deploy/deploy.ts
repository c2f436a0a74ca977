import { createHash } from "node:crypto";
import { ROLL_ENV, type Artifact, type PlanStep, type RollPass } from "../src/core/artifact.js";
import { ConnectError, HaGenError, UsageError } from "../src/core/errors.js";
import { guardProblem } from "../src/core/formats.js";
import { unifiedDiff } from "./diff.js";
import type { DeployEvent, EventSink, FileChange } from "./events.js";
import { decideGuard, probeGuard, probeNodes } from "./guards.js";
import { describeBusy, lockNodes, type HeldLock } from "./lock.js";
import { LineRedactor, Redactor } from "./redact.js";
import {
  asRoot,
  forEachLimit,
  inspect,
  install,
  lastLines,
  modeString,
  readRemote,
  RemoteError,
  type InstallFile,
  type RemoteFileState,
} from "./remote-fs.js";
import { RunLog, newRunId } from "./run-log.js";
import { PUSH, rootFor, selectRun, type Selection } from "./select.js";
import type { Connection, Transport } from "./transport.js";

/**
 * deploy(): push every node's files, then run the plan's steps in order, over any Transport.
 *
 * Order of a run: connect to every node involved (nothing changes if one is unreachable or
 * refuses its host key) and take each node's deploy lock (lock.ts: a second deploy of the same
 * nodes is refused before it changes anything) → push files to all nodes (only those whose
 * content, mode or owner differ; atomic) → run the steps in plan order, each on its nodes one at
 * a time (serial), together (parallel) or rolling (together with HA_GEN_ROLL=start, then one at a
 * time in plan order with HA_GEN_ROLL=restart), stopping at the first failure: no later step or
 * node starts, running ones finish. A failed
 * run reports the node, step, exit status and last output lines, and the `--from` to resume with.
 * Each of these is a phase below (select, connectAll, pushFiles, runSteps, finish) over one Run.
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
  /** Of a rolling step: which pass. */
  readonly pass?: RollPass;
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
  readonly failed?: {
    readonly step: string;
    readonly node?: string;
    readonly code?: number | null;
    readonly message: string;
    readonly tail?: string;
  };
  /** The step to pass to --from to resume after a failure. */
  readonly resumeFrom?: string;
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
/** The `step` of a failure to take the deploy lock. */
const LOCK = "lock";
const CHANGED = "ha-gen:changed ";
const TAIL_LINES = 20;

type Failure = NonNullable<DeployResult["failed"]>;

/** Why a run stopped early, and the step to resume from (none after a failed connect: run it again). */
interface Stop {
  readonly failed: Failure;
  readonly resumeFrom?: string;
}

/**
 * One run, shared by its phases: the options resolved, what `select` chose, and what the later
 * phases fill in (connections, changes, results, counts).
 */
interface Run {
  readonly o: DeployOptions;
  readonly runId: string;
  readonly started: number;
  readonly dryRun: boolean;
  readonly concurrency: number;
  readonly stepTimeoutMs: number;
  readonly cmdTimeoutMs: number;
  readonly redactor: Redactor;
  readonly log: RunLog | undefined;
  /** Redacts, logs and reports one event. */
  readonly emit: (e: DeployEvent) => void;
  readonly files: ReadonlyMap<string, readonly Artifact[]>;
  readonly sel: Selection;
  readonly pushNodes: readonly string[];
  /** Per guarded step of this run: the nodes its probe asks. */
  readonly probes: ReadonlyMap<PlanStep, readonly string[]>;
  /** Every node the run connects to. */
  readonly nodes: readonly string[];
  readonly conns: Map<string, Connection>;
  /** Per node: files waiting for their owner to exist. */
  readonly deferred: Map<string, readonly Artifact[]>;
  /** Nodes that have run a step: no file may wait for its owner after that. */
  readonly stepped: Set<string>;
  readonly changes: Map<string, FileChange[]>;
  readonly stepResults: NodeStepResult[];
  readonly count: { filesUnchanged: number; stepsRun: number; stepsChanged: number };
  /** The caller (recoverGalera) already holds every node's lock for this run. */
  readonly lockHeld: boolean;
  /** Node locks this run holds, released when it ends. */
  readonly locks: HeldLock[];
  /** run-end was emitted: nothing may be emitted or logged after it. */
  readonly state: { ended: boolean };
}

export function deploy(o: DeployOptions): Promise<DeployResult> {
  return runDeploy(o, false);
}

/** For recoverGalera, which holds every node's deploy lock itself for its whole run. Not public API. */
export function deployUnderCallersLock(o: DeployOptions): Promise<DeployResult> {
  return runDeploy(o, true);
}

async function runDeploy(o: DeployOptions, lockHeld: boolean): Promise<DeployResult> {
  const run = select(o, lockHeld);
  const { sel } = run;
  run.emit({
    type: "run-start",
    runId: run.runId,
    dryRun: run.dryRun,
    nodes: run.nodes,
    steps: sel.steps.map((s) => s.id),
    push: sel.push,
    ...(o.logDir ? { logDir: o.logDir } : {}),
  });
  for (const message of sel.notes) run.emit({ type: "warning", message });
  let stop: Stop | undefined;
  try {
    stop = (await connectAll(run)) ?? (await pushFiles(run)) ?? (await runSteps(run));
  } catch (e) {
    // Not a failed rollout but an error deploy cannot report as one: still release what is open.
    await closeAll(run);
    run.state.ended = true;
    await run.log?.close();
    throw redactError(e, run.redactor);
  }
  return finish(run, stop);
}

/** Phase 1: check the options and decide what this run does; nothing is contacted yet. */
function select(o: DeployOptions, lockHeld: boolean): Run {
  const started = Date.now();
  if (o.root !== undefined && !o.root.startsWith("/")) {
    throw new UsageError(`--root must be an absolute path, got "${o.root}"`);
  }
  for (const s of o.plan.steps) {
    const problem = s.guard === undefined ? undefined : guardProblem(s.guard);
    if (problem) throw new UsageError(`step ${s.id}: ${problem}`);
  }
  const files = new Map<string, Artifact[]>();
  for (const a of o.artifacts) files.set(a.node, [...(files.get(a.node) ?? []), a]);
  const allNodes = unique([...files.keys(), ...o.plan.steps.flatMap((s) => s.nodes)]);
  const sel = selectRun(o.plan.steps, allNodes, {
    ...(o.from !== undefined ? { from: o.from } : {}),
    ...(o.only !== undefined ? { only: o.only } : {}),
    ...(o.nodes !== undefined ? { nodes: o.nodes } : {}),
    root: o.root !== undefined,
    rootSteps: o.rootSteps ?? false,
  });
  const pushNodes = sel.push ? [...files.keys()].filter((n) => !sel.nodeFilter || sel.nodeFilter.has(n)) : [];
  const probes = new Map<PlanStep, readonly string[]>();
  for (const s of sel.steps) {
    // The whole plan step, not only its --nodes part: safety looks at every member.
    if (s.guard) probes.set(s, probeNodes(o.plan.steps.find((p) => p.id === s.id)!, s.guard));
  }
  const redactor = new Redactor(o.secrets ?? []);
  const log = o.logDir ? new RunLog(o.logDir, redactor) : undefined;
  const state = { ended: false };
  return {
    o,
    runId: o.runId ?? newRunId(),
    started,
    dryRun: o.dryRun ?? false,
    concurrency: Math.max(1, o.concurrency ?? 16),
    stepTimeoutMs: o.stepTimeoutMs ?? 30 * 60_000,
    cmdTimeoutMs: o.commandTimeoutMs ?? 120_000,
    redactor,
    log,
    emit: (e) => {
      if (state.ended) return;
      const safe = redactDeep(e, redactor);
      log?.event(safe);
      o.onEvent?.(safe);
    },
    files,
    sel,
    pushNodes,
    probes,
    nodes: unique([...pushNodes, ...sel.steps.flatMap((s) => s.nodes), ...[...probes.values()].flat()]),
    conns: new Map(),
    deferred: new Map(),
    stepped: new Set(),
    changes: new Map(),
    stepResults: [],
    count: { filesUnchanged: 0, stepsRun: 0, stepsChanged: 0 },
    lockHeld,
    locks: [],
    state,
  };
}

/** Phase 2: connect to every node first, so an unreachable node or a refused host key changes nothing. */
async function connectAll(run: Run): Promise<Stop | undefined> {
  const unreachable: string[] = [];
  await forEachLimit(run.nodes, run.concurrency, async (node) => {
    run.emit({ type: "connect-start", node });
    const t0 = Date.now();
    try {
      run.conns.set(node, await run.o.transport.connect(node));
      run.emit({ type: "connect-end", node, ms: Date.now() - t0 });
    } catch (e) {
      // Unusable input (an ssh config mistake, an identity that is a directory) is not a node that
      // cannot be reached: it fails the run as itself, before anything changed.
      if (e instanceof HaGenError && !(e instanceof ConnectError)) throw e;
      unreachable.push(node);
      run.emit({ type: "error", node, message: e instanceof Error ? e.message : String(e) });
    }
  });
  if (unreachable.length > 0) {
    const message = `cannot connect to ${unreachable.join(", ")}: nothing was changed`;
    return { failed: { step: "connect", node: unreachable[0]!, message } };
  }
  return run.lockHeld ? undefined : lockAll(run);
}

/**
 * Still phase 2, once every connection is up: each node's deploy lock (lock.ts), so a second run
 * of the same nodes stops here, having changed nothing. A dry run changes nothing and holds
 * nothing: it only warns that what it shows may be changing under another run.
 */
async function lockAll(run: Run): Promise<Stop | undefined> {
  const r = await lockNodes(run.nodes, run.conns, {
    check: run.dryRun,
    rootOf: (node) => rootFor(run.o.root, node),
    runId: run.runId,
    timeoutMs: run.cmdTimeoutMs,
    concurrency: run.concurrency,
    onLost: (node) =>
      run.emit({ type: "warning", message: `${node}: the deploy lock ended before the run (connection lost?)` }),
    onError: (node, e) =>
      run.dryRun
        ? run.emit({ type: "warning", message: `cannot check the deploy lock on ${node}: ${(e as Error).message}` })
        : run.emit({ type: "error", node, step: LOCK, message: (e as Error).message }),
  });
  // Released with the connections, also when the run stops here (finish).
  run.locks.push(...r.held);
  if (run.dryRun) {
    if (r.busy.size > 0) {
      run.emit({ type: "warning", message: `${describeBusy(r.busy)}: what this dry run shows may be changing` });
    }
    return undefined;
  }
  const first = [...r.busy.keys()][0];
  if (first !== undefined) return { failed: { step: LOCK, node: first, message: describeBusy(r.busy) } };
  if (r.failed.length > 0) {
    const message = `cannot take the deploy lock on ${r.failed.join(", ")}: nothing was changed`;
    return { failed: { step: LOCK, node: r.failed[0]!, message } };
  }
  return undefined;
}

/** Phase 3: push every node's files, the nodes in parallel; only files that differ are written. */
async function pushFiles(run: Run): Promise<Stop | undefined> {
  if (!run.sel.push) return undefined;
  const errors: { node: string; message: string }[] = [];
  await forEachLimit(run.pushNodes, run.concurrency, async (node) => {
    const t0 = Date.now();
    const files = run.files.get(node)!;
    run.emit({ type: "push-start", node, files: files.length });
    try {
      const r = await pushNode(run, node, files);
      if (r.deferred.length > 0) {
        run.deferred.set(node, r.deferred);
        const which = r.deferred.map((f) => `${f.path} ${f.owner}:${f.group}`).join(", ");
        const message =
          `${node}: ${r.deferred.length} file(s) wait for their owner to exist ` +
          `(created by the packages the first step installs): ${which}`;
        run.emit({ type: "warning", message });
      }
      run.changes.set(node, r.changed);
      run.count.filesUnchanged += r.unchanged;
      run.log?.push(node, r.log);
      const ms = Date.now() - t0;
      run.emit({ type: "push-end", node, changed: r.changed, unchanged: r.unchanged, ms, dryRun: run.dryRun });
    } catch (e) {
      const message = (e as Error).message;
      errors.push({ node, message });
      run.log?.push(node, [`push failed: ${message}`]);
      run.emit({ type: "error", node, step: PUSH, message });
    }
  });
  if (errors.length === 0) return undefined;
  const message = `pushing files failed on ${errors.map((p) => p.node).join(", ")}: ${errors[0]!.message}`;
  // Every file is replaced atomically, so pushing again is always safe.
  return { failed: { step: PUSH, node: errors[0]!.node, message }, resumeFrom: PUSH };
}

/** A step as it runs: with the environment its guard gave it. */
type StepToRun = RunnableStep & { readonly env?: Readonly<Record<string, string>> };

/** Phase 4: the steps in plan order, each after its guard; stops at the first failure. */
async function runSteps(run: Run): Promise<Stop | undefined> {
  for (const [index, step] of run.sel.steps.entries()) {
    const guard = await checkGuard(run, step);
    if (guard === "skip") continue;
    if ("failed" in guard) return guard;
    if (run.dryRun) {
      run.emit({ type: "step-would-run", step: step.id, title: step.title, nodes: step.nodes, mode: step.mode });
      continue;
    }
    const failed = await runStep(run, guard.env ? { ...step, env: guard.env } : step, index);
    if (failed) return { failed, resumeFrom: step.id };
  }
  return undefined;
}

/** Probes a guarded step's nodes: run it (with its guard's environment), skip it, or stop the run (dry run: warn). */
async function checkGuard(run: Run, step: PlanStep): Promise<Pick<StepToRun, "env"> | "skip" | Stop> {
  const nodes = run.probes.get(step);
  if (!step.guard || !nodes) return {};
  const decision = decideGuard(step.guard.kind, await probeGuard(step.guard, run.conns, nodes, run.cmdTimeoutMs));
  if (decision.action === "skip") {
    run.emit({ type: "step-skip", step: step.id, reason: `${run.dryRun ? "would skip: " : ""}${decision.reason}` });
    return "skip";
  }
  if (decision.action === "run") return decision.env ? { env: decision.env } : {};
  if (run.dryRun) {
    run.emit({ type: "warning", message: `step ${step.id} would be refused: ${decision.reason}` });
    return {};
  }
  run.emit({ type: "error", step: step.id, message: decision.reason });
  return { failed: { step: step.id, message: decision.reason }, resumeFrom: step.id };
}

/**
 * One step on its nodes, one at a time (serial), together (parallel), or rolling (both: first
 * together with HA_GEN_ROLL=start, then one at a time with HA_GEN_ROLL=restart, in the plan's
 * order). No node starts after a failure; in the restart pass the next node never starts before
 * the previous one's script has verified it healthy in its cluster and exited 0.
 */
async function runStep(run: Run, step: StepToRun, index: number): Promise<Failure | undefined> {
  const t0 = Date.now();
  run.emit({ type: "step-start", step: step.id, title: step.title, nodes: step.nodes, mode: step.mode });
  let failed: Failure | undefined;
  let changed = false;
  const runOn = async (node: string, pass?: RollPass) => {
    let late: Failure | undefined;
    try {
      late = await pushDeferred(run, node, step);
    } catch (e) {
      // A failed late push fails this step on this node like a failed script (reported, redacted).
      const message = `pushing the files that waited for their owner failed: ${(e as Error).message}`;
      run.emit({ type: "error", node, step: step.id, message });
      late = { step: step.id, node, code: null, message };
    }
    if (late) {
      failed ??= late;
      return;
    }
    run.stepped.add(node);
    const r = await runScript(run, node, step, index, pass);
    run.stepResults.push({
      step: step.id,
      node,
      code: r.code,
      ms: r.ms,
      changes: r.changes,
      ...(pass ? { pass } : {}),
    });
    if (r.changes.length > 0) changed = true;
    if (r.code !== 0) failed ??= { step: step.id, node, code: r.code, message: r.message, tail: r.tail };
  };
  const serially = async (pass?: RollPass) => {
    for (const node of step.nodes) {
      await runOn(node, pass);
      if (failed) break;
    }
  };
  const together = async (pass?: RollPass) => {
    // The ones already running finish.
    let next = 0;
    const worker = async () => {
      while (!failed && next < step.nodes.length) await runOn(step.nodes[next++]!, pass);
    };
    await Promise.all(Array.from({ length: Math.min(run.concurrency, step.nodes.length) }, worker));
  };
  if (step.mode === "serial") await serially();
  else if (step.mode === "parallel") await together();
  else {
    await together("start");
    if (!failed) await serially("restart");
  }
  run.count.stepsRun++;
  if (changed) run.count.stepsChanged++;
  run.emit({ type: "step-end", step: step.id, ok: !failed, ms: Date.now() - t0, changed });
  return failed;
}

/**
 * Pushes the node's files that waited for their owner, now that earlier steps may have created
 * it; after the node's first step none may still wait.
 */
async function pushDeferred(run: Run, node: string, step: PlanStep): Promise<Failure | undefined> {
  const late = run.deferred.get(node);
  if (!late || late.length === 0) return undefined;
  const p = await pushNode(run, node, late);
  run.changes.set(node, [...(run.changes.get(node) ?? []), ...p.changed]);
  run.log?.push(node, p.log);
  if (p.changed.length > 0) {
    run.emit({ type: "push-end", node, changed: p.changed, unchanged: p.unchanged, ms: 0, dryRun: run.dryRun });
  }
  run.deferred.set(node, p.deferred);
  if (p.deferred.length === 0 || !run.stepped.has(node)) return undefined;
  const f = p.deferred[0]!;
  const message = `owner ${f.owner}:${f.group} of ${f.path} does not exist on ${node} after the OS-preparation step`;
  run.emit({ type: "error", node, step: step.id, message });
  return { step: step.id, node, code: null, message };
}

/** Last: close every connection, report the end of the run, and its result. */
async function finish(run: Run, stop: Stop | undefined): Promise<DeployResult> {
  await closeAll(run);
  const { failed, resumeFrom } = stop ?? {};
  const filesChanged = [...run.changes.values()].reduce((n, c) => n + c.length, 0);
  const { filesUnchanged, stepsRun, stepsChanged } = run.count;
  run.emit({
    type: "run-end",
    ok: !failed,
    dryRun: run.dryRun,
    ms: Date.now() - run.started,
    filesChanged,
    filesUnchanged,
    stepsRun,
    stepsChanged,
    ...(failed ? { failed } : {}),
    ...(resumeFrom ? { resumeFrom } : {}),
  });
  run.state.ended = true;
  await run.log?.close();
  return {
    ok: !failed,
    runId: run.runId,
    filesChanged,
    filesUnchanged,
    changes: run.changes,
    stepResults: run.stepResults,
    ...(failed ? { failed: redactDeep(failed, run.redactor) } : {}),
    ...(resumeFrom ? { resumeFrom } : {}),
  };
}

async function closeAll(run: Run): Promise<void> {
  // Released before the connections close: the next run may start as soon as this one returns.
  await Promise.all(run.locks.map((l) => l.release()));
  await Promise.all([...run.conns.values()].map((c) => c.close().catch(() => undefined)));
  await run.o.transport.close?.().catch(() => undefined);
}

interface PushResult {
  readonly changed: FileChange[];
  readonly unchanged: number;
  readonly log: string[];
  /** Files whose owner or group does not exist on the node yet. */
  readonly deferred: Artifact[];
}

/** Compares one node's files with what is there and installs those that differ (not in a dry run). */
async function pushNode(run: Run, node: string, files: readonly Artifact[]): Promise<PushResult> {
  const conn = run.conns.get(node)!;
  const root = rootFor(run.o.root, node);
  const { dryRun, cmdTimeoutMs: timeoutMs } = run;
  const targets = files.map((f) => ({ path: root + f.path, owner: f.owner, group: f.group }));
  const states = await inspect(conn, node, targets, { clean: !dryRun, mkdir: !dryRun, timeoutMs, root });
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
    if (st.kind === "other") {
      throw new RemoteError(node, `${target} exists and is not a regular file (a directory?): refusing to replace it`);
    }
    let change = fileChange(f, mode, content, st);
    if (!change) {
      unchanged++;
      logLines.push(`unchanged ${target}`);
      continue;
    }
    if (dryRun && !f.secret && change.action !== "attrs") {
      const before = st.kind === "file" ? await readRemote(conn, target, timeoutMs) : undefined;
      change = { ...change, diff: run.redactor.redact(unifiedDiff(before, f.content, f.path.replace(/^\//, ""))) };
    }
    changed.push(change);
    logLines.push(`${dryRun ? "would " : ""}${change.action} ${target} (${change.detail})`);
    todo.push({ target, ...(change.action === "attrs" ? {} : { content }), mode, owner: f.owner, group: f.group });
  }
  if (!dryRun) await install(conn, node, todo, { timeoutMs, root });
  return { changed, unchanged, log: logLines, deferred };
}

/** What differs between file `f` and what the node has (undefined: nothing). */
function fileChange(f: Artifact, mode: number, content: Buffer, st: RemoteFileState): FileChange | undefined {
  const { path, secret } = f;
  const owner = `${f.owner}:${f.group}`;
  if (st.kind === "missing") return { path, action: "create", detail: `new file ${modeString(mode)} ${owner}`, secret };
  if (st.kind === "link") return { path, action: "update", detail: "replaces a symbolic link", secret };
  const parts: string[] = [];
  const contentDiffers = st.sha256 !== sha256(content);
  if (contentDiffers) parts.push("content");
  if (st.mode !== mode) parts.push(`mode ${modeString(st.mode ?? 0)} -> ${modeString(mode)}`);
  if (!st.ownerOk) parts.push(`owner ${st.owner}:${st.group} -> ${owner}`);
  if (parts.length === 0) return undefined;
  return { path, action: contentDiffers ? "update" : "attrs", detail: parts.join(", "), secret };
}

interface ScriptRun {
  readonly code: number | null;
  readonly ms: number;
  readonly changes: string[];
  readonly tail: string;
  readonly message: string;
}

/** Runs a step's script on one node, streaming its output into the log and the events. */
async function runScript(run: Run, node: string, step: StepToRun, index: number, pass?: RollPass): Promise<ScriptRun> {
  const conn = run.conns.get(node)!;
  const { redactor, stepTimeoutMs } = run;
  const root = rootFor(run.o.root, node);
  const secs = Math.max(1, Math.ceil(stepTimeoutMs / 1000));
  const vars = [
    ...(root ? [`HA_GEN_ROOT=${root}`, `HA_GEN_NODE=${node}`] : []),
    ...Object.entries(step.env ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(pass ? [`${ROLL_ENV}=${pass}`] : []),
  ];
  const env = vars.length > 0 ? ["env", ...vars] : [];
  // `timeout` bounds the script on the node itself: closing an SSH channel does not stop it.
  const script = ["bash", "--", root + step.script, ...(step.args ?? [])];
  const command = asRoot(conn, ["timeout", "--kill-after=30", `${secs}`, ...env, ...script]);
  run.emit({ type: "node-step-start", step: step.id, node, command, ...(pass ? { pass } : {}) });
  // A rolling step's passes log to files of their own.
  const slog = run.log?.step(node, index, pass ? `${step.id}-${pass}` : step.id, command);
  const tail: string[] = [];
  const changes: string[] = [];
  const keep = (l: string) => {
    tail.push(l);
    if (tail.length > TAIL_LINES) tail.shift();
  };
  const out = new LineRedactor(redactor, (l) => {
    slog?.line("out", l);
    keep(l);
    if (l.startsWith(CHANGED)) changes.push(l.slice(CHANGED.length));
  });
  const err = new LineRedactor(redactor, (l) => {
    slog?.line("err", l);
    keep(l);
  });
  const t0 = Date.now();
  let code: number | null;
  let timedOut = false;
  let message: string;
  try {
    const r = await conn.exec(command, {
      timeoutMs: stepTimeoutMs + 60_000,
      onStdout: (c) => out.push(c),
      onStderr: (c) => err.push(c),
    });
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
  const tailText = redactor.redact(lastLines(tail.join("\n"), TAIL_LINES));
  run.emit({
    type: "node-step-end",
    step: step.id,
    node,
    ...(pass ? { pass } : {}),
    code,
    ms,
    changes,
    ...(code !== 0 ? { tail: tailText } : {}),
    ...(timedOut ? { timedOut } : {}),
  });
  return { code, ms, changes, tail: tailText, message };
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

/**
 * An error leaving deploy(), made safe to print: its message and stack redacted in place (callers
 * still see its class and code), and a RemoteError's command output too.
 */
export function redactError(e: unknown, r: Redactor): unknown {
  if (r.empty || !(e instanceof Error)) return e;
  e.message = r.redact(e.message);
  if (e.stack) e.stack = r.redact(e.stack);
  const withResult = e as { result?: unknown };
  if (withResult.result !== undefined) {
    Object.defineProperty(e, "result", { value: redactDeep(withResult.result, r), enumerable: true });
  }
  return e;
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
