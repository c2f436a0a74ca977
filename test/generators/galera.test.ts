import { describe, expect, it } from "vitest";
import type { Artifact } from "../../src/core/artifact.js";
import { GALERA_RECOVER_SCRIPT } from "../../src/core/galera-recovery.js";
import { osProfile } from "../../src/core/os.js";
import { renderCluster } from "../../src/render.js";
import type { ClusterSpecInput } from "../../src/core/spec/schema.js";
import type { Secrets } from "../../src/core/secrets.js";
import {
  CLUSTERCHECK_CNF,
  REPLICATION_SCHEMA,
  REPLICATION_STEP,
  ROOT_MY_CNF,
  SECURE_CHECK_SQL,
  SECURE_SQL,
} from "../../generators/galera.js";
import { MARKER } from "../../generators/common.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";
import { artifactAt, EXAMPLES, renderExample, type ExampleName } from "../helpers/examples.js";
import { cnfValue, parseCnf } from "../helpers/galera-cnf.js";
import { defaultServices, withServices } from "../../src/core/spec/services.js";

const NAMES: ExampleName[] = ["train-ha", "lab"];

function controllersOf(name: ExampleName) {
  return renderCluster(EXAMPLES[name], FAKE_SECRETS);
}

function render(spec: ClusterSpecInput, secrets: Secrets = FAKE_SECRETS) {
  return renderCluster(spec, secrets);
}

function specControllers(spec: ClusterSpecInput) {
  return spec.nodes.filter((n) => n.roles.includes("controller"));
}

function script(r: ReturnType<typeof renderExample>, node: string, id: string): string {
  return artifactAt(r, node, `/usr/local/lib/ha-gen/${id}.sh`).content;
}

