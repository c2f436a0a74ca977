import type { Cluster } from "../../core/model.js";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  deploy,
  installAuthorizedKey,
  newRunId,
  recoverGalera,
  SshTransport,
  type DeployEvent,
  type DeployResult,
} from "../../../deploy/index.js";
import { redactDeep } from "../../../deploy/deploy.js";
import { Redactor } from "../../../deploy/redact.js";
import type { Artifact, PlanStep } from "../../core/artifact.js";
import { InputError } from "../../core/errors.js";
import { parseManifestJson, parsePlanJson, sha256 } from "../../core/formats.js";
import { readSecretsFile } from "../../core/secrets.js";
import { sh } from "../../core/quote.js";
import { formatIssue } from "../../core/spec/issues.js";
import { writeSecretsFile } from "../fsio.js";
import { printErr } from "../output.js";
import { readSecretsText } from "../load.js";
import { defaultSecretsPath, prepare } from "../pipeline.js";
import { jsonView, liveView, plainView, withHeartbeat } from "../progress.js";
import { shownWarnings, type Command } from "./common.js";
import { deploySpec, recoverGaleraSpec } from "./specs.js";
import { cliOptions, type DeployCliOptions, list, type Numbers, numbers, sshTransportOptions } from "../ssh-options.js";

/** `ha-gen deploy`: turns command-line options into a deploy() run with the SSH transport. */

/** Exit status of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/** Period of the non-TTY heartbeat; the variable is for tests (undocumented). */
function heartbeatMs(): number {
  const v = Number(process.env.HA_GEN_HEARTBEAT_MS);
  return Number.isInteger(v) && v >= 10 ? v : 30_000;
}

/** Environment variable read for the first-contact password (never a command-line argument). */
export const PASSWORD_ENV = "HA_GEN_SSH_PASSWORD";

export interface Input {
  readonly artifacts: readonly Artifact[];
  readonly steps: readonly PlanStep[];
  readonly secrets: readonly string[];
  /** Node → address to connect to when the ssh config names no HostName. */
  readonly addresses: ReadonlyMap<string, string>;
  /** From a spec only (recover galera). */
  readonly controllers?: readonly string[];
  readonly warnings: readonly string[];
  /** From a spec only (preflight, status). */
  readonly cluster?: Cluster;
  /** Secret keys the secrets file lacked (a dry run renders them with throw-away values). */
  readonly missingSecrets?: readonly string[];
}

/**
 * A rendered directory (`ha-gen render --out DIR`): plan.json + manifest.json + node trees. Both
 * files are parsed with the schemas render writes them with, and every node file must still be
 * the one the manifest names (same digest), so a hand-edited or half-copied tree is refused.
 */
function loadRenderedDir(dir: string, secretsPath: string | undefined): Input {
  if (!secretsPath) {
    throw new InputError(
      `deploying the rendered directory ${dir} needs --secrets FILE (its values are redacted from all output)`,
      2,
    );
  }
  const read = (p: string) => {
    try {
      return readFileSync(join(dir, p), "utf8");
    } catch {
      throw new InputError(`${dir} is not a rendered ha-gen directory: ${p} is missing`, 2);
    }
  };
  const plan = parsePlanJson(read("plan.json"), join(dir, "plan.json"));
  const manifest = parseManifestJson(read("manifest.json"), join(dir, "manifest.json"));
  const artifacts: Artifact[] = manifest.files.map((f) => {
    const content = read(join(f.node, f.path));
    if (f.sha256 !== undefined && sha256(content) !== f.sha256) {
      throw new InputError(`${join(dir, f.node, f.path)} differs from ${join(dir, "manifest.json")}: render again`);
    }
    return { ...f, content, mode: parseInt(f.mode, 8) };
  });
  // The guards come from plan.json (checked by its schema), so a rendered directory keeps its safety checks.
  const warnings = plan.steps.some((s) => s.guard)
    ? []
    : [
        `${join(dir, "plan.json")} has no step guards (rendered by an older ha-gen): deploy will not ask the ` +
          "nodes before a Galera bootstrap or a pacemaker cluster setup (the scripts still check); render it again",
      ];
  return { artifacts, steps: plan.steps, secrets: secretValues(secretsPath), addresses: new Map(), warnings };
}

