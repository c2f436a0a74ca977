import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chooseBootstrapNode, parseRecoveryReport } from "../../src/core/galera-recovery.js";
import { osProfile } from "../../src/core/os.js";
import { renderCluster } from "../../src/render.js";
import type { Secrets } from "../../src/core/secrets.js";
import { REPLICATION_SCHEMA, REPLICATION_STEP, ROOT_MY_CNF } from "../../generators/galera.js";
import { scriptPath } from "../../generators/common.js";
import { stringify as iniStringify } from "ini";
import overridesExample from "../../examples/overrides/cluster.ts";
import { FAKE_SECRETS } from "../fixtures/secrets.js";
import { isolated, requireTool, run, tempDir } from "../helpers/checker.js";
import { EXAMPLES, renderExample, type ExampleName } from "../helpers/examples.js";
import {
  changedLines,
  exitCode,
  makeBaseDatadirs,
  nodeArtifacts,
  runSandbox,
  section,
  type BaseDatadirs,
} from "../helpers/galera-sandbox.js";

/**
 * Real checks of the Galera family with Debian 12's MariaDB 10.11 and Galera 4: every option file
 * through mariadbd, a real Galera start on each node address, the credentials through
 * my_print_defaults, every script through bash -n and shellcheck, and the generated step scripts
 * run for real in a sandbox (bootstrap, secure installation, idempotent reruns, crash, report,
 * refusal, recovery). CentOS 8 files are checked with Debian's programs: the provider path is
 * rewritten for the option-file checks, and the sandbox emulates CentOS's paths.
 */

const NAMES: ExampleName[] = ["train-ha", "lab"];
const DEBIAN_PROVIDER = "/usr/lib/galera/libgalera_smm.so";
const HOSTILE: Secrets = {
  ...FAKE_SECRETS,
  mariadb_root_pass: `r'o"o\\t $x #1 é中😀 -- ;`,
  clustercheck_pass: `c'c\\"#;p w \`id\` $(x)`,
};

let base: BaseDatadirs;
beforeAll(() => {
  requireTool("mariadbd", "my_print_defaults", "mariadb-install-db", "shellcheck", "unshare", "ip");
  base = makeBaseDatadirs();
});
afterAll(() => base?.cleanup());

function controllers(name: ExampleName) {
  return EXAMPLES[name].nodes.filter((n) => n.roles.includes("controller"));
}

/**
 * The option file as Debian's mariadbd can load it: CentOS's provider path rewritten,
 * 10.3's socket plugin line dropped.
 */
function forDebianCheck(content: string): string {
  return content
    .replaceAll("/usr/lib64/galera/libgalera_smm.so", DEBIAN_PROVIDER)
    .replace(/^plugin_load_add = auth_socket\n/m, "");
}

