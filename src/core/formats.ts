import { createHash } from "node:crypto";
import * as z from "zod";
import { ROLL_ENV, type AppliedOverride, type Artifact, type Plan, type PlanStep, type StepGuard } from "./artifact.js";
import { InputError } from "./errors.js";
import {
  cutText,
  formatIssue,
  formatPath,
  formatValue,
  SHOWN_MAX,
  WARNING_IDS,
  type SpecIssue,
} from "./spec/issues.js";
import { HOSTNAME_RE } from "./spec/schema.js";

/**
 * The files a render writes besides the node trees: plan.json and manifest.json (read back by
 * `ha-gen deploy <dir>` and other tooling) and PLAN.md (for people). Each machine-readable file is
 * one zod schema: the writer builds a value of its type, the reader parses with the same schema.
 */

export const PLAN_FORMAT = "ha-gen-plan/1";
export const MANIFEST_FORMAT = "ha-gen-manifest/1";

const hostname = z.string().regex(HOSTNAME_RE, { error: "is not a valid node name" });
/** An absolute path on a node: no `.`/`..` segments, nothing a shell or a join could misread. */
const nodePath = z
  .string()
  .regex(/^(\/[^/\0]+)+$/, { error: "is not an absolute path" })
  .refine((p) => !p.split("/").some((s) => s === "." || s === ".."), { error: "must not contain . or .. segments" });

/** A step's guard: the check deploy makes before a step that cannot be undone (see StepGuard). */
export const stepGuardSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("galera-bootstrap"),
    nodes: z.array(hostname),
    probe: z.strictObject({
      secretsEnv: nodePath,
      rootPasswordVar: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, { error: "is not a variable name" }),
      port: z.int().min(1).max(65535),
    }),
  }),
  z.strictObject({
    kind: z.literal("pacemaker-cluster"),
    nodes: z.array(hostname),
    probe: z.strictObject({ corosyncConf: nodePath }),
  }),
]);

/** Why `g`, a step guard from a plan built outside ha-gen, is not one this version can check. */
export function guardProblem(g: unknown): string | undefined {
  const kind = (g as { kind?: unknown } | null)?.kind;
  if (kind !== "galera-bootstrap" && kind !== "pacemaker-cluster") return `unknown guard kind ${JSON.stringify(kind)}`;
  const r = stepGuardSchema.safeParse(g);
  return r.success
    ? undefined
    : r.error.issues.map((i) => `${["guard", ...i.path].join(".")}: ${i.message}`).join("; ");
}

export const planStepSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, { error: "is not a step id" }),
  title: z.string(),
  guideSection: z.string(),
  nodes: z.array(hostname).min(1),
  mode: z.enum(["serial", "parallel", "rolling"]),
  script: nodePath,
  verifies: z.array(z.string()),
  guard: stepGuardSchema.optional(),
});

/** A warning of the spec as plan.json lists it; `acknowledged` when `safety.acknowledge` names its id. */
export const planWarningSchema = z.strictObject({
  id: z.enum(WARNING_IDS).optional(),
  path: z.string(),
  /** The one-line form the terminal shows, value included. */
  text: z.string(),
  acknowledged: z.boolean(),
});

/** One of the spec's overrides as applied (AppliedOverride): for review, deploy does not read it. */
export const appliedOverrideSchema = z.strictObject({
  index: z.int().min(0),
  path: nodePath,
  nodes: z.array(hostname).min(1),
  kind: z.enum(["ini", "append", "replace"]),
  set: z.array(z.string()).optional(),
  removed: z.array(z.string()).optional(),
  lines: z.int().min(0).optional(),
});

export const planFileSchema = z.strictObject({
  format: z.literal(PLAN_FORMAT),
  cluster: z.string(),
  os: z.string(),
  steps: z.array(planStepSchema),
  /** Added in 0.4 (optional, so plan.json files of 0.3 still read); absent when the spec has none. */
  warnings: z.array(planWarningSchema).optional(),
  /** Absent when the spec has no overrides (so such plans are unchanged). */
  overrides: z.array(appliedOverrideSchema).optional(),
});
export type PlanFile = z.infer<typeof planFileSchema>;

