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
