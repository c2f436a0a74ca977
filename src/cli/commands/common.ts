import type { CommandSpec } from "../args.js";
import { formatIssue, type SpecIssue } from "../../core/spec/issues.js";
import { printErr } from "../output.js";

/** Option values by camel-cased long name, defaults applied (see args.ts). */
export type Options = Readonly<Record<string, string | boolean | string[] | undefined>>;

/** One subcommand: its command-line description and what it does; resolves to the exit status. */
export interface Command {
  readonly spec: CommandSpec;
  run(args: readonly string[], opts: Options, argv: readonly string[]): Promise<number>;
}

export const SPEC_ARG = [{ name: "spec", description: "cluster spec: .ts/.js (default export), .yaml or .json" }];

/** The warnings to show on the terminal: those the spec acknowledges (`safety.acknowledge`) are left out. */
export function shownWarnings(warnings: readonly SpecIssue[]): SpecIssue[] {
  return warnings.filter((w) => !w.acknowledged);
}

export function printWarnings(warnings: readonly SpecIssue[]): void {
  for (const w of shownWarnings(warnings)) printErr(`${formatIssue(w)}\n`);
}
