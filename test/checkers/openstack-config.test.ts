import { beforeAll, describe, expect, it } from "vitest";
import { OPENSTACK_CONFIG } from "../../generators/prepare.js";
import { requireTool, run, tempDir } from "../helpers/checker.js";
import { EXAMPLES, artifactAt, renderExample, type ExampleName } from "../helpers/examples.js";

/**
 * The guide's openstack-config (openstack-utils, 四.4), rendered as a wrapper over crudini: run with
 * Debian's real crudini on a scratch ini file, the way the guide's later parts call it.
 */
beforeAll(() => requireTool("crudini", "sh", "shellcheck"));

function wrapper(name: ExampleName, node: string): string {
  return artifactAt(renderExample(name), node, OPENSTACK_CONFIG).content;
}

describe("openstack-config over the real crudini", () => {
  it("is on every node of both examples, executable, the same file", () => {
    for (const name of ["train-ha", "lab"] as const) {
      const r = renderExample(name);
      const files = r.artifacts.filter((a) => a.path === OPENSTACK_CONFIG);
      expect(files.map((a) => a.node)).toEqual(EXAMPLES[name].nodes.map((n) => n.hostname));
      expect(new Set(files.map((a) => a.content)).size).toBe(1);
      for (const a of files) expect(a).toMatchObject({ mode: 0o755, owner: "root", secret: false });
    }
  });

  it("--set, --get and --del edit an ini file as the guide's commands expect; other modes are refused", () => {
    const t = tempDir("ha-gen-openstack-config-");
    try {
      const bin = t.write("openstack-config", wrapper("train-ha", "compute01"), 0o755);
      const ini = t.write("nova.conf", "[DEFAULT]\n# a comment kept\ndebug = false\n");
      const oc = (...args: string[]) => run(bin, args);
      // As in the guide's later parts: a value with a URL and one with spaces and $.
      expect(oc("--set", ini, "DEFAULT", "transport_url", "rabbit://openstack:p@controller01:5672").status).toBe(0);
      expect(oc("--set", ini, "database", "connection", "mysql+pymysql://nova:a b$c@10.15.253.88/nova").status).toBe(0);
      expect(oc("--set", ini, "DEFAULT", "debug", "true").status).toBe(0);
      expect(oc("--get", ini, "DEFAULT", "transport_url").stdout).toBe("rabbit://openstack:p@controller01:5672\n");
      expect(oc("--get", ini, "database", "connection").stdout).toBe("mysql+pymysql://nova:a b$c@10.15.253.88/nova\n");
      expect(oc("--get", ini, "DEFAULT", "debug").stdout).toBe("true\n");
      expect(oc("--del", ini, "DEFAULT", "debug").status).toBe(0);
      const missing = oc("--get", ini, "DEFAULT", "debug");
      expect(missing.status).not.toBe(0);
      expect(oc("--del", ini, "database").status).toBe(0);
      expect(oc("--get", ini).stdout.split("\n").filter(Boolean)).toEqual(["DEFAULT"]);
      expect(run("cat", [ini]).stdout).toContain("# a comment kept\n");
      // openstack-utils knew --set and --del (and --get through crudini); nothing else.
      for (const bad of [["--merge", ini, "DEFAULT"], [], ["--set"]]) {
        const r = oc(...bad);
        expect(r.status, bad.join(" ")).not.toBe(0);
        expect(r.stderr, bad.join(" ")).toMatch(/usage|crudini|Usage|error/i);
      }
      expect(oc("--merge", ini, "DEFAULT").stderr).toContain("usage: openstack-config --set|--get|--del");
    } finally {
      t.cleanup();
    }
  });

  it("is POSIX sh, shellcheck-clean; a broken sample is caught", () => {
    const s = wrapper("lab", "controller01");
    expect(s.startsWith("#!/bin/sh\n")).toBe(true);
    expect(run("sh", ["-n"], { input: s }).status).toBe(0);
    const sc = run("shellcheck", ["-s", "sh", "-"], { input: s });
    expect(sc.status, sc.stdout).toBe(0);
    const broken = s.replace('exec crudini "$@"', "exec crudini $@");
    expect(run("shellcheck", ["-s", "sh", "-"], { input: broken }).status).not.toBe(0);
  });
});