describe.each(NAMES)("galera generator: %s", (name) => {
  const r = renderExample(name);
  const spec = EXAMPLES[name];
  const os = osProfile(spec.os ?? "centos8");
  const controllers = specControllers(spec);
  const mine = r.artifacts.filter((a) => a.family === "galera");

  it("writes the option file on every controller and nowhere else", () => {
    const holders = r.artifacts.filter((a) => a.path === os.galeraCnf).map((a) => a.node);
    expect(holders).toEqual(controllers.map((c) => c.hostname));
  });

  it.each(controllers.map((c) => [c.hostname, c.addresses.management] as const))(
    "%s: addresses, cluster members and guide settings",
    (host, addr) => {
      const g = parseCnf(artifactAt(r, host, os.galeraCnf).content);
      expect(cnfValue(g, "mysqld", "bind-address")).toBe(addr);
      expect(cnfValue(g, "mysqld", "bind-address")).not.toBe("0.0.0.0");
      expect(cnfValue(g, "galera", "wsrep_node_address")).toBe(addr);
      expect(cnfValue(g, "galera", "wsrep_node_name")).toBe(host);
      const members = cnfValue(g, "galera", "wsrep_cluster_address")!;
      expect(members).toBe(`gcomm://${controllers.map((c) => c.addresses.management).join(",")}`);
      const providerOptions = cnfValue(g, "galera", "wsrep_provider_options")!
        .split(";")
        .map((s) => s.trim());
      expect(providerOptions).toContain(`gmcast.listen_addr=tcp://${addr}:4567`);
      expect(providerOptions).toContain(`ist.recv_addr=${addr}`);
      expect(providerOptions).toContain("evs.suspect_timeout=PT3S");
      expect(cnfValue(g, "galera", "wsrep_on")).toBe("ON");
      expect(cnfValue(g, "galera", "wsrep_provider")).toBe(os.galeraProvider);
      expect(cnfValue(g, "galera", "wsrep_cluster_name")).toBe("mariadb_galera_cluster");
      expect(cnfValue(g, "galera", "binlog_format")).toBe("ROW");
      expect(cnfValue(g, "galera", "default_storage_engine")).toBe("InnoDB");
      expect(cnfValue(g, "galera", "innodb_autoinc_lock_mode")).toBe("2");
      expect(cnfValue(g, "galera", "wsrep_slave_threads")).toBe("4");
      expect(cnfValue(g, "galera", "innodb_flush_log_at_trx_commit")).toBe("2");
      expect(cnfValue(g, "galera", "innodb_buffer_pool_size")).toBe(name === "lab" ? "128M" : "1024M");
      expect(cnfValue(g, "galera", "wsrep_sst_method")).toBe("rsync");
      expect(cnfValue(g, "galera", "wsrep_sync_wait")).toBe("0");
      expect(cnfValue(g, "galera", "wsrep_sst_auth")).toBeUndefined();
      // Donors: the backups other than this node, the writer (first controller) never named; the
      // trailing comma falls back to any node.
      const backups = controllers
        .slice(1)
        .map((c) => c.hostname)
        .filter((h) => h !== host);
      expect(cnfValue(g, "galera", "wsrep_sst_donor")).toBe(`${backups.join(",")},`);
      // Not the guide's 1000: one writer takes every service's pool (HAProxy's listener follows it).
      expect(cnfValue(g, "mysqld", "max_connections")).toBe("4096");
      expect(cnfValue(g, "mysqld", "port")).toBe("3306");
      expect(cnfValue(g, "mysqld", "datadir")).toBe("/var/lib/mysql");
      expect(cnfValue(g, "mysqld", "socket")).toBe(os.mysqlSocket);
      expect(cnfValue(g, "mysqld", "pid-file")).toBe(os.mysqlPidFile);
      expect(cnfValue(g, "mysqld", "log-error")).toBe(os.mysqlLogError);
    },
  );

  it("ships root's client option file (secret) on every controller and the secure SQL on the first only", () => {
    for (const c of controllers) {
      const a = artifactAt(r, c.hostname, ROOT_MY_CNF);
      expect(a).toMatchObject({ secret: true, mode: 0o600, owner: "root", group: "root" });
      const g = parseCnf(a.content);
      expect(cnfValue(g, "client", "user")).toBe("root");
      expect(cnfValue(g, "client", "password")).toBe(FAKE_SECRETS.mariadb_root_pass);
      expect(cnfValue(g, "client", "socket")).toBe(os.mysqlSocket);
    }
    for (const path of [SECURE_SQL, SECURE_CHECK_SQL]) {
      const holders = r.artifacts.filter((a) => a.path === path);
      expect(holders.map((a) => a.node)).toEqual([controllers[0]!.hostname]);
      expect(holders[0]).toMatchObject({ secret: true, mode: 0o600 });
    }
    const check = artifactAt(r, controllers[0]!.hostname, SECURE_CHECK_SQL).content;
    expect(check).toContain(`PASSWORD('${FAKE_SECRETS.mariadb_root_pass}')`);
    expect(check).toContain(`PASSWORD('${FAKE_SECRETS.clustercheck_pass}')`);
  });

  it("secures root the way each OS expects", () => {
    const sql = artifactAt(r, controllers[0]!.hostname, SECURE_SQL).content;
    const pass = `'${FAKE_SECRETS.mariadb_root_pass}'`;
    if (os.id === "debian12") {
      expect(sql).toContain(
        `ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(${pass});`,
      );
      expect(sql).toContain("FROM PUBLIC");
    } else {
      expect(sql).toContain(`ALTER USER 'root'@'localhost' IDENTIFIED BY ${pass};`);
      expect(sql).not.toContain("unix_socket");
      expect(sql).not.toContain("PUBLIC");
    }
    expect(sql).toContain("DROP DATABASE IF EXISTS test;");
    expect(sql).toContain(
      `CREATE USER IF NOT EXISTS 'clustercheck'@'localhost' IDENTIFIED BY '${FAKE_SECRETS.clustercheck_pass}';`,
    );
    expect(sql).toContain(`ALTER USER 'clustercheck'@'localhost' IDENTIFIED BY '${FAKE_SECRETS.clustercheck_pass}';`);
    // USAGE only: the guide's PROCESS (and any grant of an earlier setup) is revoked.
    expect(sql).toContain("REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'clustercheck'@'localhost';");
    expect(sql).not.toMatch(/\bGRANT (?!OPTION)/);
    // mysql_secure_installation edits mysql.* tables directly; Galera would not replicate that.
    expect(sql).not.toMatch(/\b(DELETE|UPDATE|INSERT)\b/i);
  });

  it("plans bootstrap, serial joins and the secure step in that order, recovery on demand", () => {
    const ids = r.plan.steps.map((s) => s.id);
    const at = (id: string) => ids.indexOf(id);
    expect(at("20-galera-bootstrap")).toBeGreaterThanOrEqual(0);
    expect(at("20-galera-bootstrap")).toBeLessThan(at("21-galera-join"));
    expect(at("21-galera-join")).toBeLessThan(at("22-galera-secure"));
    expect(at("22-galera-secure")).toBeLessThan(at("23-clustercheck"));
    const step = (id: string) => r.plan.steps.find((s) => s.id === id)!;
    expect(step("20-galera-bootstrap").nodes).toEqual([controllers[0]!.hostname]);
    // The backups first, the writer (HAProxy's active server) last: a rolling restart moves writes once.
    expect(step("21-galera-join")).toMatchObject({
      mode: "serial",
      nodes: [...controllers.slice(1), controllers[0]!].map((c) => c.hostname),
    });
    expect(step("22-galera-secure").nodes).toEqual([controllers[0]!.hostname]);
    expect(ids).not.toContain("galera-recover");
    for (const c of controllers) expect(artifactAt(r, c.hostname, GALERA_RECOVER_SCRIPT).mode).toBe(0o755);
  });

  it("bootstraps safely: galera_new_cluster, never --wsrep-new-cluster by hand or rm -rf of the datadir", () => {
    const s = script(r, controllers[0]!.hostname, "20-galera-bootstrap");
    expect(s).toContain("galera_new_cluster\n");
    expect(s).not.toContain("--wsrep-new-cluster");
    const code = s
      .split("\n")
      .filter((l) => !l.trimStart().startsWith("#"))
      .join("\n");
    // Nothing removes the data directory or grastate.dat, or kills the server.
    expect(code).not.toMatch(/\brm\b[^\n]*(\/var\/lib\/mysql|GRASTATE)|pkill|kill -9/);
    expect(code).toContain('rm -rf "$dir"'); // only recover_position's own temp dir
    // Refuses on an existing cluster state that is not safe to bootstrap, and names the recovery.
    expect(s).toContain('"$safe" != 1');
    expect(s).toContain("ha-gen recover galera");
    // Joins instead of bootstrapping when any other controller answers on 4567.
    const peers = controllers
      .slice(1)
      .map((c) => c.addresses.management)
      .join(" ");
    expect(s).toContain(`GALERA_PEERS=(${peers})`);
    expect(s.indexOf("elif peer_up; then")).toBeLessThan(s.indexOf("galera_new_cluster\n  changed"));
  });

  it("joins with per-node expectations of the cluster size and a generous bound", () => {
    controllers.slice(1).forEach((c, i) => {
      const s = script(r, c.hostname, "21-galera-join");
      expect(s).toContain(`GALERA_SIZE=${controllers.length}\n`);
      expect(s).toContain(`MIN_SIZE=${i + 2}\n`);
      expect(s).toMatch(/wait_until 1800 /);
      expect(s).toContain('changed_since_applied galera-cnf "$GALERA_CNF"');
    });
  });

  it("keeps mariadb enabled at boot", () => {
    expect(script(r, controllers[0]!.hostname, "20-galera-bootstrap")).toContain("ensure_enabled mariadb");
    for (const c of controllers.slice(1))
      expect(script(r, c.hostname, "21-galera-join")).toContain("ensure_enabled mariadb");
  });

  it("runs --wsrep-recover with the OS's server binary", () => {
    const s = script(r, controllers[0]!.hostname, "galera-recover");
    expect(s).toContain(`MYSQLD=${os.id === "debian12" ? "/usr/sbin/mariadbd" : "/usr/libexec/mysqld"}\n`);
    expect(s).toContain(`NODE_NAME=${controllers[0]!.hostname}\n`);
  });

  it("keeps secrets out of every non-secret artifact and marks every file", () => {
    const secrets = Object.values(FAKE_SECRETS);
    for (const a of mine) {
      expect(a.content).toContain(MARKER);
      if (!a.secret) for (const s of secrets) expect(a.content, `${a.node}:${a.path}`).not.toContain(s);
      if (a.secret) expect(a.mode & 0o007).toBe(0);
    }
  });

  it("is byte-stable", () => {
    const again = controllersOf(name).artifacts.filter((a: Artifact) => a.family === "galera");
    expect(again).toEqual(mine);
  });
});

