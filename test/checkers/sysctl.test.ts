import { beforeAll, describe, expect, it } from "vitest";
import { scriptPath } from "../../generators/common.js";
import { requireTool, run } from "../helpers/checker.js";
import { artifactAt, type ExampleName, renderExample } from "../helpers/examples.js";

beforeAll(() => requireTool("bash", "shellcheck"));

const script = (name: ExampleName, node: string) =>
  artifactAt(renderExample(name), node, scriptPath("11-sysctl")).content;

// 11-sysctl runs on every node; no other checker test reads it.
describe("11-sysctl script: bash -n and shellcheck", () => {
  for (const [name, node] of [
    ["train-ha", "controller01"],
    ["train-ha", "compute01"],
    ["lab", "controller01"],
  ] as const) {
    it(`${name} ${node}: parses and is shellcheck-clean`, () => {
      const s = script(name, node);
      const syntax = run("bash", ["-n"], { input: s });
      expect(syntax.status, syntax.stderr).toBe(0);
      const sc = run("shellcheck", ["-s", "bash", "-"], { input: s });
      expect(sc.status, sc.stdout).toBe(0);
    });
  }
  it("broken sample: shellcheck rejects an unquoted key", () => {
    const s = script("lab", "controller01").replace('actual=$(sysctl -n "$key")', "actual=$(sysctl -n $key)");
    expect(s).toContain("sysctl -n $key)");
    expect(run("shellcheck", ["-s", "bash", "-"], { input: s }).status).not.toBe(0);
  });
});
