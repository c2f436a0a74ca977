import { beforeAll, describe, expect, it } from "vitest";
import { scriptPath } from "../../generators/common.js";
import { HAPROXY_CFG, HAPROXY_CHROOT } from "../../generators/haproxy.js";
import { renderCluster } from "../../src/render.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";
import { requireTool, run } from "../helpers/checker.js";
import { EXAMPLES as SPECS, artifactAt, renderExample, type ExampleName } from "../helpers/examples.js";
import { checkHaproxyCfg, statsSocketAnswers, statsStatus } from "../helpers/haproxy-check.js";
import { changedLines, sandbox, STUB_STATE, SYSTEMCTL_STUB } from "../helpers/pacemaker-sandbox.js";
import { SCRIPT_LIB } from "../../src/core/os.js";
import overridesExample from "../../examples/overrides/cluster.ts";

const EXAMPLES: ExampleName[] = ["train-ha", "lab"];

beforeAll(() => requireTool("haproxy", "unshare", "ip", "base64", "shellcheck", "bash"));

describe("haproxy.cfg against haproxy -c (isolated, warnings fail)", () => {
  for (const name of EXAMPLES) {
    it(`${name}: every controller's haproxy.cfg is accepted without warnings`, () => {
      const r = renderExample(name);
      const cfgs = r.artifacts.filter((a) => a.path === HAPROXY_CFG);
      expect(cfgs.length).toBe(SPECS[name].nodes.filter((n) => n.roles.includes("controller")).length);
      for (const a of cfgs) {
        const c = checkHaproxyCfg(a.content, artifactAt(r, a.node, "/etc/hosts").content);
        expect(c.ok, `${a.node}: ${c.result.stdout}${c.result.stderr}`).toBe(true);
      }
    });
  }

  it("broken sample: `balance sourc` is rejected", () => {
    const r = renderExample("lab");
    const a = artifactAt(r, "controller01", HAPROXY_CFG);
    const broken = a.content.replace("balance source", "balance sourc");
    expect(broken).not.toBe(a.content);
    expect(checkHaproxyCfg(broken, artifactAt(r, "controller01", "/etc/hosts").content).ok).toBe(false);
  });

  it("broken sample: a warning alone fails the check (http-check without option httpchk)", () => {
    const r = renderExample("lab");
    const a = artifactAt(r, "controller01", HAPROXY_CFG);
    const broken = a.content.replace(/(listen galera_cluster[\s\S]*?) {4}option httpchk\n/, "$1");
    expect(broken).not.toBe(a.content);
    const c = checkHaproxyCfg(broken, artifactAt(r, "controller01", "/etc/hosts").content);
    expect(c.result.status).toBe(0);
    expect(c.ok).toBe(false);
  });
});

