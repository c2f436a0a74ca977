import { stringify as iniStringify } from "ini";
import { describe, expect, it } from "vitest";
import { HAPROXY_CFG } from "../generators/haproxy.js";
import { CLUSTERCHECK_CNF, ROOT_MY_CNF } from "../generators/galera.js";
import { MARKER } from "../src/core/artifact.js";
import { manifestJson, parsePlanJson, planJson, planMarkdown } from "../src/core/formats.js";
import { mergeIni } from "../src/core/overrides.js";
import { iniFragment } from "../src/core/spec/overrides.js";
import { formatIssue, renderCluster, SpecError, validateSpec, type ClusterSpecInput } from "../src/index.js";
import { FAKE_SECRETS } from "./fixtures/secrets.js";
import { EXAMPLES } from "./helpers/examples.js";
import { parseCnf } from "./helpers/galera-cnf.js";

const LAB = EXAMPLES.lab;
const CNF = "/etc/mysql/mariadb.conf.d/60-galera.cnf";
const withOverrides = (overrides: ClusterSpecInput["overrides"]): ClusterSpecInput => ({ ...LAB, overrides });
const render = (overrides: ClusterSpecInput["overrides"]) => renderCluster(withOverrides(overrides), FAKE_SECRETS);
const file = (r: ReturnType<typeof render>, node: string, path: string) =>
  r.artifacts.find((a) => a.node === node && a.path === path)!;

/** The problems a render reports, one line each. */
function problems(overrides: ClusterSpecInput["overrides"]): string[] {
  try {
    render(overrides);
  } catch (e) {
    if (e instanceof SpecError) return e.errors.map(formatIssue);
    throw e;
  }
  return [];
}

describe("INI merge into the Galera option file", () => {
  it("changes an option where it stands, adds new ones at the end of their group, new groups at the end", () => {
    const before = file(render([]), "controller01", CNF).content;
    const r = render([
      {
        path: CNF,
        ini: {
          mysqld: { "max-connections": 5000, "skip-name-resolve": true, wait_timeout: 600 },
          sst: { progress: 1 },
          galera: { wsrep_sync_wait: null },
        },
      },
    ]);
    const after = file(r, "controller01", CNF).content;
    const groups = parseCnf(after);
    // `-` and `_` are one option to mysys: the generated max_connections line is the one changed.
    expect(groups.get("mysqld")?.get("max-connections")).toBe("5000");
    expect(groups.get("mysqld")?.has("max_connections")).toBe(false);
    expect(groups.get("mysqld")?.get("skip-name-resolve")).toBe("");
    expect(groups.get("mysqld")?.get("wait_timeout")).toBe("600");
    expect(groups.get("sst")?.get("progress")).toBe("1");
    expect(groups.get("galera")?.has("wsrep_sync_wait")).toBe(false);
    // Everything else is as generated, the marker first.
    expect(after.split("\n")[0]).toBe(`# ${MARKER}`);
    const untouched = (t: string) =>
      t
        .split("\n")
        .filter((l) => !/max_connections|max-connections|wsrep_sync_wait|overridden|skip-name|wait_timeout/.test(l));
    expect(untouched(after).slice(0, untouched(before).length - 1)).toEqual(untouched(before).slice(0, -1));
    expect(after).toContain("# overridden by the spec: overrides[0]\nmax-connections = 5000\n");
    expect(after.endsWith("[sst]\n# overridden by the spec: overrides[0]\nprogress = 1\n")).toBe(true);
  });

  it("writes values through the my.cnf quoting, not the ini package's backslash escapes", () => {
    const value = 'SET NAMES utf8mb4; -- #1 "q" \\';
    const after = file(render([{ path: CNF, ini: { mysqld: { init_connect: value } } }]), "controller02", CNF).content;
    expect(after).toContain('init_connect = "SET NAMES utf8mb4; -- #1 \\"q\\" \\\\"\n');
    // What ini's own writer would have put there instead (MariaDB reads those backslashes literally).
    expect(iniStringify({ mysqld: { init_connect: "a;b#c" } })).toContain("a\\;b\\#c");
  });

  it("an INI text fragment is parsed with the ini package and merges like the same object", () => {
    const text = "[mysqld]\nwait_timeout = 600\nskip-name-resolve\nplugin_load_add[] = a\nplugin_load_add[] = b\n";
    const obj = { mysqld: { wait_timeout: "600", "skip-name-resolve": true, plugin_load_add: ["a", "b"] } };
    const a = file(render([{ path: CNF, ini: text }]), "controller01", CNF).content;
    const b = file(render([{ path: CNF, ini: obj }]), "controller01", CNF).content;
    expect(a).toBe(b);
    expect(a).toContain("plugin_load_add = a\nplugin_load_add = b\n");
  });

  it("a dotted group name ([mariadb-10.11]) stays one group", () => {
    expect(iniFragment("[mariadb-10.11]\nx = 1\n").sections).toEqual([
      { section: "mariadb-10.11", entries: [{ key: "x", values: ["1"] }] },
    ]);
  });

  it("refuses an option a later group of the same file sets again (it would have no effect)", () => {
    expect(problems([{ path: CNF, ini: { mysqld: { innodb_buffer_pool_size: "2G" } } }])).toEqual([
      'overrides[0].ini.mysqld.innodb_buffer_pool_size: "[mysqld] innodb_buffer_pool_size" is set again later ' +
        `in [galera] of ${CNF}, which mariadbd also reads (the last line wins): set it in [galera] instead`,
    ]);
    expect(problems([{ path: CNF, ini: { galera: { innodb_buffer_pool_size: "2G" } } }])).toEqual([]);
  });

  it("mergeIni removes repetitions of a changed option in its group (mysys keeps the last)", () => {
    const { content } = mergeIni("[a]\nx = 1\ny = 2\nx = 3\n", iniFragment({ a: { x: 9 } }).sections, "n");
    expect(content).toBe("[a]\n# n\nx = 9\ny = 2\n");
  });
});

