import { parseArgs } from "node:util";
import { closest } from "../core/near.js";

/**
 * A small declarative command table on top of node:util's parseArgs, with commander-style help.
 * parseArgs is part of Node, so the CLI needs no argument-parsing dependency.
 */

export interface OptionSpec {
  /** Long name without dashes, e.g. "out" or "no-agent". */
  readonly long: string;
  readonly short?: string;
  /** Placeholder of the value ("dir"); an option without one is a flag. */
  readonly value?: string;
  readonly description: string;
  readonly default?: string;
  readonly multiple?: boolean;
  readonly choices?: readonly string[];
}

export interface CommandSpec {
  readonly name: string;
  readonly description: string;
  /** Required positional arguments, in order. */
  readonly args?: readonly { readonly name: string; readonly description: string }[];
  readonly options?: readonly OptionSpec[];
  readonly commands?: readonly CommandSpec[];
}

export interface Parsed {
  /** The command path below the program, e.g. ["recover", "galera"]; empty for the program itself. */
  readonly path: readonly string[];
  readonly args: readonly string[];
  /** Option values by camel-cased long name ("dry-run" → dryRun); defaults applied. */
  readonly options: Readonly<Record<string, string | boolean | string[] | undefined>>;
}

/** What the command line asks for besides running a command. */
export type Outcome =
  | { readonly kind: "run"; readonly parsed: Parsed }
  | { readonly kind: "help"; readonly text: string }
  | { readonly kind: "version" }
  | {
      readonly kind: "usage";
      /** One line; an unknown command or option comes with the nearest known one. */
      readonly message: string;
      /** The command line that shows the help of the command concerned ("ha-gen render --help"). */
      readonly hint: string;
    };

/** " (did you mean 'x'?)" when a known word is close to `word`, else "". */
function suggest(word: string, known: readonly string[]): string {
  const near = closest(word, known);
  return near ? ` (did you mean '${near}'?)` : "";
}

const HELP: OptionSpec = { long: "help", short: "h", description: "display help for command" };
const VERSION: OptionSpec = { long: "version", short: "V", description: "output the version number" };

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
const flagText = (o: OptionSpec) => `${o.short ? `-${o.short}, ` : ""}--${o.long}${o.value ? ` <${o.value}>` : ""}`;
const usageOf = (c: CommandSpec) =>
  `${c.options?.length ? " [options]" : ""}${c.commands?.length ? " [command]" : ""}` +
  `${(c.args ?? []).map((a) => ` <${a.name}>`).join("")}`;

function wrap(text: string, indent: number, width = 80): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines;
}

function table(rows: readonly [string, string][]): string[] {
  const w = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.flatMap(([l, r]) => wrap(r, w + 2).map((t, i) => `  ${(i === 0 ? l : "").padEnd(w)}${t}`));
}

/** Help text of a command, commander's layout. `chain` is the program name plus parent commands. */
export function helpText(c: CommandSpec, chain: readonly string[], top = false): string {
  const out = [
    `Usage: ${[...chain, ...(top ? [] : [c.name])].join(" ")}${top ? " [options] [command]" : usageOf(c)}`,
    "",
    ...wrap(c.description, 0),
    "",
  ];
  if (c.args?.length) out.push("Arguments:", ...table(c.args.map((a) => [a.name, a.description])), "");
  const opts = [...(top ? [VERSION] : []), ...(c.options ?? []), HELP];
  const desc = (o: OptionSpec) =>
    `${o.description}${o.choices ? ` (choices: ${o.choices.map((x) => `"${x}"`).join(", ")})` : ""}` +
    `${o.default !== undefined ? ` (default: ${JSON.stringify(o.default)})` : ""}`;
  out.push("Options:", ...table(opts.map((o) => [flagText(o), desc(o)])));
  if (c.commands?.length)
    out.push("", "Commands:", ...table(c.commands.map((s) => [`${s.name}${usageOf(s)}`, s.description])));
  return `${out.join("\n")}\n`;
}

