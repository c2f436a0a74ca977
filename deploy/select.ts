import type { PlanStep } from "../src/core/artifact.js";
import { UsageError } from "../src/core/errors.js";

/** `--only`, `--from`, `--nodes` and `--root` turned into what this run does. Pure. */

/** The `--only` name of the file push. */
export const PUSH = "push";

export interface SelectOptions {
  readonly from?: string;
  readonly only?: readonly string[];
  readonly nodes?: readonly string[];
  /** --root given: steps would run against the real system, so they run only with rootSteps. */
  readonly root?: boolean;
  readonly rootSteps?: boolean;
}

export interface Selection {
  readonly push: boolean;
  /** Steps to run, in plan order, each narrowed to the selected nodes. */
  readonly steps: readonly PlanStep[];
  /** Nodes whose files are pushed (all nodes with files, or --nodes). */
  readonly nodeFilter: ReadonlySet<string> | undefined;
  /** Why selected steps were dropped (printed as notes). */
  readonly notes: readonly string[];
}

export function selectRun(steps: readonly PlanStep[], allNodes: readonly string[], o: SelectOptions): Selection {
  const ids = steps.map((s) => s.id);
  const known = (id: string) => {
    if (!ids.includes(id))
      throw new UsageError(`unknown step "${id}"; the plan's steps are: ${[PUSH, ...ids].join(", ")}`);
  };
  if (o.from !== undefined && o.only !== undefined) throw new UsageError("use either --from or --only, not both");
  let nodeFilter: Set<string> | undefined;
  if (o.nodes !== undefined) {
    if (o.nodes.length === 0) throw new UsageError("--nodes needs at least one node");
    for (const n of o.nodes)
      if (!allNodes.includes(n)) throw new UsageError(`unknown node "${n}"; nodes: ${allNodes.join(", ")}`);
    nodeFilter = new Set(o.nodes);
  }
  let push = true;
  let chosen: PlanStep[] = [...steps];
  if (o.only !== undefined) {
    if (o.only.length === 0) throw new UsageError("--only needs at least one step (or push)");
    for (const id of o.only) if (id !== PUSH) known(id);
    push = o.only.includes(PUSH);
    chosen = steps.filter((s) => o.only!.includes(s.id));
  } else if (o.from !== undefined) {
    if (o.from === PUSH) chosen = [...steps];
    else {
      known(o.from);
      chosen = steps.slice(ids.indexOf(o.from));
    }
  }
  const notes: string[] = [];
  if (o.root && !o.rootSteps && chosen.length > 0) {
    if (o.only !== undefined || o.from !== undefined) {
      throw new UsageError(
        "with --root, steps do not run (they would change this system, not the tree under --root); " +
          "use --only push, or add --root-steps for scripts that honour HA_GEN_ROOT",
      );
    }
    notes.push(
      `--root: files only; ${chosen.length} step(s) not run (add --root-steps to run scripts that honour HA_GEN_ROOT)`,
    );
    chosen = [];
  }
  const narrowed: PlanStep[] = [];
  for (const s of chosen) {
    const nodes = nodeFilter ? s.nodes.filter((n) => nodeFilter!.has(n)) : s.nodes;
    if (nodes.length === 0) {
      notes.push(`step ${s.id} has no node among --nodes; not run`);
      continue;
    }
    narrowed.push(nodes.length === s.nodes.length ? s : { ...s, nodes });
  }
  return { push, steps: narrowed, nodeFilter, notes };
}

/** `--root /srv/img/{node}` → the prefix for one node ("" without --root). */
export function rootFor(root: string | undefined, node: string): string {
  if (root === undefined || root === "") return "";
  const r = root.replaceAll("{node}", node).replace(/\/+$/, "");
  return r;
}
