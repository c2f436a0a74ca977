import type { SpecIssue } from "./spec/issues.js";

/**
 * The one family of errors a user or the machine can cause. Each carries a stable `code` for
 * programs, an exit status for the CLI and a message for a person; the CLI's runMain prints the
 * message as one line and exits with `exitCode`. Anything thrown that is not a HaGenError is a bug
 * in ha-gen and is reported as such, with its stack.
 *
 * Exit statuses: 1 for invalid input (a spec, a secrets file, a rendered directory) or a failed
 * rollout, 2 for usage and environment problems (a wrong option, a missing or unwritable path).
 */
export abstract class HaGenError extends Error {
  abstract readonly code: string;
  readonly exitCode: 1 | 2;

  constructor(message: string, exitCode: 1 | 2, options?: ErrorOptions) {
    super(message, options);
    this.exitCode = exitCode;
    this.name = new.target.name;
  }
}

/** The cluster spec failed validation; every problem is in `errors`, as data. Exit 1. */
export class SpecError extends HaGenError {
  readonly code = "SPEC_INVALID";
  constructor(
    readonly errors: readonly SpecIssue[],
    readonly warnings: readonly SpecIssue[],
  ) {
    super(`invalid cluster spec: ${errors.length} problem(s)`, 1);
  }
}

/**
 * A file the user gave cannot be used: it exists but is not valid (exit 1), or it is missing or
 * unreadable (exit 2).
 */
export class InputError extends HaGenError {
  readonly code = "INPUT_INVALID";
  constructor(message: string, exitCode: 1 | 2 = 1, options?: ErrorOptions) {
    super(message, exitCode, options);
  }
}

/** The command line or a library option asks for something that cannot be done. Exit 2. */
export class UsageError extends HaGenError {
  readonly code = "USAGE";
  constructor(message: string, options?: ErrorOptions) {
    super(message, 2, options);
  }
}

/** The machine refuses: a path that cannot be written, a directory that must not be replaced. Exit 2. */
export class EnvironmentError extends HaGenError {
  readonly code = "ENVIRONMENT";
  constructor(message: string, options?: ErrorOptions) {
    super(message, 2, options);
  }
}

/** A node cannot be reached or refuses us (network, host key, login). Exit 1: the rollout failed. */
export class ConnectError extends HaGenError {
  readonly code = "CONNECT";
  constructor(
    readonly node: string,
    message: string,
    /** A network failure worth another attempt (not an authentication or host key refusal). */
    readonly retryable: boolean,
  ) {
    super(message, 1);
  }
}
