import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLUSTERCHECK_BIN, servicesLine, XINETD_SERVICE } from "../../generators/clustercheck.js";
import { CLUSTERCHECK_CNF } from "../../generators/galera.js";
import { resolveCluster } from "../../src/core/model.js";
import { sh } from "../../src/core/quote.js";
import { renderCluster } from "../../src/render.js";
import type { Secrets } from "../../src/core/secrets.js";
import type { ClusterSpecInput } from "../../src/core/spec/schema.js";
import { validateSpec } from "../../src/core/spec/validate.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";
import { requireTool, run, tempDir } from "../helpers/checker.js";
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
 * Real checks of the clustercheck family: the xinetd service with Debian's xinetd (generated
 * /etc/services line, real server binary in place), the credentials through my_print_defaults,
 * the scripts through bash -n and shellcheck, and the generated clustercheck answering HTTP
 * through xinetd from a real MariaDB: 200 when Galera is Synced, 503 when desynced, without
 * Galera, stopped, or with wrong credentials. 23-clustercheck runs for real, twice.
 */

const NAMES: ExampleName[] = ["train-ha", "lab"];
const HOSTILE: Secrets = { ...FAKE_SECRETS, clustercheck_pass: `c'c\\"#;p w \`id\` $(x) é中😀` };

let base: BaseDatadirs;
beforeAll(() => {
  requireTool("xinetd", "my_print_defaults", "shellcheck", "curl", "getent");
  base = makeBaseDatadirs();
});
afterAll(() => base?.cleanup());

function controllers(spec: ClusterSpecInput) {
  return spec.nodes.filter((n) => n.roles.includes("controller"));
}

function lineFor(spec: ClusterSpecInput): string {
  const v = validateSpec(spec);
  if (!v.ok) throw new Error("invalid spec");
  return servicesLine(resolveCluster(v.spec, FAKE_SECRETS));
}

/** The example with its first controller as the only one: a complete one-member cluster. */
function oneController(name: ExampleName): ClusterSpecInput {
  const spec = EXAMPLES[name];
  const first = controllers(spec)[0]!;
  return {
    ...spec,
    nodes: spec.nodes.filter((n) => n === first || !n.roles.includes("controller")),
    safety: { allowUnsafeMemberCount: true },
  };
}

const XINETD_RUN = String.raw`
step getent
getent services galera-monitor/tcp
step xinetd
xinetd -dontfork -filelog /var/log/x.log -f /etc/xinetd.d/galera-monitor &
pid=$!
for i in $(seq 1 100); do
  grep -q "Started working" /var/log/x.log 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
cat /var/log/x.log
`;

function xinetdVerdict(log: string): { ok: boolean; problems: string[] } {
  const problems = log.split("\n").filter((l) => /ERROR|WARNING/.test(l) && !/Exiting/.test(l));
  return { ok: /Started working: 1 available service/.test(log) && problems.length === 0, problems };
}

describe("xinetd service: Debian's xinetd with the generated /etc/services line", () => {
  const cases = NAMES.flatMap((name) =>
    controllers(EXAMPLES[name]).map((c) => [name, c.hostname, c.addresses.management] as const),
  );

  it.each(cases)("%s %s starts the service", (name, host, addr) => {
    const r = renderExample(name);
    const os = EXAMPLES[name].os ?? "centos8";
    const scenario = `printf '%s\\n' ${sh(lineFor(EXAMPLES[name]))} >> /etc/services\n${XINETD_RUN}`;
    const res = runSandbox({
      os,
      nodeAddress: addr,
      files: nodeArtifacts(r.artifacts, host),
      scenario,
      timeoutMs: 60_000,
    });
    const out = res.stdout + res.stderr;
    expect(section(out, "getent").trim()).toMatch(/^galera-monitor\s+9200\/tcp$/);
    const v = xinetdVerdict(section(out, "xinetd"));
    expect(v.ok, out).toBe(true);
  });

  it("rejects a broken sample (server program missing)", () => {
    const r = renderExample("lab");
    const files = nodeArtifacts(r.artifacts, "controller01").map((a) =>
      a.path === XINETD_SERVICE
        ? { ...a, content: a.content.replace(`= ${CLUSTERCHECK_BIN}`, `= ${CLUSTERCHECK_BIN}-missing`) }
        : a,
    );
    const scenario = `printf '%s\\n' ${sh(lineFor(EXAMPLES.lab))} >> /etc/services\n${XINETD_RUN}`;
    const res = runSandbox({ os: "debian12", nodeAddress: "198.51.100.11", files, scenario, timeoutMs: 60_000 });
    expect(xinetdVerdict(section(res.stdout + res.stderr, "xinetd")).ok).toBe(false);
  });
});

function printDefaults(content: string): string[] {
  const t = tempDir();
  try {
    const f = t.write("cc.cnf", content, 0o640);
    const r = run("my_print_defaults", [`--defaults-file=${f}`, "client"]);
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.split("\n").filter((l) => l !== "");
  } finally {
    t.cleanup();
  }
}