export const manifestEntrySchema = z.strictObject({
  node: hostname,
  path: nodePath,
  /** Octal permission bits as text, e.g. "0640". */
  mode: z.string().regex(/^0[0-7]{1,4}$/, { error: "is not an octal mode" }),
  owner: z.string().min(1),
  group: z.string().min(1),
  secret: z.boolean(),
  family: z.string(),
  /** Of the content; none for a secret file (its digest would let anyone test a guess offline). */
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});
export const manifestFileSchema = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  files: z.array(manifestEntrySchema),
});
export type ManifestEntry = z.infer<typeof manifestEntrySchema>;
export type ManifestFile = z.infer<typeof manifestFileSchema>;

// The schemas and the types the generators produce must describe the same thing.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Mutable<T> = T extends readonly (infer E)[]
  ? Mutable<E>[]
  : T extends object
    ? { -readonly [K in keyof T]: Mutable<T[K]> }
    : T;
const typesAgree: [
  Same<z.infer<typeof planStepSchema>, Mutable<PlanStep>>,
  Same<z.infer<typeof stepGuardSchema>, Mutable<StepGuard>>,
  Same<z.infer<typeof appliedOverrideSchema>, Mutable<AppliedOverride>>,
] = [true, true, true];
void typesAgree;

export function sha256(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

function planWarnings(warnings: readonly SpecIssue[]): z.infer<typeof planWarningSchema>[] {
  return warnings.map((w) => ({
    ...(w.id ? { id: w.id } : {}),
    path: w.path,
    text: formatIssue({ ...w, severity: "error" }),
    acknowledged: w.acknowledged === true,
  }));
}

/** plan.json: the machine-readable rollout, with the spec's warnings (acknowledged ones marked). */
export function planJson(plan: Plan, warnings: readonly SpecIssue[] = []): string {
  const file: PlanFile = {
    format: PLAN_FORMAT,
    cluster: plan.cluster,
    os: plan.os,
    steps: plan.steps as Mutable<readonly PlanStep[]>,
    ...(warnings.length > 0 ? { warnings: planWarnings(warnings) } : {}),
    ...(plan.overrides ? { overrides: plan.overrides as Mutable<readonly AppliedOverride[]> } : {}),
  };
  return json(file);
}

/** manifest.json: every file with its owner, mode and, unless it is secret, the digest of its content. */
export function manifestJson(artifacts: readonly Artifact[]): string {
  const file: ManifestFile = {
    format: MANIFEST_FORMAT,
    files: artifacts.map((a) => ({
      node: a.node,
      path: a.path,
      mode: `0${a.mode.toString(8)}`,
      owner: a.owner,
      group: a.group,
      secret: a.secret,
      family: a.family,
      ...(a.secret ? {} : { sha256: sha256(a.content) }),
    })),
  };
  return json(file);
}

const shortened = (m: string) => {
  const { text, cut } = cutText(m, SHOWN_MAX * 2);
  return cut ? `${text}…` : text;
};

/** Parses `text` (the file `where`) with `schema`; every problem is reported with its JSON path. */
function parseFile<T>(schema: z.ZodType<T>, text: string, where: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${where}: not valid JSON: ${(e as Error).message.split("\n")[0]}`);
  }
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  // zod's messages quote keys and values: cut, so a huge one is not echoed whole.
  const problems = r.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? formatPath(i.path) : "(top)"}: ${shortened(i.message)}`);
  const more = r.error.issues.length > 5 ? ` (and ${r.error.issues.length - 5} more)` : "";
  throw new InputError(`${where}: not an ha-gen file of this version: ${problems.join("; ")}${more}`);
}

export function parsePlanJson(text: string, where: string): PlanFile {
  return parseFile(planFileSchema, text, where);
}

export function parseManifestJson(text: string, where: string): ManifestFile {
  return parseFile(manifestFileSchema, text, where);
}

/** What deploy checks before a guarded step, for PLAN.md. */
function guardText(s: PlanStep, g: StepGuard): string {
  const nodes = [...new Set([...s.nodes, ...g.nodes])].join(", ");
  switch (g.kind) {
    case "galera-bootstrap":
      return (
        `before this step \`ha-gen deploy\` asks ${nodes} whether Galera runs (wsrep_cluster_status, or a ` +
        `listener on port ${g.probe.port}): when a Primary component exists it runs with HA_GEN_CLUSTER_EXISTS=1 ` +
        "(joins it, never bootstraps); refused when a node runs without one or cannot be asked"
      );
    case "pacemaker-cluster":
      return (
        `before this step \`ha-gen deploy\` checks ${nodes} for an existing cluster (corosync-quorumtool, or ` +
        `two or more nodes in ${g.probe.corosyncConf}): when one exists it runs with HA_GEN_CLUSTER_EXISTS=1 ` +
        "(starts it, never sets one up)"
      );
  }
}

