import pkg from "../../package.json" with { type: "json" };
import { HaGenError, SpecError, UsageError } from "../core/errors.js";
import { formatIssue } from "../core/spec/issues.js";
import { parseCommandLine, type CommandSpec } from "./args.js";
import type { Command } from "./commands/common.js";
import {
  deploySpec,
  initSpec,
  planSpec,
  preflightSpec,
  recoverGaleraSpec,
  renderSpec,
  schemaSpec,
  statusSpec,
  validateSpec,
} from "./commands/specs.js";
import { printErr, printOut } from "./output.js";

/**
 * ha-gen's command line: one table of commands and one runMain. Exit statuses: 0 ok; 1 invalid
 * input or a failed rollout; 2 usage or environment. Every error a user or the machine causes is a
 * HaGenError and is printed as one line; anything else is a bug and is printed with its stack.
 */

// A command's code is imported when it runs: help, --version and usage errors need only the table.
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  init: async () => (await import("./commands/init.js")).init,
  render: async () => (await import("./commands/render.js")).render,
  validate: async () => (await import("./commands/validate.js")).validate,
  plan: async () => (await import("./commands/plan.js")).plan,
  schema: async () => (await import("./commands/schema.js")).schema,
  deploy: async () => (await import("./commands/deploy.js")).deployCommand,
  "recover galera": async () => (await import("./commands/deploy.js")).recoverGaleraCommand,
  preflight: async () => (await import("./commands/preflight.js")).preflightCommand,
  status: async () => (await import("./commands/status.js")).statusCommand,
};

const PROGRAM: CommandSpec = {
  name: "ha-gen",
  description:
    "Generate and roll out the configuration of a highly available OpenStack control plane from one typed spec.",
  commands: [
    initSpec,
    renderSpec,
    validateSpec,
    planSpec,
    schemaSpec,
    preflightSpec,
    deploySpec,
    statusSpec,
    {
      name: "recover",
      description: "recover a service after a full outage (deploy/README.md)",
      commands: [recoverGaleraSpec],
    },
  ],
};

/** Prints what went wrong and returns the exit status: 70 (EX_SOFTWARE) for a bug in ha-gen. */
export function reportError(e: unknown): number {
  if (e instanceof SpecError) {
    for (const w of e.warnings) if (!w.acknowledged) printErr(`${formatIssue(w)}\n`);
    printErr(`error: the cluster spec has ${e.errors.length} problem(s):\n`);
    for (const i of e.errors) printErr(`  ${formatIssue(i)}\n`);
    return e.exitCode;
  }
  if (e instanceof HaGenError) {
    printErr(`error: ${e.message}\n`);
    return e.exitCode;
  }
  const stack = e instanceof Error ? (e.stack ?? e.message) : String(e);
  printErr(`internal error (a bug in ha-gen ${pkg.version}; please report it with this output):\n${stack}\n`);
  return 70;
}

// The JSON writer loads zod: only when asked for, so help and usage errors stay fast.
const reportJson = async (e: unknown, compact: boolean) =>
  (await import("./json-error.js")).reportJsonError(e, { compact });

/** Commands whose --json output is a stream of events, one per line: an error is one more line. */
const streams = (words: readonly string[]) => words.includes("deploy") || words.includes("recover");

/** Runs the command line `argv` (without node and the script) and returns the exit status. */
export async function runMain(argv: readonly string[]): Promise<number> {
  const outcome = parseCommandLine(PROGRAM, argv);
  switch (outcome.kind) {
    case "help":
      printOut(outcome.text);
      return 0;
    case "version":
      printOut(`${pkg.version}\n`);
      return 0;
    case "usage": {
      // One line, not the whole help: the mistake (with the nearest known word) and where help is.
      const message = `${outcome.message}; see '${outcome.hint}'`;
      if (argv.includes("--json")) return reportJson(new UsageError(message), streams(argv));
      printErr(`error: ${message}\n`);
      return 2;
    }
  }
  const { path, args, options } = outcome.parsed;
  try {
    const command = await COMMANDS[path.join(" ")]!();
    return await command.run(args, options, argv);
  } catch (e) {
    return options.json === true ? reportJson(e, streams(path)) : reportError(e);
  }
}
