import type { CommandSpec, OptionSpec } from "../args.js";
import { SPEC_ARG } from "./common.js";

/**
 * The command line's table as plain data: help and parsing read only this module, and a command's
 * code is imported when it runs (main.ts).
 */

/** `--json` on every command: one versioned JSON document (errors too) on stdout; see formats.ts. */
const JSON_OPTION: OptionSpec = {
  long: "json",
  description: "print the result, or the error, as one JSON document on stdout (README: JSON output)",
};

export const renderSpec: CommandSpec = {
  name: "render",
  description: "render every node's files plus plan.json, PLAN.md and manifest.json into a directory",
  args: SPEC_ARG,
  options: [
    {
      long: "out",
      short: "o",
      value: "dir",
      default: "ha-gen-out",
      description:
        "output directory: created, or updated in place when it holds an earlier render (files that did not " +
        "change are not touched)",
    },
    {
      long: "secrets",
      short: "s",
      value: "file",
      description:
        "secrets file, created 0600 and filled with generated values when missing (default: " +
        "<spec>.secrets.yaml beside the spec)",
    },
    JSON_OPTION,
  ],
};

export const initSpec: CommandSpec = {
  name: "init",
  description: "write a commented cluster.ts to start from (never overwrites a file)",
  args: [{ name: "dir", description: "directory to write cluster.ts into (default: the current one)", optional: true }],
};

export const validateSpec: CommandSpec = {
  name: "validate",
  description: "check a spec and report every problem at once",
  args: SPEC_ARG,
  options: [JSON_OPTION],
};

export const planSpec: CommandSpec = {
  name: "plan",
  description: "print the ordered rollout plan (no secrets needed, nothing written)",
  args: SPEC_ARG,
  options: [
    { ...JSON_OPTION, description: "print plan.json (the ha-gen-plan/1 format) instead of PLAN.md" },
    {
      long: "format",
      value: "format",
      choices: ["markdown", "json"],
      default: "markdown",
      description: "output format (deprecated: use --json)",
    },
  ],
};

export const schemaSpec: CommandSpec = {
  name: "schema",
  description: "print the JSON Schema of a cluster spec (for editor completion in YAML specs)",
  options: [{ ...JSON_OPTION, description: "accepted for uniformity: the output is always JSON" }],
};

// Options shared by `deploy` and `recover galera`.
const SSH_OPTIONS: readonly OptionSpec[] = [
  {
    long: "ssh-config",
    value: "file",
    description:
      "OpenSSH client config: Host, HostName, Port, User, IdentityFile, ProxyJump (default ~/.ssh/config " +
      "when it exists)",
  },
  {
    long: "known-hosts",
    value: "file",
    description: "known_hosts file host keys are checked against (default ~/.ssh/known_hosts)",
  },
  {
    long: "accept-new-host-keys",
    description: "trust an unknown host key on first use and record it (a changed key is always refused)",
  },
  {
    long: "identity",
    short: "i",
    value: "file",
    multiple: true,
    description: "private key to log in with (repeatable; tried before the ssh config's)",
  },
  {
    long: "user",
    short: "u",
    value: "name",
    default: "root",
    description: "login user when the ssh config names none; a user other than root needs passwordless sudo",
  },
  { long: "no-agent", description: "do not offer ssh-agent keys" },
];
const LOG_OPTIONS: readonly OptionSpec[] = [
  { long: "json", description: "one JSON event per line on stdout (ha-gen-events/1; an error is one more line)" },
  {
    long: "log-dir",
    value: "dir",
    default: "ha-gen-runs",
    description: "where run logs go (one sub-directory per run)",
  },
  { long: "no-log", description: "write no run log" },
  { long: "connect-timeout", value: "seconds", default: "15", description: "SSH connect and handshake timeout" },
];
const SECRETS_OPTION: OptionSpec = {
  long: "secrets",
  short: "s",
  value: "file",
  description:
    "secrets file (default: <spec>.secrets.yaml beside the spec); every value is redacted from output and logs",
};