/** PLAN.md: the same plan for a person, in the guide's order; the spec's warnings (acknowledged ones too) first. */
export function planMarkdown(plan: Plan, artifacts: readonly Artifact[], warnings: readonly SpecIssue[] = []): string {
  const out: string[] = [];
  out.push(`<!-- generated by ha-gen — do not edit -->`);
  out.push(`# Rollout plan for ${plan.cluster} (${plan.os})`, "");
  if (warnings.length > 0) {
    // Before the steps: a reviewer sees the accepted risks even when the terminal no longer shows them.
    out.push("## Warnings", "");
    for (const w of planWarnings(warnings))
      out.push(`- ${w.id ? `\`${w.id}\`` : "(no id)"}${w.acknowledged ? " (acknowledged)" : ""}: ${w.text}`);
    out.push("", "## Steps", "");
  }
  out.push(
    "1. **Push files.** Every node receives the files under its folder of this directory",
    "   (`rsync -a <dir>/<node>/ root@<node>:/` by hand, or `ha-gen deploy`). Owners and modes are in",
    "   `manifest.json`; files marked secret are mode 0600/0640 and must stay so.",
    "",
  );
  plan.steps.forEach((s, i) => {
    const how =
      s.nodes.length === 1
        ? `on ${s.nodes[0]}`
        : s.mode === "serial"
          ? `on ${s.nodes.join(", ")}, one node at a time, in this order`
          : s.mode === "rolling"
            ? `rolling on ${s.nodes.join(", ")}: first on every node at once with ${ROLL_ENV}=start (starts ` +
              `what is stopped, restarts nothing), then one node at a time, in this order, with ${ROLL_ENV}=restart ` +
              "(restarts what changed and waits until the node is healthy in its cluster before the next)"
            : `on ${s.nodes.join(", ")} in parallel`;
    out.push(`${i + 2}. **${s.title}** (\`${s.id}\`, guide ${s.guideSection}): run \`${s.script}\` ${how}.`);
    for (const v of s.verifies) out.push(`   - verifies: ${v}`);
    if (s.guard) out.push(`   - guard: ${guardText(s, s.guard)}`);
  });
  const overridden = new Map<string, number[]>();
  if (plan.overrides && plan.overrides.length > 0) {
    out.push("", "## Overrides from the spec", "");
    out.push("Applied in this order after generation; the files keep their owner, group and mode.", "");
    for (const o of plan.overrides) {
      for (const n of o.nodes)
        overridden.set(`${n}\0${o.path}`, [...(overridden.get(`${n}\0${o.path}`) ?? []), o.index]);
      const keys = (ks: readonly string[]) => ks.map((k) => `\`${k}\``).join(", ");
      const changes = [...(o.set ? [`sets ${keys(o.set)}`] : []), ...(o.removed ? [`removes ${keys(o.removed)}`] : [])];
      const what =
        o.kind === "ini"
          ? `INI merge: ${changes.join("; ") || "no options"}`
          : `${o.kind === "append" ? "appends" : "replaces the content with"} ${o.lines} line(s)`;
      out.push(`- \`overrides[${o.index}]\` \`${o.path}\` on ${o.nodes.join(", ")}: ${what}`);
    }
  }
  out.push("", "## Files per node", "");
  const byNode = new Map<string, Artifact[]>();
  for (const a of artifacts) byNode.set(a.node, [...(byNode.get(a.node) ?? []), a]);
  for (const [node, files] of byNode) {
    out.push(`- **${node}**: ${files.length} files`);
    for (const f of files) {
      const by = overridden.get(`${node}\0${f.path}`)?.map((i) => `overrides[${i}]`);
      const notes = [...(f.secret ? ["secret"] : []), ...(by ? [`changed by ${by.join(", ")}`] : [])];
      out.push(
        `  - \`${f.path}\` 0${f.mode.toString(8)} ${f.owner}:${f.group}${notes.length ? ` (${notes.join("; ")})` : ""}`,
      );
    }
  }
  return `${out.join("\n")}\n`;
}

