/** One file that ha-gen puts on one node. Pure data: generators return these, one module writes them. */
export interface Artifact {
  /** Hostname of the node the file belongs to. */
  readonly node: string;
  /** Absolute path on that node. */
  readonly path: string;
  readonly content: string;
  /** Unix permission bits, e.g. 0o644. */
  readonly mode: number;
  readonly owner: string;
  readonly group: string;
  /** Holds secret material: never world-readable, never printed or diffed. */
  readonly secret: boolean;
  /** Generator family that produced it (e.g. "galera"). */
  readonly family: string;
}

/** How the steps of one plan entry run across its nodes. */
export type StepMode = "serial" | "parallel";

/**
 * A check deploy makes over SSH right before a step that cannot be undone (deploy/guards.ts),
 * set by the generator that owns the service: which check, on which nodes, and the paths and
 * ports its probe reads (the generator's own, so the probe looks where the scripts write).
 */
export type StepGuard = GaleraBootstrapGuard | PacemakerClusterGuard;
export type GuardKind = StepGuard["kind"];
export const GUARD_KINDS: readonly GuardKind[] = ["galera-bootstrap", "pacemaker-cluster"];

/** Skipped when a node runs a Primary component; refused when Galera runs without one. */
export interface GaleraBootstrapGuard {
  readonly kind: "galera-bootstrap";
  /** Every node that may run Galera (the step's own nodes are probed too). */
  readonly nodes: readonly string[];
  readonly probe: {
    /** File with the MariaDB root password, sourced when the unix-socket login fails. */
    readonly secretsEnv: string;
    /** Its variable holding that password. */
    readonly rootPasswordVar: string;
    /** Galera's replication port: a listener there is a running node mysql could not report. */
    readonly port: number;
  };
}

/** Skipped when any node already belongs to a multi-node cluster (setup would destroy it). */
export interface PacemakerClusterGuard {
  readonly kind: "pacemaker-cluster";
  /** Every node that may belong to the cluster (the step's own nodes are probed too). */
  readonly nodes: readonly string[];
  readonly probe: {
    readonly corosyncConf: string;
  };
}

/** One step of the rollout: run `script` on `nodes`, in order or all at once. */
export interface PlanStep {
  readonly id: string;
  readonly title: string;
  /** Section of the seed guide this step implements, for PLAN.md. */
  readonly guideSection: string;
  readonly nodes: readonly string[];
  readonly mode: StepMode;
  /** Absolute path of the step script on each node (an artifact with the same path exists there). */
  readonly script: string;
  /** What the script checks before it exits 0 (bounded waits on real readiness). */
  readonly verifies: readonly string[];
  readonly guard?: StepGuard;
}

export interface Plan {
  readonly cluster: string;
  readonly os: string;
  readonly steps: readonly PlanStep[];
}

export interface Rendered {
  /** Every file on every node, sorted by node (spec order) then path. */
  readonly artifacts: readonly Artifact[];
  readonly plan: Plan;
}

/** What one generator family contributes. */
export interface GeneratorOutput {
  readonly artifacts: readonly Artifact[];
  readonly steps: readonly PlanStep[];
}

export interface FileSpec {
  path: string;
  content: string;
  mode?: number;
  owner?: string;
  group?: string;
  secret?: boolean;
}

/** Builds artifacts for one family; content shared by many nodes is computed once and reused. */
export function fileFor(family: string, node: string, f: FileSpec): Artifact {
  const secret = f.secret ?? false;
  const mode = f.mode ?? (secret ? 0o600 : 0o644);
  if (secret && (mode & 0o007) !== 0) {
    throw new Error(`internal: secret file ${f.path} would be world-accessible (mode ${mode.toString(8)})`);
  }
  return {
    node,
    path: f.path,
    content: f.content,
    mode,
    owner: f.owner ?? "root",
    group: f.group ?? "root",
    secret,
    family,
  };
}
