import type { SpecIssue } from "./spec/issues.js";

/**
 * A user mistake outside the spec itself (a file that cannot be read or parsed, an output directory
 * that must not be replaced): reported as one line without a stack.
 */
export class InputError extends Error {
  constructor(
    message: string,
    /** 2 for usage problems (a missing file, a wrong path), 1 when a file exists but is not valid. */
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = "InputError";
  }
}

/** Thrown by renderCluster for a spec that fails validation; carries every issue as data. */
export class SpecError extends Error {
  constructor(
    readonly errors: readonly SpecIssue[],
    readonly warnings: readonly SpecIssue[],
  ) {
    super(`invalid cluster spec: ${errors.length} problem(s)`);
    this.name = "SpecError";
  }
}