/*
 * What the CLI prints with `--json`. Each document names its format and version (`format`), like
 * plan.json; a version only changes when a field is removed or changes meaning (new optional
 * fields may be added). An error is a document of its own, with the same exit status as without
 * --json. `plan --json` prints plan.json (PLAN_FORMAT); `schema` always prints JSON Schema.
 */
export const VALIDATE_FORMAT = "ha-gen-validate/1";
export const RENDER_FORMAT = "ha-gen-render/1";
export const ERROR_FORMAT = "ha-gen-error/1";
/** `deploy --json` and `recover galera --json`: one event per line; the first (run-start) carries it. */
export const EVENTS_FORMAT = "ha-gen-events/1";

export const jsonIssueSchema = z.strictObject({
  severity: z.enum(["error", "warning"]),
  path: z.string(),
  /** The value as messages show it (cut to 80 characters, quoted when not plain). */
  value: z.string().optional(),
  message: z.string(),
  /** The whole line as the terminal shows it. */
  text: z.string(),
  id: z.enum(WARNING_IDS).optional(),
  acknowledged: z.boolean().optional(),
});
export type JsonIssue = z.infer<typeof jsonIssueSchema>;

export const validateResultSchema = z.strictObject({
  format: z.literal(VALIDATE_FORMAT),
  ok: z.literal(true),
  cluster: z.string(),
  os: z.string(),
  nodes: z.array(z.string()),
  controllers: z.array(z.string()),
  vip: z.string(),
  warnings: z.array(jsonIssueSchema),
});
export type ValidateResult = z.infer<typeof validateResultSchema>;

export const renderResultSchema = z.strictObject({
  format: z.literal(RENDER_FORMAT),
  ok: z.literal(true),
  out: z.string(),
  nodes: z.array(z.string()),
  files: z.int(),
  steps: z.int(),
  written: z.int(),
  unchanged: z.int(),
  removed: z.int(),
  secretFiles: z.int(),
  /** Names of the secrets this run generated into the secrets file (never their values). */
  generatedSecrets: z.array(z.string()),
  secretsFile: z.string(),
  /** Files in the output directory no render wrote (left alone). */
  foreign: z.array(z.string()),
  warnings: z.array(jsonIssueSchema),
});
export type RenderResultJson = z.infer<typeof renderResultSchema>;

export const errorResultSchema = z.strictObject({
  format: z.literal(ERROR_FORMAT),
  ok: z.literal(false),
  /** The process's exit status: 1 invalid input or failed rollout, 2 usage or environment, 70 a bug. */
  exitCode: z.int(),
  /** The HaGenError code (SPEC_INVALID, INPUT_INVALID, USAGE, ENVIRONMENT, CONNECT...), INTERNAL for a bug. */
  code: z.string(),
  message: z.string(),
  /** A spec's problems (code SPEC_INVALID). */
  issues: z.array(jsonIssueSchema).optional(),
  warnings: z.array(jsonIssueSchema),
});
export type ErrorResult = z.infer<typeof errorResultSchema>;

/** A spec issue as --json documents carry it. */
export function jsonIssue(i: SpecIssue): JsonIssue {
  return {
    severity: i.severity,
    path: i.path,
    ...("value" in i ? { value: formatValue(i.value) } : {}),
    message: i.message,
    text: formatIssue(i),
    ...(i.id ? { id: i.id } : {}),
    ...(i.acknowledged ? { acknowledged: true } : {}),
  };
}

/** A --json document: pretty (2 spaces) for one result, one line inside an event stream. */
export function jsonDocument(value: ValidateResult | RenderResultJson | ErrorResult, compact = false): string {
  return compact ? `${JSON.stringify(value)}\n` : json(value);
}

export const parseValidateResult = (text: string, where: string) => parseFile(validateResultSchema, text, where);
export const parseRenderResult = (text: string, where: string) => parseFile(renderResultSchema, text, where);
export const parseErrorResult = (text: string, where: string) => parseFile(errorResultSchema, text, where);