export const deploySpec: CommandSpec = {
  name: "deploy",
  description:
    "push every node's files over SSH, then run the plan's steps in order; stops at the first failure (see " +
    "deploy/README.md)",
  args: [{ name: "spec", description: "cluster spec, or a directory written by `ha-gen render`" }],
  options: [
    SECRETS_OPTION,
    ...SSH_OPTIONS,
    {
      long: "dry-run",
      description:
        "connect and show per node the files that would change (with diffs, never for secret files) and the " +
        "steps that would run; change nothing",
    },
    {
      long: "detailed-exitcode",
      description:
        "exit 2 when the run changed something (with --dry-run: when files would change), 0 when nothing, " +
        "1 on error (as terraform plan)",
    },
    { long: "from", value: "step", description: "resume: push files, then run the plan from this step on" },
    { long: "only", value: "steps", description: "run only these steps (comma-separated); `push` is the file push" },
    { long: "nodes", value: "nodes", description: "only these nodes (comma-separated)" },
    {
      long: "root",
      value: "dir",
      description:
        "prefix every remote path with DIR ({node} is replaced by the node name); steps are not run unless " +
        "--root-steps",
    },
    { long: "root-steps", description: "with --root, run steps too (scripts get HA_GEN_ROOT and HA_GEN_NODE)" },
    ...LOG_OPTIONS,
    { long: "concurrency", value: "n", default: "16", description: "nodes worked on at once" },
    {
      long: "connect-retries",
      value: "n",
      default: "2",
      description: "further connection attempts after a network failure",
    },
    { long: "step-timeout", value: "seconds", default: "1800", description: "upper bound of one step on one node" },
    {
      long: "skip-preflight",
      description:
        "do not run `ha-gen preflight`'s read-only checks first (deploy otherwise stops before changing " +
        "anything when one fails; without --root only)",
    },
    {
      long: "install-key",
      value: "pubkey",
      description:
        "first contact: log in with a password (prompted, or from $HA_GEN_SSH_PASSWORD; never argv) and add " +
        "this public key to authorized_keys",
    },
  ],
};

export const recoverGaleraSpec: CommandSpec = {
  name: "galera",
  description:
    "ask every controller for its Galera state, bootstrap the node with the latest transaction, then join " +
    "the others one at a time",
  args: SPEC_ARG,
  options: [
    SECRETS_OPTION,
    ...SSH_OPTIONS,
    { long: "dry-run", description: "only report each controller's state and the decision" },
    ...LOG_OPTIONS,
    {
      long: "step-timeout",
      value: "seconds",
      default: "1800",
      description: "upper bound of bootstrap/join on one node",
    },
  ],
};

const CHECK_OPTIONS: readonly OptionSpec[] = [
  ...SSH_OPTIONS,
  { long: "json", description: "print the report as one JSON object" },
  { long: "nodes", value: "nodes", description: "only these nodes (comma-separated)" },
  { long: "connect-timeout", value: "seconds", default: "15", description: "SSH connect and handshake timeout" },
];

export const preflightSpec: CommandSpec = {
  name: "preflight",
  description:
    "check read-only over SSH that every node is ready for a rollout (OS, interfaces, VIP, names, ports, time, " +
    "disk, repositories, sudo, br_netfilter); exit 1 when a check fails",
  args: SPEC_ARG,
  options: [
    ...CHECK_OPTIONS,
    {
      long: "skip",
      value: "checks",
      description:
        "checks not to make (comma-separated: os, interface, hostname, resolve, vip, ports, time, disk, " +
        "repositories, sudo, br_netfilter)",
    },
  ],
};

export const statusSpec: CommandSpec = {
  name: "status",
  description:
    "one read-only view of the cluster: Galera, clustercheck, RabbitMQ, etcd, memcached, pacemaker, HAProxy, " +
    "chrony and drift of the files; exit 0 healthy, 1 degraded, 2 cannot tell",
  args: SPEC_ARG,
  options: [SECRETS_OPTION, ...CHECK_OPTIONS],
};