describe("galera generator: spec settings and hostile values", () => {
  it("takes every galera setting from the spec", () => {
    const r = render({
      ...EXAMPLES.lab,
      galera: {
        clusterName: "prod_db",
        port: 3307,
        maxConnections: 2000,
        wsrepSlaveThreads: 8,
        innodbBufferPoolSize: "2G",
        innodbFlushLogAtTrxCommit: 1,
        wsrepSyncWait: 1,
        suspectTimeout: 4500,
      },
    });
    const g = parseCnf(artifactAt(r, "controller02", "/etc/mysql/mariadb.conf.d/60-galera.cnf").content);
    expect(cnfValue(g, "galera", "wsrep_cluster_name")).toBe("prod_db");
    expect(cnfValue(g, "mysqld", "port")).toBe("3307");
    expect(cnfValue(g, "mysqld", "max_connections")).toBe("2000");
    const join = artifactAt(r, "controller02", "/usr/local/lib/ha-gen/21-galera-join.sh").content;
    expect(join).toContain("GALERA_MAX_CONNECTIONS=2000\n");
    expect(cnfValue(g, "galera", "wsrep_slave_threads")).toBe("8");
    expect(cnfValue(g, "galera", "innodb_buffer_pool_size")).toBe("2G");
    expect(cnfValue(g, "galera", "innodb_flush_log_at_trx_commit")).toBe("1");
    expect(cnfValue(g, "galera", "wsrep_sync_wait")).toBe("1");
    expect(cnfValue(g, "galera", "wsrep_provider_options")).toContain("; evs.suspect_timeout=PT4.5S");
  });

  it("drains a node before its rolling restart for as long as HAProxy's clustercheck needs", () => {
    const join = (update?: Parameters<typeof withServices>[1]["update"]) => {
      const services = update ? withServices(defaultServices, { update }) : undefined;
      const r = render({ ...EXAMPLES.lab, ...(services ? { haproxy: { services } } : {}) });
      return script(r, "controller01", "21-galera-join");
    };
    // Default listener: inter 1s, fall 2: three checks, 3 s.
    expect(join()).toContain("DRAIN_SECONDS=3\n");
    expect(join()).toMatch(/drain_for_restart "\$restarted_from"\n\s+systemctl restart mariadb\n\s+trap - EXIT\n/);
    // (fall + 1) x inter, rounded up to whole seconds; a bare number is milliseconds.
    expect(join({ galera_cluster: { check: { inter: "2500", fall: 3 } } })).toContain("DRAIN_SECONDS=10\n");
    expect(join({ galera_cluster: { check: { inter: "2s", fall: 5 } } })).toContain("DRAIN_SECONDS=12\n");
    // A listener that does not ask clustercheck does not see a desynced node: nothing to wait for.
    const unchecked = join({ galera_cluster: { httpCheck: false, checkPort: undefined } });
    expect(unchecked).not.toContain("wsrep_desync");
    expect(unchecked).toMatch(/restarted_from=\$\(wsrep_status wsrep_cluster_size\)\n\s+systemctl restart mariadb\n/);
  });

  it("no donor preference where no backup is left to prefer", () => {
    const nodes = (n: number) => EXAMPLES.lab.nodes.slice(0, n);
    const donor = (n: number, host: string) => {
      const r = render({ ...EXAMPLES.lab, nodes: nodes(n), safety: { allowUnsafeMemberCount: true } });
      const cnf = artifactAt(r, host, "/etc/mysql/mariadb.conf.d/60-galera.cnf").content;
      return cnfValue(parseCnf(cnf), "galera", "wsrep_sst_donor");
    };
    expect(donor(1, "controller01")).toBeUndefined();
    expect(donor(2, "controller01")).toBe("controller02,");
    expect(donor(2, "controller02")).toBeUndefined();
  });

  it("mariabackup SST: unix_socket account, no password in the option file, plugin loaded on 10.3", () => {
    for (const base of [EXAMPLES.lab, EXAMPLES["train-ha"]]) {
      const r = render({ ...base, galera: { sstMethod: "mariabackup" } });
      const os = osProfile(base.os ?? "centos8");
      const g = parseCnf(artifactAt(r, "controller01", os.galeraCnf).content);
      expect(cnfValue(g, "galera", "wsrep_sst_method")).toBe("mariabackup");
      expect(cnfValue(g, "galera", "wsrep_sst_auth")).toBe("mysql:");
      expect(cnfValue(g, "mysqld", "plugin_load_add")).toBe(os.id === "centos8" ? "auth_socket" : undefined);
      const boot = artifactAt(r, "controller01", "/usr/local/lib/ha-gen/20-galera-bootstrap.sh").content;
      expect(boot).toContain("CREATE USER IF NOT EXISTS 'mysql'@'localhost' IDENTIFIED VIA unix_socket");
    }
  });

  it("quotes hostile passwords for SQL and for option files", () => {
    const hostile = { ...FAKE_SECRETS, mariadb_root_pass: `r'o"o\\t $x #1`, clustercheck_pass: `c'c\\"#;p w` };
    const r = render(EXAMPLES.lab, hostile);
    const sql = artifactAt(r, "controller01", SECURE_SQL).content;
    expect(sql).toContain(`USING PASSWORD('r\\'o"o\\\\t $x #1')`);
    expect(sql).toContain(`IDENTIFIED BY 'c\\'c\\\\"#;p w'`);
    expect(sql).not.toContain(hostile.mariadb_root_pass);
    const my = parseCnf(artifactAt(r, "controller02", ROOT_MY_CNF).content);
    expect(cnfValue(my, "client", "password")).toBe(`r'o\\"o\\\\t $x #1`);
    const cc = parseCnf(artifactAt(r, "controller02", CLUSTERCHECK_CNF).content);
    expect(cnfValue(cc, "client", "password")).toBe(`c'c\\\\\\"#;p w`);
  });

  it("follows the controllers of the spec, whatever their number and order", () => {
    const spec: ClusterSpecInput = {
      ...EXAMPLES.lab,
      nodes: [
        { hostname: "db-c", roles: ["controller"], addresses: { management: "198.51.100.23" } },
        { hostname: "compute1", roles: ["compute"], addresses: { management: "198.51.100.30" } },
        { hostname: "db-a", roles: ["controller"], addresses: { management: "198.51.100.21" } },
        { hostname: "db-b", roles: ["controller"], addresses: { management: "198.51.100.22" } },
        { hostname: "db-d", roles: ["controller"], addresses: { management: "198.51.100.24" } },
        { hostname: "db-e", roles: ["controller"], addresses: { management: "198.51.100.25" } },
      ],
      ntp: { upstream: [], server: "db-c" },
    };
    const r = render(spec);
    const g = parseCnf(artifactAt(r, "db-b", "/etc/mysql/mariadb.conf.d/60-galera.cnf").content);
    expect(cnfValue(g, "galera", "wsrep_cluster_address")).toBe(
      "gcomm://198.51.100.23,198.51.100.21,198.51.100.22,198.51.100.24,198.51.100.25",
    );
    expect(r.plan.steps.find((s) => s.id === "20-galera-bootstrap")!.nodes).toEqual(["db-c"]);
    expect(r.plan.steps.find((s) => s.id === "21-galera-join")!.nodes).toEqual([
      "db-a",
      "db-b",
      "db-d",
      "db-e",
      "db-c",
    ]);
    expect(artifactAt(r, "db-e", "/usr/local/lib/ha-gen/21-galera-join.sh").content).toContain("MIN_SIZE=5\n");
    const cnfOf = (h: string) => parseCnf(artifactAt(r, h, "/etc/mysql/mariadb.conf.d/60-galera.cnf").content);
    const donors = (h: string) => cnfValue(cnfOf(h), "galera", "wsrep_sst_donor");
    expect(donors("db-c")).toBe("db-a,db-b,db-d,db-e,");
    expect(donors("db-b")).toBe("db-a,db-d,db-e,");
    expect(r.artifacts.some((a) => a.node === "compute1" && a.family === "galera")).toBe(false);
    // Replication: written on the first controller, read on the others in spec order, dropped by the last.
    const replication = r.plan.steps.find((s) => s.id === REPLICATION_STEP);
    expect(replication).toMatchObject({ mode: "serial", nodes: ["db-c", "db-a", "db-b", "db-d", "db-e"] });
    const rep = (n: string) => artifactAt(r, n, `/usr/local/lib/ha-gen/${REPLICATION_STEP}.sh`).content;
    expect(rep("db-c")).toContain(`INSERT INTO ${REPLICATION_SCHEMA}.probe VALUES ('db-c', UUID());`);
    for (const n of ["db-a", "db-b", "db-d"]) {
      expect(rep(n)).toContain("SET SESSION wsrep_sync_wait = 1;");
      expect(rep(n)).not.toContain("DROP DATABASE");
    }
    expect(rep("db-e")).toContain(`DROP DATABASE ${REPLICATION_SCHEMA};`);
  });

  it("proves replication after clustercheck, on every controller one at a time; not with one controller", () => {
    const r = renderExample("lab");
    const ids = r.plan.steps.map((s) => s.id);
    expect(ids.indexOf(REPLICATION_STEP)).toBe(ids.indexOf("23-clustercheck") + 1);
    expect(ids.indexOf(REPLICATION_STEP)).toBeLessThan(ids.indexOf("30-rabbitmq-start"));
    const nodes = EXAMPLES.lab.nodes.slice(0, 1);
    const one = render({ ...EXAMPLES.lab, nodes, safety: { allowUnsafeMemberCount: true } });
    expect(one.plan.steps.map((s) => s.id)).not.toContain(REPLICATION_STEP);
    expect(one.artifacts.some((a) => a.path.endsWith(`/${REPLICATION_STEP}.sh`))).toBe(false);
  });
});
