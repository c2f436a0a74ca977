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

program
  .command("deploy")
  .description("push every node's files over SSH, then run the plan's steps in order; stops at the first failure (see deploy/README.md)")
  .argument("<spec>", "cluster spec, or a directory written by `ha-gen render`")
  .option("-s, --secrets <file>", "secrets file (default: <spec>.secrets.yaml beside the spec); every value is redacted from output and logs")
  .option("--ssh-config <file>", "OpenSSH client config: Host, HostName, Port, User, IdentityFile, ProxyJump (default ~/.ssh/config when it exists)")
  .option("--known-hosts <file>", "known_hosts file host keys are checked against (default ~/.ssh/known_hosts)")
  .option("--accept-new-host-keys", "trust an unknown host key on first use and record it (a changed key is always refused)")
  .option("-i, --identity <file>", "private key to log in with (repeatable; tried before the ssh config's)", (v: string, prev: string[]) => [...prev, v], [] as string[])
  .option("-u, --user <name>", "login user when the ssh config names none; a user other than root needs passwordless sudo", "root")
  .option("--no-agent", "do not offer ssh-agent keys")
  .option("--dry-run", "connect and show per node the files that would change (with diffs, never for secret files) and the steps that would run; change nothing")
  .option("--from <step>", "resume: push files, then run the plan from this step on")
  .option("--only <steps>", "run only these steps (comma-separated); `push` is the file push")
  .option("--nodes <nodes>", "only these nodes (comma-separated)")
  .option("--root <dir>", "prefix every remote path with DIR ({node} is replaced by the node name); steps are not run unless --root-steps")
  .option("--root-steps", "with --root, run steps too (scripts get HA_GEN_ROOT and HA_GEN_NODE)")
  .option("--json", "one JSON event per line on stdout")
  .option("--log-dir <dir>", "where run logs go (one sub-directory per run)", "ha-gen-runs")
  .option("--no-log", "write no run log")
  .option("--concurrency <n>", "nodes worked on at once", "16")
  .option("--connect-timeout <seconds>", "SSH connect and handshake timeout", "15")
  .option("--connect-retries <n>", "further connection attempts after a network failure", "2")
  .option("--step-timeout <seconds>", "upper bound of one step on one node", "1800")
  .option("--install-key <pubkey>", "first contact: log in with a password (prompted, or from $HA_GEN_SSH_PASSWORD; never argv) and add this public key to authorized_keys")
  .action((spec: string, opts: Record<string, unknown>) =>
    guarded(async () => {
      const { runDeployCommand } = await import("../deploy/cli.js");
      const { log, ...rest } = opts;
      return runDeployCommand(spec, { ...(rest as import("../deploy/cli.js").DeployCliOptions), logDir: log === false ? false : (opts.logDir as string) }, ["ha-gen", ...process.argv.slice(2)]);
    }),
  );

program
  .command("recover")
  .description("recover a service after a full outage (deploy/README.md)")
  .command("galera")
  .description("ask every controller for its Galera state, bootstrap the node with the latest transaction, then join the others one at a time")
  .argument("<spec>", "cluster spec")
  .option("-s, --secrets <file>", "secrets file (default: <spec>.secrets.yaml beside the spec)")
  .option("--ssh-config <file>", "OpenSSH client config (default ~/.ssh/config when it exists)")
  .option("--known-hosts <file>", "known_hosts file (default ~/.ssh/known_hosts)")
  .option("--accept-new-host-keys", "trust an unknown host key on first use and record it")
  .option("-i, --identity <file>", "private key (repeatable)", (v: string, prev: string[]) => [...prev, v], [] as string[])
  .option("-u, --user <name>", "login user when the ssh config names none (non-root needs passwordless sudo)", "root")
  .option("--no-agent", "do not offer ssh-agent keys")
  .option("--dry-run", "only report each controller's state and the decision")
  .option("--json", "one JSON event per line on stdout")
  .option("--log-dir <dir>", "where run logs go", "ha-gen-runs")
  .option("--no-log", "write no run log")
  .option("--connect-timeout <seconds>", "SSH connect and handshake timeout", "15")
  .option("--step-timeout <seconds>", "upper bound of bootstrap/join on one node", "1800")
  .action((spec: string, opts: Record<string, unknown>) =>
    guarded(async () => {
      const { runRecoverGaleraCommand } = await import("../deploy/cli.js");
      const { log, ...rest } = opts;
      return runRecoverGaleraCommand(spec, { ...(rest as import("../deploy/cli.js").DeployCliOptions), logDir: log === false ? false : (opts.logDir as string) }, ["ha-gen", ...process.argv.slice(2)]);
    }),
  );

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
