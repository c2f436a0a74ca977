import { writeSync } from "node:fs";
import pkg from "../package.json" with { type: "json" };
import { parseCommandLine, type CommandSpec, type OptionSpec } from "./cli-args.js";

/**
 * ha-gen's command line. Commands load their modules lazily so `--help` and small commands start
 * fast. Exit codes: 0 ok, 1 invalid spec or secrets (or a failed rollout), 2 usage.
 */

/**
 * Writes straight to the file descriptor: creating process.stdout/stderr on a pipe loads Node's
 * net and stream modules, ~4% of a render's start-up. A descriptor that would block (a
 * non-blocking pipe that is full) hands the rest to the stream, which waits for it.
 */
function writeFd(fd: 1 | 2, text: string): void {
  const buf = Buffer.from(text);
  let done = 0;
  try {
    while (done < buf.length) done += writeSync(fd, buf, done);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EPIPE") return; // the reader went away (`ha-gen plan | head`): nothing left to tell
    if (code !== "EAGAIN") throw e;
    (fd === 1 ? process.stdout : process.stderr).write(buf.subarray(done));
  }
}
const printOut = (text: string) => writeFd(1, text);
const printErr = (text: string) => writeFd(2, text);

const EXIT_INVALID = 1;
const EXIT_USAGE = 2;

function printIssues(lines: readonly string[]): void {
  for (const l of lines) printErr(`${l}\n`);
}

/** Turns user mistakes into messages and exit codes; anything else is a bug and keeps its stack. */
async function guarded(fn: () => Promise<number | void>): Promise<void> {
  try {
    process.exitCode = (await fn()) ?? 0;
  } catch (e) {
    const err = e as Error & { errors?: unknown; exitCode?: number };
    if (err.name === "SpecError") {
      const { formatIssue } = await import("./spec/issues.js");
      const se = e as import("./errors.js").SpecError;
      printIssues(se.warnings.map(formatIssue));
      printErr(`error: the cluster spec has ${se.errors.length} problem(s):\n`);
      printIssues(se.errors.map((i) => `  ${formatIssue(i)}`));
      process.exitCode = EXIT_INVALID;
      return;
    }
    if (err.name === "InputError") {
      printErr(`error: ${err.message}\n`);
      process.exitCode = err.exitCode ?? EXIT_INVALID;
      return;
    }
    throw e;
  }
}

async function warn(warnings: readonly import("./spec/issues.js").SpecIssue[]): Promise<void> {
  if (warnings.length === 0) return;
  const { formatIssue } = await import("./spec/issues.js");
  printIssues(warnings.map(formatIssue));
}

// Options shared by `deploy` and `recover galera`.
const SSH_OPTIONS: readonly OptionSpec[] = [
  { long: "ssh-config", value: "file", description: "OpenSSH client config: Host, HostName, Port, User, IdentityFile, ProxyJump (default ~/.ssh/config when it exists)" },
  { long: "known-hosts", value: "file", description: "known_hosts file host keys are checked against (default ~/.ssh/known_hosts)" },
  { long: "accept-new-host-keys", description: "trust an unknown host key on first use and record it (a changed key is always refused)" },
  { long: "identity", short: "i", value: "file", multiple: true, description: "private key to log in with (repeatable; tried before the ssh config's)" },
  { long: "user", short: "u", value: "name", default: "root", description: "login user when the ssh config names none; a user other than root needs passwordless sudo" },
  { long: "no-agent", description: "do not offer ssh-agent keys" },
];
const LOG_OPTIONS: readonly OptionSpec[] = [
  { long: "json", description: "one JSON event per line on stdout" },
  { long: "log-dir", value: "dir", default: "ha-gen-runs", description: "where run logs go (one sub-directory per run)" },
  { long: "no-log", description: "write no run log" },
  { long: "connect-timeout", value: "seconds", default: "15", description: "SSH connect and handshake timeout" },
];
const SECRETS_OPTION: OptionSpec = { long: "secrets", short: "s", value: "file", description: "secrets file (default: <spec>.secrets.yaml beside the spec); every value is redacted from output and logs" };
const SPEC_ARG = [{ name: "spec", description: "cluster spec: .ts/.js (default export), .yaml or .json" }];