/** Every value of the secrets file (extra keys too): all of them are redacted from output. */
function secretValues(path: string): string[] {
  const text = readSecretsText(path);
  if (text === undefined) throw new InputError(`secrets file ${path} does not exist`, 2);
  const { values, issues } = readSecretsFile(text);
  if (issues.length > 0)
    throw new InputError(issues.map((i) => `${path}: ${i.key ? `${i.key}: ` : ""}${i.message}`).join("\n"));
  return [...values];
}

export async function loadSpec(spec: string, o: DeployCliOptions): Promise<Input> {
  const secretsPath = o.secrets ?? defaultSecretsPath(spec);
  const warnings: string[] = [];
  // A dry run writes nothing, not even newly generated secrets (a real run generates and keeps them).
  const save = o.dryRun
    ? () => {
        warnings.push(
          `${secretsPath} lacks some secrets: this dry run used throw-away values ` +
            `(a real deploy generates and saves them)`,
        );
      }
    : writeSecretsFile;
  const p = await prepare({ specPath: spec, secretsPath, saveSecrets: save });
  warnings.push(...shownWarnings(p.warnings).map(formatIssue));
  const addresses = new Map(p.cluster.nodes.map((n) => [n.hostname, n.addresses.management] as const));
  return {
    artifacts: p.rendered.artifacts,
    steps: p.rendered.plan.steps,
    secrets: Object.values(p.cluster.secrets),
    addresses,
    controllers: p.cluster.controllers.map((c) => c.hostname),
    warnings,
    cluster: p.cluster,
    missingSecrets: p.generatedSecrets,
  };
}

async function readPassword(prompt: string): Promise<string> {
  const env = process.env[PASSWORD_ENV];
  if (env !== undefined) return env;
  if (!process.stdin.isTTY)
    throw new InputError(`--install-key needs the SSH password: set ${PASSWORD_ENV} or run on a terminal`, 2);
  process.stderr.write(prompt);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  return await new Promise<string>((res, rej) => {
    let pw = "";
    const onData = (d: Buffer) => {
      for (const ch of d.toString("utf8")) {
        if (ch === "\r" || ch === "\n") {
          done();
          return res(pw);
        }
        if (ch === "\u0003") {
          done();
          return rej(new InputError("cancelled", 2));
        }
        if (ch === "\u007f") pw = pw.slice(0, -1);
        else pw += ch;
      }
    };
    const done = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    };
    stdin.on("data", onData);
  });
}

/**
 * The command that resumes a failed run: the same command line with `--from STEP`, or, when the
 * run had `--only`, with the listed steps from STEP on (`planIds` gives their order). A failed
 * push resumes with the very same command (every file is replaced atomically).
 */
export function resumeCommand(argv: readonly string[], step: string, planIds: readonly string[] = []): string {
  const out: string[] = [];
  let only: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--from" || a === "--only") {
      if (a === "--only") only = (argv[i + 1] ?? "").split(",").map((x) => x.trim());
      i++;
      continue;
    }
    if (a.startsWith("--from=")) continue;
    if (a.startsWith("--only=")) {
      only = a
        .slice(7)
        .split(",")
        .map((x) => x.trim());
      continue;
    }
    out.push(a);
  }
  const quoted = out.map((a) => sh(a));
  if (step === "push") return argv.map((a) => sh(a)).join(" ");
  if (only) {
    const at = planIds.indexOf(step);
    const rest = only.filter((id) => id !== "push" && planIds.indexOf(id) >= at);
    return [...quoted, "--only", sh(rest.join(","))].join(" ");
  }
  return [...quoted, "--from", sh(step)].join(" ");
}