/** `mariadbd --defaults-file=F --help --verbose`, failing on errors and option warnings. */
function helpCheck(content: string): { ok: boolean; problems: string; values: Map<string, string> } {
  const t = tempDir();
  try {
    const f = t.write("galera.cnf", content);
    const r = isolated('exec mariadbd --defaults-file="$1" --help --verbose', [f]);
    const problems = r.stderr
      .split("\n")
      .filter((l) => /\[ERROR\]|\[Warning\] option '/.test(l))
      .join("\n");
    const values = new Map<string, string>();
    for (const line of r.stdout.split("\n")) {
      const m = /^([a-z0-9-]+)\s+(.*)$/.exec(line);
      if (m) values.set(m[1]!, m[2]!.trim());
    }
    return { ok: r.status === 0 && problems === "", problems: `${problems}\nrc=${r.status}`, values };
  } finally {
    t.cleanup();
  }
}

describe("option files: mariadbd --help --verbose", () => {
  const files = NAMES.flatMap((name) => {
    const r = renderExample(name);
    const os = osProfile(EXAMPLES[name].os ?? "centos8");
    return controllers(name).map(
      (c) =>
        [
          `${name} ${c.hostname}`,
          r.artifacts.find((a) => a.node === c.hostname && a.path === os.galeraCnf)!,
          c.addresses.management,
        ] as const,
    );
  });

  it.each(files)("%s is accepted with the values it sets", (_, a, addr) => {
    const { ok, problems, values } = helpCheck(forDebianCheck(a.content));
    expect(ok, problems).toBe(true);
    expect(values.get("bind-address")).toBe(addr);
    expect(values.get("wsrep-node-address")).toBe(addr);
    expect(values.get("wsrep-on")).toBe("TRUE");
    expect(values.get("wsrep-provider")).toBe(DEBIAN_PROVIDER);
    expect(values.get("wsrep-cluster-address")).toMatch(/^gcomm:\/\/[0-9.,]+$/);
    expect(values.get("wsrep-provider-options")).toBe(
      `gmcast.listen_addr=tcp://${addr}:4567; ist.recv_addr=${addr}; evs.suspect_timeout=PT3S`,
    );
    expect(values.get("innodb-autoinc-lock-mode")).toBe("2");
    expect(values.get("binlog-format")).toBe("ROW");
    expect(values.get("max-connections")).toBe("4096");
    // The backups, never the writer controller01, with the fallback comma.
    const donors = {
      controller01: "controller02,controller03,",
      controller02: "controller03,",
      controller03: "controller02,",
    };
    expect(values.get("wsrep-sst-donor")).toBe(donors[a.node as keyof typeof donors]);
  });

  it("accepts the mariabackup variants of both targets", () => {
    for (const name of NAMES) {
      const r = renderCluster({ ...EXAMPLES[name], galera: { sstMethod: "mariabackup" } }, FAKE_SECRETS);
      const os = osProfile(EXAMPLES[name].os ?? "centos8");
      const a = r.artifacts.find((x) => x.node === "controller01" && x.path === os.galeraCnf)!;
      const { ok, problems, values } = helpCheck(forDebianCheck(a.content));
      expect(ok, problems).toBe(true);
      expect(values.get("wsrep-sst-method")).toBe("mariabackup");
      expect(values.get("wsrep-sst-auth")).toBe("mysql:");
    }
  });

  it("rejects a broken sample (misspelled variable)", () => {
    const a = renderExample("lab").artifacts.find(
      (x) => x.node === "controller01" && x.path.endsWith("60-galera.cnf"),
    )!;
    const { ok, problems } = helpCheck(a.content.replace("wsrep_cluster_name", "wsrep_clster_name"));
    expect(ok).toBe(false);
    expect(problems).toContain("unknown variable");
  });
});

/** Starts mariadbd from the option file on its node address (no peers exist) and reads its log. */
function galeraStart(content: string, addr: string): { connecting: boolean; log: string } {
  const t = tempDir();
  try {
    const f = t.write("galera.cnf", content);
    const script =
      String.raw`
set -u
ip link set lo up
ip addr add "$2/32" dev lo
cp -a "$3" "$1/data"
mariadbd --defaults-file="$4" --user=root --datadir="$1/data" --socket="$1/s.sock" --pid-file="$1/s.pid" ` +
      `--log-error="$1/err.log" &
pid=$!
for i in $(seq 1 200); do
  grep -q "gcomm: connecting" "$1/err.log" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
cat "$1/err.log"
`;
    const r = isolated(script, [t.dir, addr, base.socketRoot, f], { timeout: 60_000 });
    return { connecting: r.stdout.includes("gcomm: connecting"), log: r.stdout + r.stderr };
  } finally {
    t.cleanup();
  }
}

describe("option files: a real Galera start on the node address", () => {
  const files = NAMES.flatMap((name) => {
    const r = renderExample(name);
    const os = osProfile(EXAMPLES[name].os ?? "centos8");
    return controllers(name).map(
      (c) =>
        [
          `${name} ${c.hostname}`,
          r.artifacts.find((a) => a.node === c.hostname && a.path === os.galeraCnf)!,
          c.addresses.management,
        ] as const,
    );
  });

  it.each(files)("%s reaches gcomm: connecting", (_, a, addr) => {
    const { connecting, log } = galeraStart(forDebianCheck(a.content), addr);
    expect(connecting, log).toBe(true);
    expect(log).toContain(`listening at tcp://${addr}:4567`);
  });

  it("rejects a broken sample (gcom:// instead of gcomm://)", () => {
    const a = renderExample("lab").artifacts.find(
      (x) => x.node === "controller01" && x.path.endsWith("60-galera.cnf"),
    )!;
    const { connecting } = galeraStart(a.content.replace("gcomm://", "gcom://"), "198.51.100.11");
    expect(connecting).toBe(false);
  });
});

/** `my_print_defaults --defaults-file=F client` */
function printDefaults(content: string): string[] {
  const t = tempDir();
  try {
    const f = t.write("my.cnf", content, 0o600);
    const r = run("my_print_defaults", [`--defaults-file=${f}`, "client"]);
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.split("\n").filter((l) => l !== "");
  } finally {
    t.cleanup();
  }
}

describe("/root/.my.cnf: my_print_defaults", () => {
  it.each(NAMES)("%s: root's login as the client reads it, also with a hostile password", (name) => {
    for (const secrets of [FAKE_SECRETS, HOSTILE]) {
      const r = renderCluster(EXAMPLES[name], secrets);
      const os = osProfile(EXAMPLES[name].os ?? "centos8");
      for (const c of controllers(name)) {
        const a = r.artifacts.find((x) => x.node === c.hostname && x.path === ROOT_MY_CNF)!;
        expect(printDefaults(a.content)).toEqual([
          "--user=root",
          `--password=${secrets.mariadb_root_pass}`,
          `--socket=${os.mysqlSocket}`,
        ]);
      }
    }
  });

  it("rejects a broken sample (unquoted # in the password)", () => {
    expect(printDefaults("[client]\nuser = root\npassword = ab#cd\n")).not.toContain("--password=ab#cd");
  });
});

describe("overridden option files (examples/overrides): mariadbd reads what the spec asked", () => {
  const r = renderCluster(overridesExample, FAKE_SECRETS);
  const cnf = (node: string) => r.artifacts.find((a) => a.node === node && a.path === osProfile("debian12").galeraCnf)!;
  const nodes = overridesExample.nodes.map((n) => [n.hostname, n.addresses.management] as const);

  it.each(nodes)("%s: accepted, with the merged values and the generated ones", (node, addr) => {
    const { ok, problems, values } = helpCheck(cnf(node).content);
    expect(ok, problems).toBe(true);
    expect(values.get("skip-name-resolve")).toBe("TRUE");
    expect(values.get("character-set-server")).toBe("utf8mb4");
    // `;` and `#` inside the value reach mariadbd as written (my.cnf quoting, no backslashes).
    expect(values.get("init-connect")).toBe("SET NAMES utf8mb4; -- #1");
    // overrides[1] is for controller01 only.
    expect(values.get("wait-timeout")).toBe(node === "controller01" ? "3600" : "28800");
    expect(values.get("max-allowed-packet")).toBe(node === "controller01" ? "67108864" : "16777216");
    expect(values.get("bind-address")).toBe(addr);
    expect(values.get("wsrep-on")).toBe("TRUE");
  });

  it("controller01's overridden file starts a real Galera node", () => {
    const { connecting, log } = galeraStart(cnf("controller01").content, "198.51.100.11");
    expect(connecting, log).toBe(true);
  });

  it("broken sample: the ini package's own writer escapes ; and # with backslashes, which mariadbd keeps", () => {
    const written = iniStringify({ mysqld: { init_connect: "SET NAMES utf8mb4; -- #1" } });
    const { values } = helpCheck(cnf("controller01").content + written);
    expect(values.get("init-connect")).not.toBe("SET NAMES utf8mb4; -- #1");
  });

  it("/root/.my.cnf merged by an override (a secret file, still 0600) is read by the client", () => {
    const spec = {
      ...overridesExample,
      overrides: [{ path: ROOT_MY_CNF, ini: "[client]\ndefault-character-set = utf8mb4\n" }],
    };
    const a = renderCluster(spec, HOSTILE).artifacts.find((x) => x.node === "controller02" && x.path === ROOT_MY_CNF)!;
    expect([a.mode, a.secret]).toEqual([0o600, true]);
    expect(printDefaults(a.content)).toEqual([
      "--user=root",
      `--password=${HOSTILE.mariadb_root_pass}`,
      "--socket=/run/mysqld/mysqld.sock",
      "--default-character-set=utf8mb4",
    ]);
  });
});

describe("scripts: bash -n and shellcheck", () => {
  const scripts = NAMES.flatMap((name) =>
    renderExample(name)
      .artifacts.filter((a) => a.family === "galera" && a.path.endsWith(".sh"))
      .map((a) => [`${name} ${a.node} ${a.path}`, a] as const),
  );

  it.each(scripts)("%s", (_, a) => {
    const t = tempDir();
    try {
      const f = t.write("s.sh", a.content);
      const syntax = run("bash", ["-n", f]);
      expect(syntax.status, syntax.stderr).toBe(0);
      const sc = run("shellcheck", ["-s", "bash", f]);
      expect(sc.status, sc.stdout).toBe(0);
    } finally {
      t.cleanup();
    }
  });

  it("rejects a broken sample (unquoted expansion)", () => {
    const a = scripts[0]![1];
    const t = tempDir();
    try {
      const f = t.write("s.sh", a.content.replace("grastate_value() {\n", "grastate_value() {\n  ls $1\n"));
      expect(run("shellcheck", ["-s", "bash", f]).status).not.toBe(0);
    } finally {
      t.cleanup();
    }
  });
});

function firstController(name: ExampleName, secrets: Secrets = FAKE_SECRETS) {
  const spec = EXAMPLES[name];
  const first = controllers(name)[0]!;
  const r = renderCluster(spec, secrets);
  return { r, first, os: spec.os ?? "centos8" };
}

const BOOT_SECURE =
  String.raw`
step boot1
run_script 20-galera-bootstrap
step boot2
run_script 20-galera-bootstrap
step secure1
run_script 22-galera-secure
step secure2
run_script 22-galera-secure
step drift
sql_root "ALTER USER 'clustercheck'@'localhost' IDENTIFIED BY 'drifted-password'"
run_script 22-galera-secure
step grant-drift
sql_root "GRANT PROCESS ON *.* TO 'clustercheck'@'localhost'; GRANT SELECT ON mysql.* TO 'clustercheck'@'localhost'"
run_script 22-galera-secure
step grants
sql_root "SHOW GRANTS FOR 'clustercheck'@'localhost'" | sed -E "s/ IDENTIFIED BY PASSWORD '[^']*'//"
step accounts
sql_root "SELECT CONCAT(User, '@', Host, ' ', IF(COALESCE(Password, '') = '' ` +
  `AND COALESCE(authentication_string, '') = '', 'nopass', 'pass')) FROM mysql.user ORDER BY 1"
sql_root "SELECT CONCAT('db ', User, '@', Host, ' ', Db) FROM mysql.db WHERE User IN ('', 'PUBLIC')"
sql_root "SHOW DATABASES LIKE 'test'"
step root-login
mysql --defaults-file=/root/.my.cnf -N -B -e 'SELECT CURRENT_USER()'
step max-connections
sql_root "SET GLOBAL max_connections = 100"
run_script 20-galera-bootstrap
`;

describe("step scripts, run for real in a sandbox", () => {
  it.each(NAMES)(
    "%s: bootstrap, secure installation, reruns change nothing",
    (name) => {
      const { r, first, os } = firstController(name);
      // 10.3 grants the test databases to the anonymous user ''@'%' (10.11 to PUBLIC): add that row
      // so the replicated removal is exercised the CentOS way too.
      const seed10_3 =
        os === "centos8"
          ? `sql_root "INSERT INTO mysql.db (Host, Db, User, Select_priv) ` +
            `VALUES ('%', 'test\\\\_%', '', 'Y'); FLUSH PRIVILEGES" >/dev/null\n`
          : "";
      const scenario = BOOT_SECURE.replace("step secure1\n", `${seed10_3}step secure1\n`);
      const res = runSandbox({
        os,
        nodeAddress: first.addresses.management,
        files: nodeArtifacts(r.artifacts, first.hostname),
        datadir: os === "centos8" ? base.passwordRoot : base.socketRoot,
        scenario,
      });
      const out = res.stdout + res.stderr;
      const boot1 = section(out, "boot1");
      expect(exitCode(boot1, "20-galera-bootstrap"), out).toBe(0);
      expect(changedLines(boot1)).toContain("ha-gen:changed bootstrapped a new Galera cluster on this node");
      const boot2 = section(out, "boot2");
      expect(exitCode(boot2, "20-galera-bootstrap"), out).toBe(0);
      expect(changedLines(boot2)).toEqual([]);
      const secure1 = section(out, "secure1");
      expect(exitCode(secure1, "22-galera-secure"), out).toBe(0);
      expect(changedLines(secure1)).toHaveLength(1);
      const secure2 = section(out, "secure2");
      expect(exitCode(secure2, "22-galera-secure"), out).toBe(0);
      expect(changedLines(secure2)).toEqual([]);
      const drift = section(out, "drift");
      expect(exitCode(drift, "22-galera-secure"), out).toBe(0);
      expect(changedLines(drift)).toHaveLength(1);
      // A privilege granted to clustercheck (the guide's PROCESS) is found and revoked.
      const grantDrift = section(out, "grant-drift");
      expect(exitCode(grantDrift, "22-galera-secure"), out).toBe(0);
      expect(changedLines(grantDrift)).toHaveLength(1);
      expect(section(out, "grants").trim()).toBe("GRANT USAGE ON *.* TO `clustercheck`@`localhost`");
      const accounts = section(out, "accounts");
      expect(accounts).not.toMatch(/^@/m);
      expect(accounts).toContain("clustercheck@localhost pass");
      expect(accounts).toContain("root@localhost pass");
      expect(accounts).not.toContain("root@127.0.0.1 nopass");
      if (os === "centos8") expect(accounts).toContain("root@127.0.0.1 pass");
      expect(accounts).not.toMatch(/^db @/m);
      if (os === "debian12") expect(accounts).not.toContain("db PUBLIC");
      expect(accounts).not.toMatch(/^test$/m);
      expect(section(out, "root-login").trim()).toBe("root@localhost");
      // HAProxy is sized for the spec's max_connections: a server running with fewer is an error.
      const max = section(out, "max-connections");
      expect(exitCode(max, "20-galera-bootstrap")).not.toBe(0);
      expect(max).toContain("MariaDB runs with max_connections 100, not 4096");
    },
    240_000,
  );

  it.each(NAMES)(
    "%s: hostile passwords survive SQL and option-file quoting",
    (name) => {
      const { r, first, os } = firstController(name, HOSTILE);
      const scenario = String.raw`
run_script 20-galera-bootstrap >/dev/null
step secure
run_script 22-galera-secure
step logins
mysql --defaults-file=/root/.my.cnf -N -B -e 'SELECT CURRENT_USER()'
runuser -u clustercheck -- mysql --defaults-extra-file=/etc/ha-gen/clustercheck.cnf -N -B -e 'SELECT CURRENT_USER()'
`;
      const res = runSandbox({
        os,
        nodeAddress: first.addresses.management,
        files: nodeArtifacts(r.artifacts, first.hostname),
        datadir: os === "centos8" ? base.passwordRoot : base.socketRoot,
        scenario,
      });
      const out = res.stdout + res.stderr;
      expect(exitCode(section(out, "secure"), "22-galera-secure"), out).toBe(0);
      expect(section(out, "logins").trim().split("\n")).toEqual(["root@localhost", "clustercheck@localhost"]);
    },
    240_000,
  );

  it.each(NAMES)(
    "%s: crash, report, refusal to bootstrap, recovery keeps the history and the rows",
    (name) => {
      const { r, first, os } = firstController(name);
      const scenario = String.raw`
run_script 20-galera-bootstrap >/dev/null
run_script 22-galera-secure >/dev/null
sql_root "CREATE DATABASE ha; CREATE TABLE ha.t (i INT PRIMARY KEY); INSERT INTO ha.t VALUES (1), (2), (3)"
step report-running
run_script galera-recover report
step crash
kill -9 "$(cat /run/stub/mariadb.pid)"
for i in $(seq 1 100); do pgrep -x mariadbd >/dev/null || pgrep -x mysqld >/dev/null || break; sleep 0.05; done
# A full outage of a multi-node cluster leaves safe_to_bootstrap: 0 on every node.
sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 0/' /var/lib/mysql/grastate.dat
grep seqno /var/lib/mysql/grastate.dat
# As after a reboot: the runtime directory (socket/pid) is created by the unit when it starts.
runtime=$(ls -d /run/mysqld /run/mariadb 2>/dev/null)
rm -rf $runtime
step report-crashed
run_script galera-recover report
mkdir -p $runtime
chown mysql: $runtime
step bootstrap-refused
run_script 20-galera-bootstrap
step join-refused
run_script galera-recover join
step recover
run_script galera-recover bootstrap
step report-after
run_script galera-recover report
step rows
sql_root "SELECT COUNT(*) FROM ha.t"
step bootstrap-again
run_script galera-recover bootstrap
step join
run_script galera-recover join
step usage
run_script galera-recover frobnicate
`;
      const res = runSandbox({
        os,
        nodeAddress: first.addresses.management,
        files: nodeArtifacts(r.artifacts, first.hostname),
        datadir: os === "centos8" ? base.passwordRoot : base.socketRoot,
        scenario,
      });
      const out = res.stdout + res.stderr;

      const running = parseRecoveryReport(section(out, "report-running"));
      expect(running).toMatchObject({ node: first.hostname, running: true, state: "Primary" });
      expect(running.seqno).toBeGreaterThan(0);
      expect(section(out, "crash")).toContain("seqno:   -1");

      // seqno -1 in grastate.dat: the report recovers the position with --wsrep-recover.
      const crashed = parseRecoveryReport(section(out, "report-crashed"));
      expect(crashed).toMatchObject({
        node: first.hostname,
        uuid: running.uuid,
        running: false,
        state: "stopped",
        safeToBootstrap: false,
      });
      expect(crashed.seqno).toBeGreaterThanOrEqual(running.seqno);
      expect(chooseBootstrapNode([{ node: first.hostname, report: crashed }])).toMatchObject({
        action: "bootstrap",
        node: first.hostname,
      });

      const refused = section(out, "bootstrap-refused");
      expect(exitCode(refused, "20-galera-bootstrap")).not.toBe(0);
      expect(refused).toContain("ha-gen recover galera");
      expect(exitCode(section(out, "join-refused"), "galera-recover")).not.toBe(0);

      const recover = section(out, "recover");
      expect(exitCode(recover, "galera-recover"), out).toBe(0);
      expect(changedLines(recover)).toContain(
        `ha-gen:changed wrote the recovered position ${crashed.uuid}:${crashed.seqno} into /var/lib/mysql/grastate.dat`,
      );
      const after = parseRecoveryReport(section(out, "report-after"));
      expect(after).toMatchObject({ uuid: running.uuid, running: true, state: "Primary" });
      expect(after.seqno).toBeGreaterThanOrEqual(crashed.seqno);
      expect(section(out, "rows").trim()).toBe("3");

      const again = section(out, "bootstrap-again");
      expect(exitCode(again, "galera-recover")).not.toBe(0);
      expect(again).toContain("refusing to bootstrap");
      const join = section(out, "join");
      expect(exitCode(join, "galera-recover")).toBe(0);
      expect(changedLines(join)).toEqual([]);
      expect(exitCode(section(out, "usage"), "galera-recover")).not.toBe(0);
    },
    240_000,
  );

  it("21-galera-join fails fast when no other controller answers", () => {
    const r = renderExample("lab");
    const scenario = `step join\nrun_script 21-galera-join\n`;
    const res = runSandbox({
      os: "debian12",
      nodeAddress: "198.51.100.12",
      files: nodeArtifacts(r.artifacts, "controller02"),
      datadir: base.socketRoot,
      scenario,
      timeoutMs: 60_000,
    });
    const join = section(res.stdout + res.stderr, "join");
    expect(exitCode(join, "21-galera-join")).not.toBe(0);
    expect(join).toContain("no other controller answers on Galera port 4567");
  }, 90_000);
});

describe("24-galera-replication, run for real in a sandbox (one MariaDB plays every controller)", () => {
  // The writer's, a middle reader's and the last reader's scripts run in turn against the same
  // Galera node: the SQL, the causal read, the cleanup and the reruns are real; that the row
  // travels between machines is what the container lab's deploy proves.
  it.each(NAMES)(
    "%s: written, read, removed; a rerun does the same; a missing row fails the reader",
    (name) => {
      const { r, first, os } = firstController(name);
      const [, mid, last] = controllers(name);
      const path = scriptPath(REPLICATION_STEP);
      const script = (node: string) => r.artifacts.find((a) => a.node === node && a.path === path)!;
      // NODE's script, installed on the sandbox's node under another step id.
      const as = (node: string, id: string, edit: (s: string) => string = (s) => s) => ({
        ...script(node),
        node: first.hostname,
        path: scriptPath(id),
        content: edit(script(node).content),
      });
      const files = [
        ...nodeArtifacts(r.artifacts, first.hostname),
        as(mid!.hostname, "reader-mid"),
        as(last!.hostname, "reader-last"),
        // Broken sample: a reader with a 3 s bound instead of 60, run when no row was written.
        as(last!.hostname, "reader-impatient", (s) => s.replace(/^wait_until 60 /m, "wait_until 3 ")),
      ];
      const schema = REPLICATION_SCHEMA;
      const scenario = String.raw`
run_script 20-galera-bootstrap >/dev/null
run_script 22-galera-secure >/dev/null
for pass in 1 2; do
  step "pass$pass"
  run_script ${REPLICATION_STEP}
  sql_root "SELECT writer FROM ${schema}.probe"
  run_script reader-mid
  run_script reader-last
  sql_root "SHOW DATABASES LIKE '${schema}'" | sed 's/^/left: /'
done
step missing
run_script reader-impatient
`;
      const datadir = os === "centos8" ? base.passwordRoot : base.socketRoot;
      const res = runSandbox({ os, nodeAddress: first.addresses.management, files, datadir, scenario });
      const out = res.stdout + res.stderr;
      for (const pass of ["pass1", "pass2"]) {
        const s = section(out, pass);
        for (const id of [REPLICATION_STEP, "reader-mid", "reader-last"]) expect(exitCode(s, id), out).toBe(0);
        expect(s).toMatch(new RegExp(`^${first.hostname}$`, "m"));
        expect(s).toContain(`read the probe row in ${schema}.probe written on ${first.hostname}: replication works`);
        expect(s).toContain(`removed the throwaway schema ${schema}`);
        expect(s).not.toContain("left: ");
        // A verification, not a change: a rerun of the whole rollout still reports nothing changed.
        expect(changedLines(s)).toEqual([]);
      }
      const missing = section(out, "missing");
      expect(exitCode(missing, "reader-impatient")).not.toBe(0);
      const timedOut = `timed out after 3s waiting for: the probe row written on ${first.hostname} is readable here`;
      expect(missing).toContain(`${timedOut} (replication)`);
    },
    240_000,
  );
});