describe("haproxy.cfg with the spec's services and an appended block (examples/overrides)", () => {
  const render = (spec: typeof overridesExample) => renderCluster(spec, FAKE_SECRETS);

  it("every controller's file is accepted without warnings, with the derived services and the block", () => {
    const r = render(overridesExample);
    for (const a of r.artifacts.filter((x) => x.path === HAPROXY_CFG)) {
      expect(a.content).toContain("listen heat_api_cluster\n");
      expect(a.content).not.toContain("nova_vncproxy_cluster");
      expect(a.content).toMatch(/# overridden by the spec: overrides\[2\] \(append\)\nfrontend monitor\n/);
      const c = checkHaproxyCfg(a.content, artifactAt(r, a.node, "/etc/hosts").content);
      expect(c.ok, `${a.node}: ${c.result.stdout}${c.result.stderr}`).toBe(true);
    }
  });

  it("broken sample: an appended block HAProxy rejects fails the check", () => {
    const spec = {
      ...overridesExample,
      overrides: [{ path: HAPROXY_CFG, append: "frontend monitor\n    bind 198.51.100.10:8405\n    mode htp\n" }],
    };
    const r = render(spec);
    const a = artifactAt(r, "controller01", HAPROXY_CFG);
    expect(checkHaproxyCfg(a.content, artifactAt(r, "controller01", "/etc/hosts").content).ok).toBe(false);
  });
});

describe("stats auth as HAProxy parses it (haproxy running in an isolated namespace)", () => {
  it("a password with #, backslash, colon and non-ASCII letters logs in; a wrong one does not", () => {
    const password = "p#ss\\wo:rd-é中";
    const r = renderCluster(SPECS.lab, { ...FAKE_SECRETS, haproxy_stats_pass: password });
    const cfg = artifactAt(r, "controller01", HAPROXY_CFG).content;
    const addrs = ["198.51.100.10", "198.51.100.11"];
    const ok = statsStatus(cfg, addrs, "198.51.100.11:1080", "admin", password);
    expect(ok.stdout, ok.stderr).toMatch(/^HTTP\/1\.[01] 200/);
    const wrong = statsStatus(cfg, addrs, "198.51.100.10:1080", "admin", "p#ss");
    expect(wrong.stdout, wrong.stderr).toMatch(/^HTTP\/1\.[01] 401/);
  });
});

describe("the stats socket at level operator (haproxy running in an isolated namespace)", () => {
  const commands = [
    "show info",
    "show servers state galera_cluster",
    "disable server galera_cluster/controller02",
    "set server galera_cluster/controller02 state maint",
  ];
  const answers = (cfg: string) => {
    const r = statsSocketAnswers(cfg, ["198.51.100.10", "198.51.100.11"], `${HAPROXY_CHROOT}/stats`, commands);
    expect(r.status, r.stderr).toBe(0);
    const blocks = r.stdout.split(/^=== /m).filter(Boolean);
    return new Map(blocks.map((b) => [b.slice(0, b.indexOf("\n")), b.slice(b.indexOf("\n") + 1)]));
  };

  it("answers show commands; refuses changing a server's state", () => {
    const cfg = artifactAt(renderExample("lab"), "controller01", HAPROXY_CFG).content;
    expect(cfg).toContain(`stats socket ${HAPROXY_CHROOT}/stats mode 600 level operator\n`);
    const a = answers(cfg);
    expect(a.get("show info")).toMatch(/^Name: HAProxy$/m);
    expect(a.get("show servers state galera_cluster")).toMatch(/galera_cluster \d+ controller02 /);
    for (const c of commands.slice(2)) expect(a.get(c), c).toMatch(/Permission denied/);
  });

  it("broken sample: at level admin the same commands are obeyed (the check tells the levels apart)", () => {
    const operator = artifactAt(renderExample("lab"), "controller01", HAPROXY_CFG).content;
    const cfg = operator.replace("mode 600 level operator", "mode 600 level admin");
    const a = answers(cfg);
    for (const c of commands.slice(2)) expect(a.get(c), c).not.toMatch(/Permission denied/);
  });
});

describe("51-haproxy script: bash -n and shellcheck", () => {
  for (const name of EXAMPLES) {
    it(`${name}: parses and is shellcheck-clean`, () => {
      const s = artifactAt(renderExample(name), "controller01", scriptPath("51-haproxy")).content;
      expect(run("bash", ["-n"], { input: s }).status).toBe(0);
      const sc = run("shellcheck", ["-s", "bash", "-"], { input: s });
      expect(sc.status, sc.stdout).toBe(0);
    });
  }
  it("broken sample: shellcheck rejects an unquoted command substitution", () => {
    const s = artifactAt(renderExample("lab"), "controller01", scriptPath("51-haproxy")).content.replace(
      `printf '%s\\n' "$out"`,
      "printf '%s\\n' $out",
    );
    expect(s).toContain("printf '%s\\n' $out");
    expect(run("shellcheck", ["-s", "bash", "-"], { input: s }).status).not.toBe(0);
  });
});

describe.concurrent("51-haproxy run for real in a sandboxed copy of this machine (systemctl stubbed)", () => {
  const r = renderExample("lab");
  const pick = (path: string, content?: string) => {
    const a = artifactAt(r, "controller01", path);
    return { path: a.path, content: content ?? a.content, mode: a.mode };
  };
  const STEP = scriptPath("51-haproxy");
  const calls = `grep -v 'is-active\\|is-enabled' ${STUB_STATE}/calls || true`;

  it("disables haproxy in systemd and reloads a running one once; a rerun changes nothing", async () => {
    const res = await sandbox({
      files: [pick(SCRIPT_LIB), pick(HAPROXY_CFG), pick(STEP)],
      stubs: { systemctl: SYSTEMCTL_STUB },
      setup:
        `mkdir -p ${STUB_STATE}/systemd && ` +
        `touch ${STUB_STATE}/systemd/haproxy.enabled ${STUB_STATE}/systemd/haproxy.active`,
      script: STEP,
      runs: 2,
      inspect: calls,
    });
    const [first, second] = res.runs;
    expect(first!.status, first!.stderr).toBe(0);
    expect(changedLines(first!)).toEqual([
      "ha-gen:changed disabled haproxy",
      "ha-gen:changed reloaded haproxy (configuration changed)",
    ]);
    expect(second!.status, second!.stderr).toBe(0);
    expect(changedLines(second!)).toEqual([]);
    expect(res.inspect.trim().split("\n")).toEqual(["systemctl disable haproxy", "systemctl reload haproxy"]);
  });

  it("a stopped haproxy is left to pacemaker; a configuration haproxy rejects fails the step", async () => {
    const ok = await sandbox({
      files: [pick(SCRIPT_LIB), pick(HAPROXY_CFG), pick(STEP)],
      stubs: { systemctl: SYSTEMCTL_STUB },
      script: STEP,
      runs: 1,
      inspect: calls,
    });
    expect(ok.runs[0]!.status, ok.runs[0]!.stderr).toBe(0);
    expect(changedLines(ok.runs[0]!)).toEqual([]);
    expect(ok.inspect.trim()).toBe("");
    const broken = artifactAt(r, "controller01", HAPROXY_CFG).content.replace("balance source", "balance sourc");
    const bad = await sandbox({
      files: [pick(SCRIPT_LIB), pick(HAPROXY_CFG, broken), pick(STEP)],
      stubs: { systemctl: SYSTEMCTL_STUB },
      script: STEP,
      runs: 1,
    });
    expect(bad.runs[0]!.status).not.toBe(0);
    expect(bad.runs[0]!.stderr).toContain("haproxy rejects /etc/haproxy/haproxy.cfg");
  });
});