/** The public key of --install-key: one OpenSSH public key line, read before anything is contacted. */
function readInstallKey(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new InputError(`--install-key ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 2);
  }
  if (!/^(ssh-|ecdsa-|sk-)[\w@.-]+ [A-Za-z0-9+/]+=*( [^\n]*)?\n?$/.test(text)) {
    throw new InputError(`--install-key ${path} is not one OpenSSH public key line (did you give the private key?)`, 2);
  }
  return text;
}

/** Shared by deploy and recover: ssh config, known_hosts, the view, and the SSH transport options. */
async function sshSetup(
  input: Pick<Input, "addresses" | "secrets">,
  o: DeployCliOptions,
  n: Numbers,
  resume: (step: string) => string,
) {
  const json = o.json ?? false;
  const live = !json && process.stdout.isTTY === true;
  const viewOpts = { resumeCommand: resume };
  const liveV = live
    ? liveView(process.stdout, viewOpts)
    : json
      ? undefined
      : withHeartbeat(process.stdout, plainView(process.stdout, viewOpts), heartbeatMs());
  const sink: (e: DeployEvent) => void = json ? jsonView(process.stdout) : liveV!.sink;
  // deploy() redacts its own events; the transport's warnings reach the view directly.
  const redactor = new Redactor(input.secrets);
  const report = (e: DeployEvent) => sink(redactDeep(e, redactor));
  const common = await sshTransportOptions(input, o, n, report);
  return { common, sink: report, liveV };
}

/**
 * Before a rollout from a spec: `ha-gen preflight`'s read-only checks on the nodes the run touches;
 * false (after printing the report) when one fails, so nothing is changed. Not with --root (files go
 * to a staging tree, not to the nodes' systems) or --skip-preflight.
 */
async function preflightFirst(input: Input, o: DeployCliOptions, isDir: boolean): Promise<boolean> {
  if (o.skipPreflight || o.root !== undefined || o.installKey !== undefined) return true;
  if (isDir || !input.cluster) {
    printErr("note: preflight needs the spec; deploying a rendered directory skips it (run `ha-gen preflight`)\n");
    return true;
  }
  const { runPreflight, printPreflight } = await import("./preflight.js");
  const r = await runPreflight(input.cluster, o, []);
  if (r.ok) {
    // With --json the event stream starts with run-start: a passed preflight adds nothing to stdout.
    if (!o.json) printErr(`preflight passed on ${new Set(r.checks.map((c) => c.node).filter(Boolean)).size} node(s)\n`);
    return true;
  }
  printPreflight(r, o.json ?? false);
  if (!r.ok) printErr("error: preflight failed: nothing was changed (fix the above, or --skip-preflight)\n");
  return r.ok;
}

/**
 * Ctrl-C (SIGINT) or SIGTERM during a run: the first stops it cleanly (no new work starts, what
 * runs finishes, the run ends with the `--from` to resume); a second exits at once, and the nodes'
 * deploy locks go with the dropped connections. Returns the signal and a function removing the handlers.
 */
function interruptions(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (ac.signal.aborted) {
      printErr(`\n${name} again: aborting now (a step running on a node goes on there until it ends)\n`);
      process.exit(EXIT_INTERRUPTED);
    }
    printErr(`\n${name}: stopping after the running work finishes (again to abort at once)\n`);
    ac.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

/**
 * The exit status of a finished run: 0 ok, 1 failed, 130 interrupted; with --detailed-exitcode an ok
 * run that changed something (a dry run: that would change files) is 2, as `terraform plan` has it.
 */
function exitStatus(result: DeployResult, o: DeployCliOptions): number {
  if (result.interrupted) return EXIT_INTERRUPTED;
  if (!result.ok) return 1;
  if (!o.detailedExitcode) return 0;
  const changed = result.filesChanged > 0 || (!o.dryRun && result.stepResults.some((r) => r.changes.length > 0));
  return changed ? 2 : 0;
}

export async function runDeployCommand(spec: string, o: DeployCliOptions, argv: readonly string[]): Promise<number> {
  const n = numbers(o);
  const pubPath = o.installKey === undefined ? undefined : resolve(o.installKey);
  const pub = pubPath === undefined ? undefined : readInstallKey(pubPath);
  const isDir = existsSync(spec) && statSync(spec).isDirectory();
  const input = isDir ? loadRenderedDir(spec, o.secrets) : await loadSpec(spec, o);
  // With --json they are events of the stream (below).
  if (!o.json) for (const w of input.warnings) printErr(`${w}\n`);
  const resume = (step: string) =>
    resumeCommand(
      argv,
      step,
      input.steps.map((x) => x.id),
    );
  if (!(await preflightFirst(input, o, isDir))) return 1;
  const setup = await sshSetup(input, o, n, resume);
  const { common, liveV } = setup;
  // With --json the input's warnings are events right after run-start (the line that names the format).
  const pending = o.json ? input.warnings.map((w) => w.replace(/^warning(?: \[([^\]]+)\])?: /, "")) : [];
  const sink = (e: DeployEvent) => {
    setup.sink(e);
    if (e.type === "run-start") for (const message of pending.splice(0)) setup.sink({ type: "warning", message });
  };

  let password: string | undefined;
  if (pubPath !== undefined && pub !== undefined) {
    password = await readPassword("SSH password for first contact: ");
    const pwTransport = new SshTransport({ ...common, identityFiles: [], agent: undefined, password });
    const nodes = list(o.nodes) ?? [...new Set(input.artifacts.map((a) => a.node))];
    for (const node of nodes) {
      try {
        const conn = await pwTransport.connect(node);
        const r = await installAuthorizedKey(conn, pub, node);
        await conn.close();
        sink({
          type: "warning",
          message: `${node}: public key ${r === "added" ? "installed" : "already present"} in authorized_keys`,
        });
      } catch (e) {
        await pwTransport.close();
        // The password is redacted like a secret: an error message must never carry it.
        const why = new Redactor([password]).redact((e as Error).message);
        throw new InputError(`${node}: installing the public key failed: ${why}`, 1);
      }
    }
    await pwTransport.close();
    // The matching private key is the one to log in with from now on.
    if (pubPath.endsWith(".pub")) common.identityFiles.unshift(pubPath.slice(0, -4));
  }

  const transport = new SshTransport(common);
  const runId = newRunId();
  const logDir = o.logDir === false || o.dryRun ? undefined : resolve(o.logDir ?? "ha-gen-runs", runId);
  let result: DeployResult;
  const interrupt = interruptions();
  try {
    result = await deploy({
      artifacts: input.artifacts,
      plan: { steps: input.steps },
      transport,
      secrets: password === undefined ? input.secrets : [...input.secrets, password],
      ...(o.root !== undefined ? { root: o.root } : {}),
      rootSteps: o.rootSteps ?? false,
      dryRun: o.dryRun ?? false,
      ...(o.from !== undefined ? { from: o.from } : {}),
      ...(o.only !== undefined ? { only: list(o.only)! } : {}),
      ...(o.nodes !== undefined ? { nodes: list(o.nodes)! } : {}),
      concurrency: n.concurrency,
      stepTimeoutMs: n.stepTimeoutMs,
      onEvent: sink,
      ...(logDir ? { logDir } : {}),
      runId,
      signal: interrupt.signal,
    });
  } finally {
    interrupt.dispose();
    liveV?.stop();
  }
  return exitStatus(result, o);
}

/** `ha-gen recover galera <spec>`: see recover.ts. */
export async function runRecoverGaleraCommand(
  spec: string,
  o: DeployCliOptions,
  argv: readonly string[],
): Promise<number> {
  const n = numbers(o);
  const input = await loadSpec(spec, o);
  for (const w of input.warnings) printErr(`${w}\n`);
  // Recovery re-reads every node's state, so the way to resume is to run it again.
  const again = argv.map((a) => sh(a)).join(" ");
  const { common, sink, liveV } = await sshSetup(input, o, n, () => again);
  const runId = newRunId();
  const logDir =
    o.logDir === false || o.dryRun ? undefined : resolve(o.logDir ?? "ha-gen-runs", `${runId}-recover-galera`);
  const interrupt = interruptions();
  try {
    const r = await recoverGalera({
      controllers: input.controllers ?? [],
      transport: new SshTransport(common),
      secrets: input.secrets,
      dryRun: o.dryRun ?? false,
      ...(o.root !== undefined ? { root: o.root } : {}),
      stepTimeoutMs: n.stepTimeoutMs,
      onEvent: sink,
      ...(logDir ? { logDir } : {}),
      signal: interrupt.signal,
    });
    return r.run?.interrupted ? EXIT_INTERRUPTED : r.ok ? 0 : 1;
  } finally {
    interrupt.dispose();
    liveV?.stop();
  }
}

export const deployCommand: Command = {
  spec: deploySpec,
  run: ([spec], opts, argv) => runDeployCommand(spec!, cliOptions(opts), ["ha-gen", ...argv]),
};

export const recoverGaleraCommand: Command = {
  spec: recoverGaleraSpec,
  run: ([spec], opts, argv) => runRecoverGaleraCommand(spec!, cliOptions(opts), ["ha-gen", ...argv]),
};
