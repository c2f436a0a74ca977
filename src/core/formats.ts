import { createHash } from "node:crypto";
import * as z from "zod";
import { ROLL_ENV, type Artifact, type Plan, type PlanStep, type StepGuard } from "./artifact.js";
import { InputError } from "./errors.js";
import { cutText, formatPath, SHOWN_MAX } from "./spec/issues.js";
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

export const planFileSchema = z.strictObject({
  format: z.literal(PLAN_FORMAT),
  cluster: z.string(),
  os: z.string(),
  steps: z.array(planStepSchema),
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
] = [true, true];
void typesAgree;

export function sha256(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** plan.json: the machine-readable rollout. */
export function planJson(plan: Plan): string {
  const file: PlanFile = {
    format: PLAN_FORMAT,
    cluster: plan.cluster,
    os: plan.os,
    steps: plan.steps as Mutable<readonly PlanStep[]>,
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

/** PLAN.md: the same plan for a person, in the guide's order. */
export function planMarkdown(plan: Plan, artifacts: readonly Artifact[]): string {
  const out: string[] = [];
  out.push(`<!-- generated by ha-gen — do not edit -->`);
  out.push(`# Rollout plan for ${plan.cluster} (${plan.os})`, "");
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
  out.push("", "## Files per node", "");
  const byNode = new Map<string, Artifact[]>();
  for (const a of artifacts) byNode.set(a.node, [...(byNode.get(a.node) ?? []), a]);
  for (const [node, files] of byNode) {
    out.push(`- **${node}**: ${files.length} files`);
    for (const f of files) {
      out.push(`  - \`${f.path}\` ${`0${f.mode.toString(8)}`} ${f.owner}:${f.group}${f.secret ? " (secret)" : ""}`);
    }
  }
  return `${out.join("\n")}\n`;
}
