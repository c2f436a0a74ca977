import pkg from "../../package.json" with { type: "json" };
import { HaGenError, SpecError } from "../core/errors.js";
import { ERROR_FORMAT, jsonDocument, jsonIssue } from "../core/formats.js";
import { printErr, printOut } from "./output.js";

/** Where a --json run's error goes: a document on stdout, one line when it ends an event stream. */
export interface JsonErrors {
  readonly compact: boolean;
}

/** `e` as an ha-gen-error/1 document on stdout (a bug's stack still goes to stderr). */
export function reportJsonError(e: unknown, o: JsonErrors): number {
  const exitCode = e instanceof HaGenError ? e.exitCode : 70;
  const code = e instanceof HaGenError ? e.code : "INTERNAL";
  const message =
    e instanceof HaGenError ? e.message : `internal error (a bug in ha-gen ${pkg.version}; please report it)`;
  if (!(e instanceof HaGenError)) printErr(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  const spec = e instanceof SpecError ? e : undefined;
  printOut(
    jsonDocument(
      {
        format: ERROR_FORMAT,
        ok: false,
        exitCode,
        code,
        message,
        ...(spec ? { issues: spec.errors.map(jsonIssue) } : {}),
        warnings: (spec?.warnings ?? []).map(jsonIssue),
      },
      o.compact,
    ),
  );
  return exitCode;
}
