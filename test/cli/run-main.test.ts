import { afterEach, describe, expect, it, vi } from "vitest";
import * as output from "../../src/cli/output.js";
import { reportError, runMain } from "../../src/cli/main.js";
import {
  ConnectError,
  EnvironmentError,
  HaGenError,
  InputError,
  SpecError,
  UsageError,
} from "../../src/core/errors.js";

/** runMain's one mapping from errors to output and exit status. */

let err = "";
let out = "";
afterEach(() => vi.restoreAllMocks());
function capture() {
  err = "";
  out = "";
  vi.spyOn(output, "printErr").mockImplementation((t) => void (err += t));
  vi.spyOn(output, "printOut").mockImplementation((t) => void (out += t));
}

describe("reportError", () => {
  it("prints a HaGenError as one line and returns its exit status", () => {
    capture();
    const cases: [HaGenError, number][] = [
      [new InputError("spec.yaml: not valid YAML"), 1],
      [new InputError("spec file x does not exist", 2), 2],
      [new UsageError("--nodes needs at least one node"), 2],
      [new EnvironmentError("--out /ro: EACCES"), 2],
      [new ConnectError("c1", "c1: connection refused", true), 1],
    ];
    for (const [e, code] of cases) {
      err = "";
      expect(reportError(e)).toBe(code);
      expect(err).toBe(`error: ${e.message}\n`);
      expect(e).toBeInstanceOf(HaGenError);
      expect(e.code).toMatch(/^[A-Z_]+$/);
    }
  });

  it("prints every spec problem with its path", () => {
    capture();
    const e = new SpecError(
      [{ path: "nodes[0].hostname", message: "is not a valid RFC 1123 hostname", severity: "error" }],
      [],
    );
    expect(reportError(e)).toBe(1);
    expect(err).toContain("error: the cluster spec has 1 problem(s):\n  nodes[0].hostname: ");
  });

  it("labels anything else as a bug in ha-gen, with its stack", () => {
    capture();
    expect(reportError(new TypeError("x is undefined"))).toBe(70);
    expect(err).toMatch(/^internal error \(a bug in ha-gen [^)]+\):\nTypeError: x is undefined\n\s+at /);
  });
});

describe("runMain", () => {
  it("help 0, version 0, usage 2", async () => {
    capture();
    expect(await runMain(["--help"])).toBe(0);
    expect(out).toMatch(/^Usage: ha-gen/);
    expect(await runMain(["--version"])).toBe(0);
    expect(await runMain(["render"])).toBe(2);
    expect(err).toMatch(/^error: missing required argument 'spec'/);
  });
});