const fileChangeSchema = z.strictObject({
  path: z.string(),
  action: z.enum(["create", "update", "attrs"]),
  detail: z.string(),
  secret: z.boolean(),
  diff: z.string().optional(),
});
const stepShape = {
  step: z.string(),
  title: z.string(),
  nodes: z.array(z.string()),
  mode: z.enum(["serial", "parallel", "rolling"]),
};
/** Of a rolling step's node events: which pass (see StepMode). */
const rollPass = z.enum(["start", "restart"]).optional();
const failureSchema = z.strictObject({
  step: z.string(),
  node: z.string().optional(),
  code: z.int().nullable().optional(),
  message: z.string(),
  tail: z.string().optional(),
});

/**
 * One line of `deploy --json` / `recover galera --json` (EVENTS_FORMAT): deploy/events.ts's
 * DeployEvent, which is checked there to be the same type.
 */
export const deployEventSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("galera-recovery"),
    reports: z.array(
      z.strictObject({
        node: z.string(),
        uuid: z.string().optional(),
        seqno: z.number().optional(),
        safeToBootstrap: z.boolean().optional(),
        running: z.boolean().optional(),
        state: z.string().optional(),
        error: z.string().optional(),
      }),
    ),
    action: z.enum(["bootstrap", "join", "refuse"]),
    bootstrap: z.string().optional(),
    join: z.array(z.string()).optional(),
    reason: z.string(),
    dryRun: z.boolean(),
  }),
  z.strictObject({
    type: z.literal("run-start"),
    format: z.string(),
    runId: z.string(),
    dryRun: z.boolean(),
    nodes: z.array(z.string()),
    steps: z.array(z.string()),
    push: z.boolean(),
    logDir: z.string().optional(),
  }),
  z.strictObject({ type: z.literal("connect-start"), node: z.string() }),
  z.strictObject({ type: z.literal("connect-end"), node: z.string(), ms: z.number() }),
  z.strictObject({
    type: z.literal("host-key-accepted"),
    name: z.string(),
    keyType: z.string(),
    fingerprint: z.string(),
    recorded: z.boolean(),
  }),
  z.strictObject({ type: z.literal("warning"), message: z.string() }),
  z.strictObject({ type: z.literal("push-start"), node: z.string(), files: z.int() }),
  z.strictObject({
    type: z.literal("push-end"),
    node: z.string(),
    changed: z.array(fileChangeSchema),
    unchanged: z.int(),
    ms: z.number(),
    dryRun: z.boolean(),
  }),
  z.strictObject({ type: z.literal("step-skip"), step: z.string(), node: z.string().optional(), reason: z.string() }),
  z.strictObject({ type: z.literal("step-start"), ...stepShape }),
  z.strictObject({ type: z.literal("step-would-run"), ...stepShape }),
  z.strictObject({
    type: z.literal("node-step-start"),
    step: z.string(),
    node: z.string(),
    command: z.string(),
    pass: rollPass,
  }),
  z.strictObject({
    type: z.literal("node-step-end"),
    step: z.string(),
    node: z.string(),
    pass: rollPass,
    code: z.int().nullable(),
    ms: z.number(),
    changes: z.array(z.string()),
    tail: z.string().optional(),
    timedOut: z.boolean().optional(),
  }),
  z.strictObject({
    type: z.literal("step-end"),
    step: z.string(),
    ok: z.boolean(),
    ms: z.number(),
    changed: z.boolean(),
  }),
  z.strictObject({
    type: z.literal("error"),
    node: z.string().optional(),
    step: z.string().optional(),
    message: z.string(),
  }),
  z.strictObject({
    type: z.literal("run-end"),
    ok: z.boolean(),
    dryRun: z.boolean(),
    ms: z.number(),
    filesChanged: z.int(),
    filesUnchanged: z.int(),
    stepsRun: z.int(),
    stepsChanged: z.int(),
    failed: failureSchema.optional(),
    resumeFrom: z.string().optional(),
    interrupted: z.boolean().optional(),
  }),
]);

/** The lines of a `deploy --json` stream, each checked; an ha-gen-error/1 line ends a stream that failed early. */
export function parseDeployEvents(text: string, where: string): z.infer<typeof deployEventSchema>[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l, i) => parseFile(deployEventSchema, l, `${where} line ${i + 1}`));
}

/**
 * `ha-gen preflight` and `ha-gen status` reports: what `--json` prints and what the library's
 * preflight() and status() return, one schema each (the writer builds a value of its type, tests and
 * monitoring parse it back with parsePreflightReport / parseStatusReport).
 */