describe("clustercheck credentials: my_print_defaults", () => {
  it.each(NAMES)("%s: the client reads user, password and socket, also for a hostile password", (name) => {
    for (const secrets of [FAKE_SECRETS, HOSTILE]) {
      const r = renderCluster(EXAMPLES[name], secrets);
      for (const c of controllers(EXAMPLES[name])) {
        const a = r.artifacts.find((x) => x.node === c.hostname && x.path === CLUSTERCHECK_CNF)!;
        const socket = name === "lab" ? "/run/mysqld/mysqld.sock" : "/var/lib/mysql/mysql.sock";
        expect(printDefaults(a.content)).toEqual([
          "--user=clustercheck",
          `--password=${secrets.clustercheck_pass}`,
          `--socket=${socket}`,
        ]);
      }
    }
  });

  it("rejects a broken sample (unquoted # in the password)", () => {
    expect(printDefaults(`[client]\nuser = clustercheck\npassword = x#y\n`)).not.toContain(`--password=x#y`);
  });
});

describe("scripts: bash -n and shellcheck", () => {
  const scripts = NAMES.flatMap((name) =>
    renderExample(name)
      .artifacts.filter((a) => a.family === "clustercheck" && (a.path.endsWith(".sh") || a.path === CLUSTERCHECK_BIN))
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

  it("rejects a broken sample (misspelled variable)", () => {
    const a = scripts.find(([n]) => n.endsWith(CLUSTERCHECK_BIN))![1];
    const t = tempDir();
    try {
      const f = t.write("s.sh", a.content.replace('"$status" "$length" "$body"', '"$status" "$lenght" "$body"'));
      expect(run("shellcheck", ["-s", "bash", f]).status).not.toBe(0);
    } finally {
      t.cleanup();
    }
  });
});

/** curl's view of one request: status line, then headers and body. */
const HTTP =
  String.raw`
http() { curl -s -i --max-time 15 "http://$NODE_IP:9200/" | tr -d '\r'; echo; }
wait_state() { for i in $(seq 1 100); do [[ "$(sql_root "SHOW GLOBAL STATUS LIKE 'wsrep_local_state'" | cut -f2)" ` +
  `== "$1" ]] && return 0; sleep 0.1; done; return 1; }
`;

describe("clustercheck and 23-clustercheck, run for real against MariaDB", () => {
  it.each(NAMES)(
    "%s: step runs twice idempotently; 200 only while Synced",
    (name) => {
      const spec = oneController(name);
      const r = renderCluster(spec, FAKE_SECRETS);
      const first = controllers(spec)[0]!;
      const os = spec.os ?? "centos8";
      const mysqld = os === "centos8" ? "/usr/libexec/mysqld" : "/usr/sbin/mariadbd";
      const scenario = String.raw`${HTTP}
# Leftovers of a hand-edited /etc/services (guide 五.3.4): an old entry on another port. And
# CentOS's entries for 9200, whose tcp one the guide comments out.
printf 'galera-monitor  9300/tcp  # old hand edit\n#galera-monitor 9200/tcp\n' >> /etc/services
printf 'wap-wsp         9200/tcp                # WAP connectionless session service\n' >> /etc/services
printf 'wap-wsp         9200/udp                # WAP connectionless session service\n' >> /etc/services
step steps1
run_script 20-galera-bootstrap
run_script 22-galera-secure
run_script 23-clustercheck
step steps2
run_script 20-galera-bootstrap
run_script 22-galera-secure
run_script 23-clustercheck
step services
grep -E '^[[:space:]]*galera-monitor' /etc/services
step port-name
getent services 9200/tcp
grep -E 'wap-wsp' /etc/services
step synced
http
step grants
sql_root "SHOW GRANTS FOR 'clustercheck'@'localhost'" | sed -E "s/ IDENTIFIED BY PASSWORD '[^']*'//"
step others-cannot-read
runuser -u nobody -- cat ${CLUSTERCHECK_CNF} >/dev/null 2>&1 && echo "nobody READ" || echo "nobody refused"
runuser -u clustercheck -- cat ${CLUSTERCHECK_CNF} >/dev/null 2>&1 \
  && echo "clustercheck read" || echo "clustercheck REFUSED"
step direct
printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | runuser -u clustercheck -- ${CLUSTERCHECK_BIN} | head -n 1 | tr -d '\r'
step desynced
sql_root "SET GLOBAL wsrep_desync = ON"
wait_state 2 || echo "state did not change"
http
sql_root "SET GLOBAL wsrep_desync = OFF"
wait_state 4 || echo "state did not change back"
step resynced
http
step wrong-credentials
cp ${CLUSTERCHECK_CNF} /run/cc.bak
sed -i 's/^password = .*/password = wrong-password/' ${CLUSTERCHECK_CNF}
http
cp /run/cc.bak ${CLUSTERCHECK_CNF}
step stopped
systemctl stop mariadb
http
step no-galera
: > /var/log/plain.log
chown mysql: /var/log/plain.log
setsid ${mysqld} --user=mysql --wsrep-provider=none --log-error=/var/log/plain.log </dev/null >/dev/null 2>&1 &
for i in $(seq 1 200); do grep -q "ready for connections" /var/log/plain.log 2>/dev/null && break; sleep 0.1; done
sql_root "SELECT 'server up'"
sql_root "SHOW GLOBAL STATUS LIKE 'wsrep_local_state'" | wc -l
http
`;
      const res = runSandbox({
        os,
        nodeAddress: first.addresses.management,
        files: nodeArtifacts(r.artifacts, first.hostname),
        datadir: os === "centos8" ? base.passwordRoot : base.socketRoot,
        scenario,
      });
      const out = res.stdout + res.stderr;

      const steps1 = section(out, "steps1");
      for (const id of ["20-galera-bootstrap", "22-galera-secure", "23-clustercheck"])
        expect(exitCode(steps1, id), out).toBe(0);
      expect(changedLines(steps1)).toEqual(
        expect.arrayContaining([
          "ha-gen:changed set galera-monitor 9200/tcp in /etc/services",
          "ha-gen:changed started xinetd",
          "ha-gen:changed enabled xinetd",
        ]),
      );
      const steps2 = section(out, "steps2");
      for (const id of ["20-galera-bootstrap", "22-galera-secure", "23-clustercheck"])
        expect(exitCode(steps2, id), out).toBe(0);
      expect(changedLines(steps2), out).toEqual([]);
      expect(section(out, "services").trim()).toBe(lineFor(spec));
      // 9200/tcp is galera-monitor's now; wap-wsp's tcp entry commented out once, its udp one kept.
      const portName = section(out, "port-name").trim().split("\n");
      expect(portName[0]).toMatch(/^galera-monitor\s+9200\/tcp$/);
      expect(portName.slice(1)).toEqual([
        "#wap-wsp         9200/tcp                # WAP connectionless session service",
        "wap-wsp         9200/udp                # WAP connectionless session service",
      ]);

      const synced = section(out, "synced");
      const [head, body] = synced.split("\n\n");
      expect(head!.split("\n")[0]).toBe("HTTP/1.1 200 OK");
      expect(head).toContain("Content-Type: text/plain");
      expect(head).toContain("Connection: close");
      const length = Number(/Content-Length: (\d+)/.exec(head!)![1]);
      expect(Buffer.byteLength(`${body!.replace(/\n$/, "")}\r\n`)).toBe(length);
      // 200 above with an account that holds USAGE only (SHOW GLOBAL STATUS needs nothing more).
      expect(section(out, "grants").trim()).toBe("GRANT USAGE ON *.* TO `clustercheck`@`localhost`");
      expect(section(out, "others-cannot-read").trim().split("\n")).toEqual(["nobody refused", "clustercheck read"]);
      expect(section(out, "direct").trim()).toBe("HTTP/1.1 200 OK");
      expect(section(out, "desynced")).toMatch(/^HTTP\/1.1 503 Service Unavailable$/m);
      expect(section(out, "resynced")).toMatch(/^HTTP\/1.1 200 OK$/m);
      // Broken sample for the HTTP check: Synced, but the check cannot log in.
      expect(section(out, "wrong-credentials")).toMatch(/^HTTP\/1.1 503 Service Unavailable$/m);
      expect(section(out, "stopped")).toMatch(/^HTTP\/1.1 503 Service Unavailable$/m);
      const noGalera = section(out, "no-galera");
      expect(noGalera).toMatch(/^server up$/m);
      expect(noGalera).toMatch(/^0$/m);
      expect(noGalera).toMatch(/^HTTP\/1.1 503 Service Unavailable$/m);
    },
    240_000,
  );

  it.each(NAMES)(
    "%s: with the example's 3 controllers the step fails on a one-member cluster",
    (name) => {
      const r = renderExample(name);
      const first = controllers(EXAMPLES[name])[0]!;
      const os = EXAMPLES[name].os ?? "centos8";
      const scenario =
        `run_script 20-galera-bootstrap >/dev/null\nrun_script 22-galera-secure >/dev/null\n` +
        `step cc\nrun_script 23-clustercheck\n`;
      const res = runSandbox({
        os,
        nodeAddress: first.addresses.management,
        files: nodeArtifacts(r.artifacts, first.hostname),
        datadir: os === "centos8" ? base.passwordRoot : base.socketRoot,
        scenario,
      });
      const cc = section(res.stdout + res.stderr, "cc");
      expect(cc).toContain("answers HTTP 200");
      expect(exitCode(cc, "23-clustercheck")).not.toBe(0);
      expect(cc).toContain("wsrep_cluster_size is 1, expected 3");
    },
    240_000,
  );
});