/** Parses argv (without node and script) against the program's table. Never throws. */
export function parseCommandLine(program: CommandSpec, argv: readonly string[]): Outcome {
  const chain = [program.name];
  let cmd = program;
  let rest = [...argv];
  const path: string[] = [];
  // Descend through commands: the first word that is not an option names the sub-command.
  while (cmd.commands?.length) {
    const top = cmd === program;
    const first = rest[0];
    const usage = (message: string): Outcome => ({
      kind: "usage",
      message,
      hint: [...(path.length ? chain : [program.name]), ...(top ? [] : [cmd.name]), "--help"].join(" "),
    });
    if (first === undefined || first === "-h" || first === "--help")
      return { kind: "help", text: helpText(cmd, path.length ? chain : [program.name], top) };
    if (top && (first === "-V" || first === "--version")) return { kind: "version" };
    if (first.startsWith("-"))
      return usage(`unknown option '${first}'${suggest(first, top ? ["--help", "--version"] : ["--help"])}`);
    const next = cmd.commands.find((c) => c.name === first);
    if (!next)
      return usage(
        `unknown command '${first}'${suggest(
          first,
          cmd.commands.map((c) => c.name),
        )}`,
      );
    if (!top) chain.push(cmd.name);
    path.push(next.name);
    cmd = next;
    rest = rest.slice(1);
  }
  const help = helpText(cmd, chain);
  const usage = (message: string): Outcome => ({
    kind: "usage",
    message,
    hint: [...chain, cmd.name, "--help"].join(" "),
  });
  const specs = [...(cmd.options ?? []), HELP];
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(
        specs.map(
          (o) =>
            [
              o.long,
              {
                type: o.value ? "string" : "boolean",
                ...(o.short ? { short: o.short } : {}),
                ...(o.multiple ? { multiple: true } : {}),
              },
            ] as const,
        ),
      ),
    });
  } catch (e) {
    const err = e as Error & { code?: string };
    const unknown = /Unknown option '([^']+)'/.exec(err.message);
    if (unknown) {
      const names = specs.flatMap((o) => [`--${o.long}`, ...(o.short ? [`-${o.short}`] : [])]);
      return usage(`unknown option '${unknown[1]}'${suggest(unknown[1]!.replace(/=.*/, ""), names)}`);
    }
    const missing = /Option '(?:-\w, )?--([\w-]+)(?: <value>)?' argument (?:missing|is ambiguous)/.exec(err.message);
    const o = missing && specs.find((x) => x.long === missing[1]);
    if (o) return usage(`option '${flagText(o)}' argument missing`);
    return usage(err.message.split("\n")[0] ?? "invalid arguments");
  }
  if (parsed.values.help === true) return { kind: "help", text: help };
  const options: Record<string, string | boolean | string[] | undefined> = {};
  for (const o of cmd.options ?? []) {
    let v = parsed.values[o.long] as string | boolean | string[] | undefined;
    if (o.choices && typeof v === "string" && !o.choices.includes(v))
      return usage(`option '${flagText(o)}' argument '${v}' is invalid. Allowed choices are ${o.choices.join(", ")}.`);
    if (v === undefined) v = o.multiple ? [] : o.value ? o.default : false;
    options[camel(o.long)] = v;
  }
  const args = cmd.args ?? [];
  if (parsed.positionals.length < args.length)
    return usage(`missing required argument '${args[parsed.positionals.length]!.name}'`);
  if (parsed.positionals.length > args.length)
    return usage(
      `too many arguments${path.length ? ` for '${path.join(" ")}'` : ""}. ` +
        `Expected ${args.length} argument${args.length === 1 ? "" : "s"} but got ${parsed.positionals.length}.`,
    );
  return { kind: "run", parsed: { path, args: parsed.positionals, options } };
}
