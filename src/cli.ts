#!/usr/bin/env node
import { Command, CommanderError, Option } from "commander";
import pkg from "../package.json" with { type: "json" };

/**
 * ha-gen's command line. Commands load their modules lazily so `--help` and small commands start
 * fast. Exit codes: 0 ok, 1 invalid spec or secrets (or a failed rollout), 2 usage.
 */

const EXIT_INVALID = 1;
const EXIT_USAGE = 2;

function printIssues(lines: readonly string[]): void {
  for (const l of lines) process.stderr.write(`${l}\n`);
}

/** Turns user mistakes into messages and exit codes; anything else is a bug and keeps its stack. */
async function guarded(fn: () => Promise<number | void>): Promise<void> {
  try {
    process.exitCode = (await fn()) ?? 0;
  } catch (e) {
    const err = e as Error & { errors?: unknown; exitCode?: number };
    if (err.name === "SpecError") {
      const { formatIssue } = await import("./spec/validate.js");
      const se = e as import("./render.js").SpecError;
      printIssues(se.warnings.map(formatIssue));
      process.stderr.write(`error: the cluster spec has ${se.errors.length} problem(s):\n`);
      printIssues(se.errors.map((i) => `  ${formatIssue(i)}`));
      process.exitCode = EXIT_INVALID;
      return;
    }
    if (err.name === "InputError") {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = err.exitCode ?? EXIT_INVALID;
      return;
    }
    throw e;
  }
}

async function warn(warnings: readonly import("./spec/validate.js").SpecIssue[]): Promise<void> {
  if (warnings.length === 0) return;
  const { formatIssue } = await import("./spec/validate.js");
  printIssues(warnings.map(formatIssue));
}

const program = new Command()
  .name("ha-gen")
  .description("Generate and roll out the configuration of a highly available OpenStack control plane from one typed spec.")
  .version(pkg.version)
  .showHelpAfterError()
  .exitOverride();

program
  .command("render")
  .description("render every node's files plus plan.json, PLAN.md and manifest.json into a directory")
  .argument("<spec>", "cluster spec: .ts/.js (default export), .yaml or .json")
  .option("-o, --out <dir>", "output directory (replaced atomically)", "ha-gen-out")
  .option("-s, --secrets <file>", "secrets file, created 0600 and filled with generated values when missing (default: <spec>.secrets.yaml beside the spec)")
  .action((spec: string, opts: { out: string; secrets?: string }) =>
    guarded(async () => {
      const [{ prepare, defaultSecretsPath }, fsio, doc] = await Promise.all([import("./pipeline.js"), import("./fsio.js"), import("./plan-doc.js")]);
      const secretsPath = opts.secrets ?? defaultSecretsPath(spec);
      const p = await prepare({ specPath: spec, secretsPath, saveSecrets: fsio.writeSecretsFile });
      await warn(p.warnings);
      if (await fsio.tightenSecretsFile(secretsPath)) process.stderr.write(`warning: ${secretsPath} was readable by others; its mode is now 0600\n`);
      const { artifacts, plan } = p.rendered;
      await fsio.writeTreeAtomic(opts.out, artifacts, [
        { path: "plan.json", content: doc.planJson(plan), mode: 0o644 },
        { path: "PLAN.md", content: doc.planMarkdown(plan, artifacts), mode: 0o644 },
        { path: "manifest.json", content: doc.manifestJson(artifacts), mode: 0o644 },
      ]);
      const secretFiles = artifacts.filter((a) => a.secret).length;
      if (p.generatedSecrets.length > 0) process.stderr.write(`generated ${p.generatedSecrets.length} secret(s) into ${secretsPath} (mode 0600)\n`);
      process.stdout.write(`rendered ${artifacts.length} files for ${p.cluster.nodes.length} nodes and a ${plan.steps.length}-step plan into ${opts.out} (${secretFiles} secret files, not world-readable)\n`);
    }),
  );

program
  .command("validate")
  .description("check a spec and report every problem at once")
  .argument("<spec>", "cluster spec")
  .action((spec: string) =>
    guarded(async () => {
      const { prepare } = await import("./pipeline.js");
      const p = await prepare({ specPath: spec });
      await warn(p.warnings);
      process.stdout.write(`ok: ${p.cluster.nodes.length} nodes, ${p.cluster.controllers.length} controllers, VIP ${p.cluster.vip.address}/${p.cluster.vip.prefix}\n`);
    }),
  );

program
  .command("plan")
  .description("print the ordered rollout plan (no secrets needed, nothing written)")
  .argument("<spec>", "cluster spec")
  .addOption(new Option("--format <format>", "output format").choices(["markdown", "json"]).default("markdown"))
  .action((spec: string, opts: { format: "markdown" | "json" }) =>
    guarded(async () => {
      const [{ prepare }, doc] = await Promise.all([import("./pipeline.js"), import("./plan-doc.js")]);
      const p = await prepare({ specPath: spec });
      await warn(p.warnings);
      const { plan, artifacts } = p.rendered;
      process.stdout.write(opts.format === "json" ? doc.planJson(plan) : doc.planMarkdown(plan, artifacts));
    }),
  );

program
  .command("schema")
  .description("print the JSON Schema of a cluster spec (for editor completion in YAML specs)")
  .action(() =>
    guarded(async () => {
      const { specJsonSchema } = await import("./json-schema.js");
      process.stdout.write(JSON.stringify(specJsonSchema(), null, 2) + "\n");
    }),
  );

// @deploy-commands

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // --help and --version are not errors; everything else commander rejects is a usage error.
    process.exitCode = e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help" ? 0 : EXIT_USAGE;
  } else {
    throw e;
  }
}
