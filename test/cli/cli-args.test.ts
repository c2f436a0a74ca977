import { describe, expect, it } from "vitest";
import { helpText, parseCommandLine, type CommandSpec } from "../../src/cli/args.js";

const PROGRAM: CommandSpec = {
  name: "tool",
  description: "A tool.",
  commands: [
    {
      name: "render",
      description: "render things",
      args: [{ name: "spec", description: "the spec" }],
      options: [
        { long: "out", short: "o", value: "dir", default: "out", description: "where" },
        { long: "format", value: "format", choices: ["md", "json"], default: "md", description: "how" },
        { long: "identity", short: "i", value: "file", multiple: true, description: "keys" },
        { long: "dry-run", description: "change nothing" },
        { long: "no-agent", description: "no agent" },
      ],
    },
    {
      name: "outer",
      description: "has sub-commands",
      commands: [{ name: "inner", description: "the inner one", args: [{ name: "x", description: "an x" }] }],
    },
  ],
};

const run = (argv: string[]) => {
  const o = parseCommandLine(PROGRAM, argv);
  if (o.kind !== "run") throw new Error(`expected a run, got ${o.kind}: ${"message" in o ? o.message : ""}`);
  return o.parsed;
};
const usage = (argv: string[]) => {
  const o = parseCommandLine(PROGRAM, argv);
  if (o.kind !== "usage") throw new Error(`expected a usage error, got ${o.kind}`);
  return o;
};

describe("parseCommandLine", () => {
  it("applies defaults, camel-cases names and collects repeated options", () => {
    expect(run(["render", "a.ts"])).toEqual({
      path: ["render"],
      args: ["a.ts"],
      options: { out: "out", format: "md", identity: [], dryRun: false, noAgent: false },
    });
    expect(
      run(["render", "-o", "x", "--format=json", "-i", "k1", "--identity", "k2", "--dry-run", "--no-agent", "a.ts"])
        .options,
    ).toEqual({
      out: "x",
      format: "json",
      identity: ["k1", "k2"],
      dryRun: true,
      noAgent: true,
    });
  });

  it("descends into sub-commands", () => {
    expect(run(["outer", "inner", "v"])).toEqual({ path: ["outer", "inner"], args: ["v"], options: {} });
  });

  it("reports each usage mistake in one line, naming the help of the command it concerns", () => {
    expect(usage(["frobnicate"]).message).toBe("unknown command 'frobnicate'");
    expect(usage(["--bogus"]).message).toBe("unknown option '--bogus'");
    expect(usage(["render"]).message).toBe("missing required argument 'spec'");
    expect(usage(["render", "a", "b"]).message).toBe("too many arguments for 'render'. Expected 1 argument but got 2.");
    expect(usage(["render", "a", "--bogus"]).message).toBe("unknown option '--bogus'");
    expect(usage(["render", "a", "-o"]).message).toBe("option '-o, --out <dir>' argument missing");
    // `--out --format` would silently take "--format" as the directory.
    expect(usage(["render", "a", "--out", "--format", "md"]).message).toBe("option '-o, --out <dir>' argument missing");
    expect(usage(["render", "a", "--format", "xml"]).message).toBe(
      "option '--format <format>' argument 'xml' is invalid. Allowed choices are md, json.",
    );
    expect(usage(["render", "a", "--dry-run=yes"]).message).toContain("--dry-run");
    expect(usage(["outer", "nope"]).message).toBe("unknown command 'nope'");
    expect(usage(["render"]).hint).toBe("tool render --help");
    expect(usage(["outer", "inner"]).hint).toBe("tool outer inner --help");
    expect(usage(["outer", "nope"]).hint).toBe("tool outer --help");
    expect(usage(["frobnicate"]).hint).toBe("tool --help");
    for (const argv of [["frobnicate"], ["render", "a", "--bogus"], ["render"]])
      expect(usage(argv).message).not.toContain("\n");
  });

  it("suggests the nearest command or option (Levenshtein), and nothing when none is near", () => {
    expect(usage(["rendr"]).message).toBe("unknown command 'rendr' (did you mean 'render'?)");
    expect(usage(["outr", "inner"]).message).toBe("unknown command 'outr' (did you mean 'outer'?)");
    expect(usage(["outer", "iner"]).message).toBe("unknown command 'iner' (did you mean 'inner'?)");
    expect(usage(["render", "a", "--dry-rn"]).message).toBe("unknown option '--dry-rn' (did you mean '--dry-run'?)");
    expect(usage(["render", "a", "--ouf", "x"]).message).toBe("unknown option '--ouf' (did you mean '--out'?)");
    // parseArgs names the option without its value.
    const identity = usage(["render", "a", "--identiy=k"]).message;
    expect(identity).toBe("unknown option '--identiy' (did you mean '--identity'?)");
    expect(usage(["--versoin"]).message).toBe("unknown option '--versoin' (did you mean '--version'?)");
    expect(usage(["render", "a", "--completely-different"]).message).toBe("unknown option '--completely-different'");
  });

  it("help and version at every level", () => {
    for (const argv of [[], ["-h"], ["--help"]]) {
      const o = parseCommandLine(PROGRAM, argv);
      expect(o.kind).toBe("help");
      if (o.kind === "help") expect(o.text).toContain("Usage: tool [options] [command]");
    }
    expect(parseCommandLine(PROGRAM, ["-V"]).kind).toBe("version");
    expect(parseCommandLine(PROGRAM, ["--version"]).kind).toBe("version");
    const sub = parseCommandLine(PROGRAM, ["render", "--help"]);
    expect(sub.kind === "help" && sub.text.startsWith("Usage: tool render [options] <spec>\n")).toBe(true);
    const outer = parseCommandLine(PROGRAM, ["outer"]);
    expect(outer.kind === "help" && outer.text.includes("inner <x>")).toBe(true);
    // A help flag wins over a missing argument, as users expect.
    expect(parseCommandLine(PROGRAM, ["outer", "inner", "--help"]).kind).toBe("help");
  });

  it("formats help like commander: aligned, wrapped at 80 columns, with defaults and choices", () => {
    expect(helpText(PROGRAM.commands![0]!, ["tool"])).toBe(
      [
        "Usage: tool render [options] <spec>",
        "",
        "render things",
        "",
        "Arguments:",
        "  spec  the spec",
        "",
        "Options:",
        '  -o, --out <dir>        where (default: "out")',
        '  --format <format>      how (choices: "md", "json") (default: "md")',
        "  -i, --identity <file>  keys",
        "  --dry-run              change nothing",
        "  --no-agent             no agent",
        "  -h, --help             display help for command",
        "",
      ].join("\n"),
    );
  });
});