describe("append and replace", () => {
  it("append adds the text after a comment naming the override; the file keeps mode and owner", () => {
    const r = render([{ path: HAPROXY_CFG, append: "frontend monitor\n    bind 198.51.100.10:8405" }]);
    const before = file(render([]), "controller03", HAPROXY_CFG);
    const a = file(r, "controller03", HAPROXY_CFG);
    expect(a.content).toBe(
      `${before.content}# overridden by the spec: overrides[0] (append)\n` +
        "frontend monitor\n    bind 198.51.100.10:8405\n",
    );
    expect([a.mode, a.owner, a.group, a.secret]).toEqual([before.mode, before.owner, before.group, before.secret]);
  });

  it("replace keeps the generated header (shebang and marker) on top", () => {
    const r = render([
      { path: "/etc/chrony/chrony.conf", nodes: ["controller02"], replace: "server 198.51.100.11 iburst\n" },
    ]);
    expect(file(r, "controller02", "/etc/chrony/chrony.conf").content).toBe(
      `# ${MARKER}\n# overridden by the spec: overrides[0] (replace)\nserver 198.51.100.11 iburst\n`,
    );
    // A node named twice is changed once.
    const twice = render([{ path: HAPROXY_CFG, nodes: ["controller01", "controller01"], append: "# once" }]);
    expect(file(twice, "controller01", HAPROXY_CFG).content.match(/# once/g)).toHaveLength(1);
    expect(twice.plan.overrides?.[0]?.nodes).toEqual(["controller01"]);
    // Only the node named.
    expect(file(r, "controller01", "/etc/chrony/chrony.conf")).toEqual(
      file(render([]), "controller01", "/etc/chrony/chrony.conf"),
    );
    const script = "/usr/local/lib/ha-gen/10-chrony.sh";
    const s = file(render([{ path: script, replace: "true\n" }]), "controller01", script).content;
    expect(s).toBe(`#!/usr/bin/env bash\n# ${MARKER}\n# overridden by the spec: overrides[0] (replace)\ntrue\n`);
  });
});

describe("secret files", () => {
  it("stay secret with their mode and group whatever the override: never world-readable", () => {
    const r = render([
      { path: ROOT_MY_CNF, ini: { client: { "default-character-set": "utf8mb4" } } },
      { path: CLUSTERCHECK_CNF, ini: "[client]\nconnect_timeout = 5\n" },
      { path: HAPROXY_CFG, replace: "global\n" },
      { path: "/etc/ha-gen/secrets.env", append: "EXTRA=1" },
    ]);
    const base = render([]);
    for (const path of [ROOT_MY_CNF, CLUSTERCHECK_CNF, HAPROXY_CFG, "/etc/ha-gen/secrets.env"]) {
      const [a, b] = [file(r, "controller01", path), file(base, "controller01", path)];
      expect(a.content, path).not.toBe(b.content);
      expect([a.secret, a.mode, a.owner, a.group], path).toEqual([true, b.mode, b.owner, b.group]);
      expect(a.mode & 0o007, path).toBe(0);
    }
    expect(file(r, "controller01", CLUSTERCHECK_CNF).mode).toBe(0o640);
    // manifest.json still carries no digest of a secret file.
    const manifest = JSON.parse(manifestJson(r.artifacts)) as { files: { path: string; sha256?: string }[] };
    expect(manifest.files.filter((f) => f.path === ROOT_MY_CNF).every((f) => f.sha256 === undefined)).toBe(true);
  });
});

describe("problems: every one at once, with spec path, value and a did-you-mean", () => {
  it("paths and nodes that do not exist, INI merges into non-INI files", () => {
    expect(
      problems([
        { path: "/etc/mysql/mariadb.conf.d/60-galera.cfn", ini: { mysqld: { x: 1 } } },
        { path: CNF, nodes: ["controller1", "controller02"], append: "x" },
        { path: HAPROXY_CFG, ini: { global: { x: 1 } } },
        { path: "/etc/nothing/like/this", append: "x" },
      ]),
    ).toEqual([
      `overrides[0].path: /etc/mysql/mariadb.conf.d/60-galera.cfn is not a file ha-gen generates; did you mean ${CNF}?`,
      "overrides[1].nodes[0]: controller1 is not a node; did you mean controller01?",
      `overrides[2].ini: ${HAPROXY_CFG} is not an INI file: ` +
        "merge key by key only into INI files; use append or replace",
      "overrides[3].path: /etc/nothing/like/this is not a file ha-gen generates",
    ]);
  });

  it("a node that does not have the file", () => {
    const spec = {
      ...LAB,
      nodes: [
        ...LAB.nodes,
        { hostname: "compute01", roles: ["compute" as const], addresses: { management: "198.51.100.21" } },
      ],
    };
    const r = () =>
      renderCluster({ ...spec, overrides: [{ path: CNF, nodes: ["compute01"], append: "x" }] }, FAKE_SECRETS);
    expect(r).toThrow(SpecError);
    try {
      r();
    } catch (e) {
      expect((e as SpecError).errors.map(formatIssue)).toEqual([
        `overrides[0].path: ${CNF} is not a file ha-gen generates on compute01 (it is on controller01, controller02, ` +
          "controller03)",
      ]);
    }
    const both = () =>
      renderCluster(
        { ...spec, overrides: [{ path: CNF, nodes: ["controller01", "compute01"], append: "x" }] },
        FAKE_SECRETS,
      );
    expect(both).toThrow(SpecError);
    try {
      both();
    } catch (e) {
      expect((e as SpecError).errors.map(formatIssue)).toEqual([
        `overrides[0].nodes[1]: compute01 has no ${CNF} (ha-gen writes it on controller01, controller02, controller03)`,
      ]);
    }
  });

  it("the spec's own checks: one kind per override, option names, values an option file cannot hold", () => {
    const v = validateSpec(
      withOverrides([
        { path: CNF },
        { path: CNF, append: "a", replace: "b" },
        { path: CNF, ini: { mysqld: { "bad key": 1, wsrep_on: false, x: "a\u0000b" } } },
        { path: CNF, ini: "top = 1\n[mysqld]\nflag = false\n" },
        { path: "relative/path", append: "x" },
        { path: CNF, appendd: "x" } as never,
        { path: CNF, ini: { mysqld: { x: { y: 1 } }, zz: 1 } } as never,
      ]),
    );
    expect(v.ok).toBe(false);
    expect(!v.ok && v.errors.map(formatIssue)).toEqual([
      expect.stringMatching(/^overrides\[0\]: .* needs one of ini, append or replace$/),
      "overrides[1].replace: b is given with append: one override makes one change (use another override for this one)",
      'overrides[2].ini.mysqld["bad key"]: 1 is not an option name (1-128 of A-Z a-z 0-9 _ -)',
      "overrides[2].ini.mysqld.wsrep_on: false is false: an option file has no false (write OFF or 0, or null to " +
        "remove the option)",
      'overrides[2].ini.mysqld.x: "a\\u0000b" must not contain NUL',
      expect.stringMatching(/^overrides\[3\]\.ini: ".*" at top: is outside any \[section\]$/),
      expect.stringMatching(/^overrides\[3\]\.ini: ".*" at \[mysqld\] flag: is false: an option file has no false/),
      "overrides[4].path: relative/path is not an absolute path",
      "overrides[5].appendd: is not a known setting; did you mean append?",
      expect.stringMatching(/^overrides\[5\]: .* needs one of ini, append or replace$/),
      // The fragment is an object, so its own problems are shown, each where it is.
      'overrides[6].ini.mysqld.x: {"y":1} is none of the forms this setting takes (see ha-gen schema)',
      "overrides[6].ini.zz: 1 must be an object",
    ]);
  });
});

describe("overrides in plan.json and PLAN.md", () => {
  const overrides: ClusterSpecInput["overrides"] = [
    { path: CNF, ini: { mysqld: { wait_timeout: 600 }, galera: { wsrep_sync_wait: null } } },
    { path: HAPROXY_CFG, nodes: ["controller02"], append: "# a\n# b\n" },
  ];

  it("plan.json lists each override with its nodes, kind and keys, and reads back with the same schema", () => {
    const r = render(overrides);
    const plan = parsePlanJson(planJson(r.plan), "plan.json");
    expect(plan.overrides).toEqual([
      {
        index: 0,
        path: CNF,
        nodes: ["controller01", "controller02", "controller03"],
        kind: "ini",
        set: ["mysqld.wait_timeout"],
        removed: ["galera.wsrep_sync_wait"],
      },
      { index: 1, path: HAPROXY_CFG, nodes: ["controller02"], kind: "append", lines: 2 },
    ]);
    // A spec without overrides writes the plan.json it always did.
    expect(planJson(render([]).plan)).not.toContain("overrides");
  });

  it("PLAN.md names them and marks each changed file", () => {
    const r = render(overrides);
    const md = planMarkdown(r.plan, r.artifacts);
    expect(md).toContain(
      `- \`overrides[0]\` \`${CNF}\` on controller01, controller02, controller03: INI merge: sets ` +
        "`mysqld.wait_timeout`; removes `galera.wsrep_sync_wait`\n",
    );
    expect(md).toContain(`- \`overrides[1]\` \`${HAPROXY_CFG}\` on controller02: appends 2 line(s)\n`);
    expect(md).toContain(`  - \`${HAPROXY_CFG}\` 0600 root:root (secret; changed by overrides[1])\n`);
    expect(md.match(/changed by overrides\[1\]/g)).toHaveLength(1);
    expect(planMarkdown(render([]).plan, render([]).artifacts)).not.toContain("Overrides");
  });

  it("is byte-stable", () => {
    const [a, b] = [render(overrides), render(overrides)];
    expect(planJson(a.plan) + manifestJson(a.artifacts)).toBe(planJson(b.plan) + manifestJson(b.artifacts));
  });
});