export const PREFLIGHT_FORMAT = "ha-gen-preflight/1";
/** The checks of `ha-gen preflight`, in report order. */
export const PREFLIGHT_CHECKS = [
  "connect",
  "sudo",
  "os",
  "interface",
  "hostname",
  "resolve",
  "vip",
  "ports",
  "time",
  "disk",
  "repositories",
  "br_netfilter",
] as const;
/** One of {@link PREFLIGHT_CHECKS}. */
export type PreflightCheckName = (typeof PREFLIGHT_CHECKS)[number];

/** One check on one node (or the cluster) in a preflight report. */
export const preflightCheckSchema = z.strictObject({
  /** The node checked; absent for a cluster-wide check (the VIP). */
  node: hostname.optional(),
  check: z.enum(PREFLIGHT_CHECKS),
  /** fail stops a deploy; warn is worth reading; skip says why the check could not be made. */
  status: z.enum(["pass", "warn", "fail", "skip"]),
  detail: z.string(),
  /** What to do about a fail or warn. */
  fix: z.string().optional(),
});
/** One check on one node (or the cluster) in a preflight report. */
export type PreflightCheck = z.infer<typeof preflightCheckSchema>;

/** What `ha-gen preflight --json` prints and `preflight()` returns. */
export const preflightReportSchema = z.strictObject({
  format: z.literal(PREFLIGHT_FORMAT),
  cluster: z.string(),
  /** No check failed. */
  ok: z.boolean(),
  /** Wall time of the whole preflight. */
  ms: z.number().nonnegative(),
  checks: z.array(preflightCheckSchema),
});
/** What `ha-gen preflight --json` prints and `preflight()` returns. */
export type PreflightReport = z.infer<typeof preflightReportSchema>;

export const STATUS_FORMAT = "ha-gen-status/1";
export const STATUS_COMPONENTS = [
  "connect",
  "galera",
  "clustercheck",
  "rabbitmq",
  "etcd",
  "memcached",
  "pacemaker",
  "haproxy",
  "chrony",
  "files",
] as const;
export type StatusComponent = (typeof STATUS_COMPONENTS)[number];

const factValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]);
/** One component on one node (or cluster-wide) in a status report. */
export const statusItemSchema = z.strictObject({
  component: z.enum(STATUS_COMPONENTS),
  /** The node this is about; absent for a cluster-wide view (e.g. RabbitMQ's running nodes). */
  node: hostname.optional(),
  /** problem: something is wrong; unknown: it could not be asked. */
  state: z.enum(["ok", "problem", "unknown"]),
  summary: z.string(),
  /** The raw values the summary is made of (wsrep_cluster_size, leader, offset...). */
  facts: z.record(z.string(), factValue),
});
/** One component on one node (or cluster-wide) in a status report. */
export type StatusItem = z.infer<typeof statusItemSchema>;

/** healthy: exit 0; degraded (some item has a problem): 1; unknown (nothing wrong seen, not all seen): 2. */
export const STATUS_HEALTH = ["healthy", "degraded", "unknown"] as const;
/** One of {@link STATUS_HEALTH}. */
export type StatusHealth = (typeof STATUS_HEALTH)[number];

/** What `ha-gen status --json` prints and `status()` returns. */
export const statusReportSchema = z.strictObject({
  format: z.literal(STATUS_FORMAT),
  cluster: z.string(),
  health: z.enum(STATUS_HEALTH),
  ms: z.number().nonnegative(),
  items: z.array(statusItemSchema),
});
/** What `ha-gen status --json` prints and `status()` returns. */
export type StatusReport = z.infer<typeof statusReportSchema>;

/** Reads a preflight report (`--json` output) back, checked by its schema; InputError when it is not one. */
export function parsePreflightReport(text: string, where: string): PreflightReport {
  return parseFile(preflightReportSchema, text, where);
}

/** Reads a status report (`--json` output) back, checked by its schema; InputError when it is not one. */
export function parseStatusReport(text: string, where: string): StatusReport {
  return parseFile(statusReportSchema, text, where);
}

/** The JSON line `--json` prints (the same schema checks it, so a bug cannot print a malformed report). */
export function reportJson(report: PreflightReport | StatusReport): string {
  const schema: z.ZodType = report.format === PREFLIGHT_FORMAT ? preflightReportSchema : statusReportSchema;
  return `${JSON.stringify(schema.parse(report))}\n`;
}