const PROGRAM: CommandSpec = {
  name: "ha-gen",
  description: "Generate and roll out the configuration of a highly available OpenStack control plane from one typed spec.",
  commands: [
    {
      name: "render",
      description: "render every node's files plus plan.json, PLAN.md and manifest.json into a directory",
      args: SPEC_ARG,
      options: [
        { long: "out", short: "o", value: "dir", default: "ha-gen-out", description: "output directory: created, or updated in place when it holds an earlier render (files that did not change are not touched)" },
        { long: "secrets", short: "s", value: "file", description: "secrets file, created 0600 and filled with generated values when missing (default: <spec>.secrets.yaml beside the spec)" },
      ],
    },
    { name: "validate", description: "check a spec and report every problem at once", args: SPEC_ARG },
    {
      name: "plan",
      description: "print the ordered rollout plan (no secrets needed, nothing written)",
      args: SPEC_ARG,
      options: [{ long: "format", value: "format", choices: ["markdown", "json"], default: "markdown", description: "output format" }],
    },
    { name: "schema", description: "print the JSON Schema of a cluster spec (for editor completion in YAML specs)" },
    {
      name: "deploy",
      description: "push every node's files over SSH, then run the plan's steps in order; stops at the first failure (see deploy/README.md)",
      args: [{ name: "spec", description: "cluster spec, or a directory written by `ha-gen render`" }],
      options: [
        SECRETS_OPTION,
        ...SSH_OPTIONS,
        { long: "dry-run", description: "connect and show per node the files that would change (with diffs, never for secret files) and the steps that would run; change nothing" },
        { long: "from", value: "step", description: "resume: push files, then run the plan from this step on" },
        { long: "only", value: "steps", description: "run only these steps (comma-separated); `push` is the file push" },
        { long: "nodes", value: "nodes", description: "only these nodes (comma-separated)" },
        { long: "root", value: "dir", description: "prefix every remote path with DIR ({node} is replaced by the node name); steps are not run unless --root-steps" },
        { long: "root-steps", description: "with --root, run steps too (scripts get HA_GEN_ROOT and HA_GEN_NODE)" },
        ...LOG_OPTIONS,
        { long: "concurrency", value: "n", default: "16", description: "nodes worked on at once" },
        { long: "connect-retries", value: "n", default: "2", description: "further connection attempts after a network failure" },
        { long: "step-timeout", value: "seconds", default: "1800", description: "upper bound of one step on one node" },
        { long: "install-key", value: "pubkey", description: "first contact: log in with a password (prompted, or from $HA_GEN_SSH_PASSWORD; never argv) and add this public key to authorized_keys" },
      ],
    },
    {
      name: "recover",
      description: "recover a service after a full outage (deploy/README.md)",
      commands: [
        {
          name: "galera",
          description: "ask every controller for its Galera state, bootstrap the node with the latest transaction, then join the others one at a time",
          args: SPEC_ARG,
          options: [
            SECRETS_OPTION,
            ...SSH_OPTIONS,
            { long: "dry-run", description: "only report each controller's state and the decision" },
            ...LOG_OPTIONS,
            { long: "step-timeout", value: "seconds", default: "1800", description: "upper bound of bootstrap/join on one node" },
          ],
        },
      ],
    },
  ],
};

type Options = Readonly<Record<string, string | boolean | string[] | undefined>>;

const COMMANDS: Record<string, (args: readonly string[], opts: Options) => Promise<number | void>> = {
  async render([spec], opts) {
    const out = opts.out as string;
    const [{ prepare, defaultSecretsPath }, fsio, doc] = await Promise.all([import("./pipeline.js"), import("./fsio.js"), import("./plan-doc.js")]);
    const secretsPath = (opts.secrets as string | undefined) ?? defaultSecretsPath(spec!);
    fsio.assertReplaceable(out); // before anything is written, secrets included
    const p = await prepare({ specPath: spec!, secretsPath, saveSecrets: fsio.writeSecretsFile });
    await warn(p.warnings);
    if (fsio.tightenSecretsFile(secretsPath)) printErr(`warning: ${secretsPath} was readable by others; its mode is now 0600\n`);
    const { artifacts, plan } = p.rendered;
    const w = fsio.writeTreeAtomic(out, artifacts, [
      { path: "plan.json", content: doc.planJson(plan), mode: 0o644 },
      { path: "PLAN.md", content: doc.planMarkdown(plan, artifacts), mode: 0o644 },
      { path: "manifest.json", content: doc.manifestJson(artifacts), mode: 0o644 },
    ]);
    const secretFiles = artifacts.filter((a) => a.secret).length;
    if (p.generatedSecrets.length > 0) printErr(`generated ${p.generatedSecrets.length} secret(s) into ${secretsPath} (mode 0600)\n`);
    const changes = `${w.written} written, ${w.unchanged} unchanged${w.removed > 0 ? `, ${w.removed} removed` : ""}`;
    printOut(
      `rendered ${artifacts.length} files for ${p.cluster.nodes.length} nodes and a ${plan.steps.length}-step plan into ${out} (${changes}; ${secretFiles} secret files, not world-readable)\n`,
    );
  },
  async validate([spec]) {
    const { check } = await import("./pipeline.js");
    const p = await check(spec!);
    await warn(p.warnings);
    printOut(`ok: ${p.cluster.nodes.length} nodes, ${p.cluster.controllers.length} controllers, VIP ${p.cluster.vip.address}/${p.cluster.vip.prefix}\n`);
  },
  async plan([spec], opts) {
    const [{ prepare }, doc] = await Promise.all([import("./pipeline.js"), import("./plan-doc.js")]);
    const p = await prepare({ specPath: spec! });
    await warn(p.warnings);
    const { plan, artifacts } = p.rendered;
    printOut(opts.format === "json" ? doc.planJson(plan) : doc.planMarkdown(plan, artifacts));
  },
  async schema() {
    const { specJsonSchema } = await import("./json-schema.js");
    printOut(JSON.stringify(specJsonSchema(), null, 2) + "\n");
  },
  async deploy([spec], opts) {
    const { runDeployCommand } = await import("../deploy/cli.js");
    return runDeployCommand(spec!, deployOptions(opts), ["ha-gen", ...process.argv.slice(2)]);
  },
  async "recover galera"([spec], opts) {
    const { runRecoverGaleraCommand } = await import("../deploy/cli.js");
    return runRecoverGaleraCommand(spec!, deployOptions(opts), ["ha-gen", ...process.argv.slice(2)]);
  },
};

function deployOptions(opts: Options): import("../deploy/cli.js").DeployCliOptions {
  const { noAgent, noLog, logDir, ...rest } = opts;
  return { ...(rest as import("../deploy/cli.js").DeployCliOptions), agent: noAgent !== true, logDir: noLog === true ? false : (logDir as string) };
}

const outcome = parseCommandLine(PROGRAM, process.argv.slice(2));
if (outcome.kind === "help") printOut(outcome.text);
else if (outcome.kind === "version") printOut(`${pkg.version}\n`);
else if (outcome.kind === "usage") {
  printErr(`error: ${outcome.message}\n\n${outcome.help}`);
  process.exitCode = EXIT_USAGE;
} else {
  const { path, args, options } = outcome.parsed;
  void guarded(() => COMMANDS[path.join(" ")]!(args, options));
}
