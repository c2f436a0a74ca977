import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { DeployEvent } from "../../deploy/events.js";
import labSpecInput from "../../examples/lab/cluster.ts";
import { clusterSpecSchema, type ClusterSpec } from "../../src/core/spec/schema.js";
import { HAPROXY_CHROOT } from "../../generators/haproxy.js";
import { REPLICATION_SCHEMA, REPLICATION_STEP } from "../../generators/galera.js";
import { OPENSTACK_CONFIG } from "../../generators/prepare.js";
import { EPMD_PORT, PCSD_PORT, RABBITMQ_DIST_PORT } from "../../src/core/os.js";
import {
  backendStatus,
  clusterStamps,
  crmStatus,
  etcdHealthy,
  galeraStatus,
  galeraSynced,
  haproxySocket,
  haproxyStats,
  listeners,
  memcachedVersion,
  nodeSql,
  rabbitDiagnostics,
  rabbitStatus,
  serviceStamps,
  vipHolders,
  vipSql,
  type DbUser,
} from "./lab/checks.js";
import { LAB_SPEC, LOG_DIR, NODES, REPO, RUN_DIR, VIP, node } from "./lab/config.js";
import { KNOWN_HOSTS, labHttp, nsenterArgv, SSH_CONFIG, ssh } from "./lab/exec.js";
import {
  CLI,
  deployArgs,
  explain,
  haGen,
  type HaGenRun,
  nodeChanges,
  SECRETS,
  sshArgs,
  stepsStarted,
} from "./lab/hagen.js";
import type { ImageInfo } from "./lab/image.js";
import { labDown, labUp } from "./lab/lab.js";
import { Figures } from "./lab/metrics.js";
import { nodeAddresses, plug, resetNic } from "./lab/net.js";
import { preflightScenarios, statusScenarios } from "./lab/observe.js";
import { boot, crash, crashAll, initPid, nodeRoot, reboot, waitForSsh } from "./lab/nodes.js";
import { rootNetSnapshot } from "./lab/preflight.js";
import { run, waitFor } from "./lab/proc.js";

/**
 * Issue 4: `ha-gen deploy examples/lab/cluster.ts` from nothing to a working cluster in three
 * systemd-nspawn containers, over real SSH with verified host keys, then checks that it formed,
 * reruns without change, fails over, recovers from a full outage and refuses bad paths.
 * Everything reaching a node runs in the `lab` network namespace. The tests run in order and
 * build on each other; figures are printed at the end and kept in .lab/figures.{json,txt}.
 */

const FAILOVER =
  "4. failover: the VIP holder crashes; the VIP answers from another node within 20 s with every committed row; " +
  "the node rejoins";
const OUTAGE_A =
  "5a. full outage: all three killed at once after writes; `ha-gen recover galera` brings Galera back with every " +
  "committed row";
const OUTAGE_B =
  "5b. staggered outage: no node can form a Primary alone; `ha-gen recover galera` bootstraps the most advanced " +
  "node and loses no committed row";
const ROWS_B3 = Array.from({ length: 100 }, (_, i) => `('outage-b3', ${i + 1})`).join(",");
const RENDER = join(RUN_DIR, "render");
const SERVICES = [
  "mariadb",
  "rabbitmq-server",
  "etcd",
  "memcached",
  "xinetd",
  "haproxy",
  "pacemaker",
  "corosync",
  "pcsd",
  "rsyslog",
];

const spec: ClusterSpec = clusterSpecSchema.parse(labSpecInput);
const f = new Figures();
let image: ImageInfo;
let deployed = false;
/** Events of the first deploy (which steps ran where). */
let firstDeploy: HaGenRun | undefined;
/** Test-only database account for SQL through the VIP (the product creates none reachable from outside). */
const e2eUser: DbUser = { user: "e2e", password: randomBytes(12).toString("hex") };

function requireDeployed(): void {
  if (!deployed) throw new Error("the first deploy did not succeed; nothing to check");
}

// ---- facts from what ha-gen generated (never hard-coded)

interface Facts {
  statsUrl: string;
  statsAuth: string;
  galeraProxy: string;
  rabbitPass: string;
  stepIds: string[];
}
let facts: Facts;

function readFacts(): Facts {
  const cfg = readFileSync(join(RENDER, NODES[0]!.name, "etc/haproxy/haproxy.cfg"), "utf8");
  const sections = new Map<string, string[]>();
  let current = "";
  for (const line of cfg.split("\n")) {
    if (/^\S/.test(line) && !line.startsWith("#")) sections.set((current = line.trim()), []);
    else if (current) sections.get(current)!.push(line.trim());
  }
  const listen = (pred: (body: string[]) => boolean) => [...sections].find(([, body]) => pred(body));
  const stats = listen((b) => b.includes("stats enable"));
  const galera = listen((b) => b.includes(`bind ${VIP}:${spec.galera.port}`));
  if (!stats || !galera) throw new Error("rendered haproxy.cfg has no stats or galera listener");
  const statsPort = stats[1]
    .map((l) => new RegExp(`^bind ${VIP.replace(/\./g, "\\.")}:(\\d+)`).exec(l)?.[1])
    .find(Boolean);
  const uri = stats[1].map((l) => /^stats uri (\S+)/.exec(l)?.[1]).find(Boolean) ?? "/";
  const auth = stats[1].map((l) => /^stats auth (\S+)/.exec(l)?.[1]).find(Boolean);
  if (!statsPort || !auth) throw new Error("rendered haproxy.cfg: stats listener lacks a VIP bind or stats auth");
  const secrets = parseYaml(readFileSync(SECRETS, "utf8")) as Record<string, string>;
  const plan = JSON.parse(readFileSync(join(RENDER, "plan.json"), "utf8")) as { steps: { id: string }[] };
  return {
    statsUrl: `http://${VIP}:${statsPort}${uri}`,
    statsAuth: auth,
    galeraProxy: galera[0].replace(/^listen\s+/, ""),
    rabbitPass: secrets.rabbit_pass!,
    stepIds: plan.steps.map((s) => s.id),
  };
}

/** Rows of a batch, read through the VIP. */
function countThroughVip(batch: string): number {
  const r = vipSql(image.dir, e2eUser, `SELECT COUNT(*) FROM e2e.rows WHERE batch='${batch}'`);
  return Number(r.stdout.trim());
}

function writeBatch(batch: string, rows: number): void {
  const values = Array.from({ length: rows }, (_, i) => `('${batch}', ${i + 1})`).join(",");
  vipSql(image.dir, e2eUser, `INSERT INTO e2e.rows (batch, n) VALUES ${values}`);
  expect(countThroughVip(batch)).toBe(rows);
}

/** Every node Synced in a 3-node Primary component, and pacemaker sees all three online. */
async function waitClusterWhole(what: string, limitMs: number): Promise<void> {
  await waitFor(
    `${what}: Galera size ${NODES.length} Synced on every node`,
    limitMs,
    () => NODES.every((n) => galeraSynced(n.name)),
    2000,
  );
  await waitFor(
    `${what}: pacemaker online on every node`,
    limitMs,
    () => crmStatus(NODES[0]!.name).online.length === NODES.length,
    2000,
  );
  // RabbitMQ too: a broker rebooted after a crash may still be booting (its unit "activating") when
  // the next test deploys, and that deploy's start of it then waits out the unit's start timeout.
  const brokersUp = (n: string) => {
    try {
      return rabbitStatus(n).running.length === NODES.length;
    } catch {
      return false;
    }
  };
  let notWhole: string[] = [];
  const brokersWhole = (limit: number) =>
    waitFor(
      `${what}: RabbitMQ ${NODES.length} running brokers on every node`,
      limit,
      () => {
        notWhole = NODES.filter((n) => !brokersUp(n.name)).map((n) => n.name);
        return notWhole.length === 0;
      },
      5000,
    );
  try {
    await brokersWhole(limitMs);
  } catch (e) {
    (e as Error).message += ` (not whole on ${notWhole.join(", ")})`;
    // RabbitMQ did not heal by itself (once in CI: a rebooted broker's boot hung for the unit's whole
    // 600 s start timeout). What the brokers say goes to the log; then the operator's remedy, a
    // deploy of the same spec, must make it whole (its start step restarts a hung boot).
    process.stdout.write(`\n${what}: ${(e as Error).message}\n${rabbitDiagnostics(NODES.map((n) => n.name))}\n`);
    const r = await f.time(`${what}: RabbitMQ repaired by a deploy`, () => haGen("deploy-rabbit-repair", deployArgs()));
    f.notes[`rabbitRepair ${what}`] = r.result.status === 0 ? "deploy repaired it" : "deploy failed";
    expect(r.result.status, explain(r)).toBe(0);
    await brokersWhole(limitMs);
  }
}

describe.sequential("container lab: ha-gen deploy of examples/lab", () => {
  let rootNet = "";

  beforeAll(async () => {
    rootNet = rootNetSnapshot();
    image = await labUp(f);
    f.sample("booted, before deploy");
    f.startSampler();
  });

  afterAll(async () => {
    f.stopSampler();
    try {
      f.sample("end of run");
      if (process.env.HA_GEN_LAB_KEEP !== "1") await labDown(f);
    } finally {
      f.save();
      process.stdout.write(`\n${f.report()}\n`);
    }
  });

  it("0. the lab is invisible to the root network namespace (no interface, address or route added)", () => {
    expect(rootNetSnapshot()).toBe(rootNet);
  });

  it("1a. preflight passes on the fresh nodes; names a renamed interface, a taken VIP, an occupied port", async () => {
    await preflightScenarios(haGen, f, ["--ssh-config", SSH_CONFIG, "--known-hosts", KNOWN_HOSTS, "--no-agent"]);
  });

  it("1. deploys examples/lab from nothing over SSH, host keys verified", async () => {
    expect(existsSync(CLI), `${CLI} missing: npm run build`).toBe(true);
    rmSync(SECRETS, { force: true });
    const knownBefore = readFileSync(KNOWN_HOSTS, "utf8");
    const r = await f.time("deploy (from nothing)", () => haGen("deploy-1", deployArgs()));
    firstDeploy = r;
    expect(r.result.status, explain(r)).toBe(0);
    expect(r.runEnd?.ok, explain(r)).toBe(true);
    // No trust on first use: every key was already in the harness's known_hosts, nothing added.
    expect(r.events.filter((e) => e.type === "host-key-accepted")).toEqual([]);
    expect(readFileSync(KNOWN_HOSTS, "utf8")).toBe(knownBefore);
    const render = run([process.execPath, CLI, "render", LAB_SPEC, "--out", RENDER, "--secrets", SECRETS], {
      cwd: REPO,
    });
    expect(render.status).toBe(0);
    facts = readFacts();
    deployed = true;
    f.sample("after deploy");
    // Test data for the checks below (not part of the product): a database and an account
    // allowed from the lab's client network.
    nodeSql(
      NODES[0]!.name,
      `CREATE DATABASE IF NOT EXISTS e2e;
       CREATE USER IF NOT EXISTS 'e2e'@'198.51.100.%' IDENTIFIED BY '${e2eUser.password}';
       GRANT ALL ON e2e.* TO 'e2e'@'198.51.100.%';
       CREATE TABLE IF NOT EXISTS e2e.rows
        (id INT AUTO_INCREMENT PRIMARY KEY, batch VARCHAR(32) NOT NULL, n INT NOT NULL);`,
    );
  });

  describe("2. the cluster formed", () => {
    it("Galera: wsrep_cluster_size 3 on every node and through the VIP", async () => {
      requireDeployed();
      await f.time("check: galera", () => {
        for (const n of NODES) {
          const s = galeraStatus(n.name);
          expect(s, n.name).toMatchObject({
            wsrep_cluster_size: "3",
            wsrep_cluster_status: "Primary",
            wsrep_local_state_comment: "Synced",
            wsrep_ready: "ON",
          });
        }
        const viaVip = vipSql(
          image.dir,
          e2eUser,
          "SELECT @@hostname, VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS " +
            "WHERE VARIABLE_NAME='wsrep_cluster_size'",
        );
        const [servedBy, size] = viaVip.stdout.trim().split("\t");
        expect(NODES.map((n) => n.name)).toContain(servedBy);
        expect(size).toBe("3");
      });
    });

    it("clustercheck: 200 on every node; 503 and haproxy DOWN while desynced, back UP after", async () => {
      requireDeployed();
      await f.time("check: clustercheck + haproxy httpchk", async () => {
        const port = spec.clustercheck.port;
        for (const n of NODES) expect(labHttp(`http://${n.ip}:${port}/`).code, n.name).toBe(200);
        const victim = NODES[2]!;
        expect(backendStatus(facts.statsUrl, facts.statsAuth, facts.galeraProxy, victim.name)).toMatch(/^UP/);
        nodeSql(victim.name, "SET GLOBAL wsrep_desync=ON");
        try {
          await waitFor(
            `clustercheck 503 on desynced ${victim.name}`,
            30_000,
            () => labHttp(`http://${victim.ip}:${port}/`).code === 503,
          );
          await waitFor(`haproxy marks ${victim.name} DOWN`, 30_000, () =>
            /^DOWN/.test(backendStatus(facts.statsUrl, facts.statsAuth, facts.galeraProxy, victim.name) ?? ""),
          );
        } finally {
          nodeSql(victim.name, "SET GLOBAL wsrep_desync=OFF");
        }
        await waitFor(
          `clustercheck 200 on ${victim.name} again`,
          60_000,
          () => labHttp(`http://${victim.ip}:${port}/`).code === 200,
        );
        await waitFor(`haproxy marks ${victim.name} UP again`, 30_000, () =>
          /^UP/.test(backendStatus(facts.statsUrl, facts.statsAuth, facts.galeraProxy, victim.name) ?? ""),
        );
      });
    });

    it("RabbitMQ: 3 running nodes everywhere; the openstack user authenticates", async () => {
      requireDeployed();
      await f.time("check: rabbitmq", () => {
        const expected = NODES.map((n) => `rabbit@${n.name}`).sort();
        for (const n of NODES) {
          const s = rabbitStatus(n.name);
          expect([...s.running].sort(), n.name).toEqual(expected);
          expect(s.partitions, n.name).toEqual([]);
        }
        const u = spec.rabbitmq.user;
        for (const n of NODES) {
          const ok = labHttp(`http://${n.ip}:${spec.rabbitmq.managementPort}/api/whoami`, {
            auth: `${u}:${facts.rabbitPass}`,
          });
          expect(ok.code, `${u} on ${n.name}: ${ok.body}`).toBe(200);
          expect(JSON.parse(ok.body)).toMatchObject({ name: u });
        }
        expect(
          labHttp(`http://${NODES[0]!.ip}:${spec.rabbitmq.managementPort}/api/whoami`, {
            auth: `${u}:wrong-${facts.rabbitPass}`,
          }).code,
        ).toBe(401);
      });
    });

    it("etcd: endpoint health 3/3", async () => {
      requireDeployed();
      await f.time("check: etcd", () => {
        const port = spec.etcd.clientPort;
        for (const n of NODES) expect(etcdHealthy(n.ip, port), n.name).toBe(true);
        const endpoints = NODES.map((n) => `http://${n.ip}:${port}`).join(",");
        const out = ssh(
          NODES[0]!.name,
          `ETCDCTL_API=3 etcdctl --endpoints=${endpoints} endpoint health -w json`,
        ).stdout;
        const health = JSON.parse(out) as { endpoint: string; health: boolean }[];
        expect(
          health
            .filter((h) => h.health)
            .map((h) => h.endpoint)
            .sort(),
        ).toEqual(endpoints.split(",").sort());
      });
    });

    it("memcached answers on every node address", async () => {
      requireDeployed();
      await f.time("check: memcached", () => {
        for (const n of NODES) expect(memcachedVersion(n.ip, spec.memcached.port), n.name).toMatch(/^VERSION /);
      });
    });

    it("pacemaker: 3 nodes online, the VIP and the haproxy clone started", async () => {
      requireDeployed();
      await f.time("check: pacemaker", () => {
        const names = NODES.map((n) => n.name).sort();
        const text = ssh(NODES[0]!.name, "pcs status").stdout;
        expect(/Online: \[ ([^\]]+) \]/.exec(text)?.[1]?.split(/\s+/).sort(), text).toEqual(names);
        const s = crmStatus(NODES[0]!.name);
        expect(s.quorum).toBe(true);
        expect(s.online.sort()).toEqual(names);
        expect(s.started[spec.pacemaker.vipResource]?.length, JSON.stringify(s.started)).toBe(1);
        expect(s.started[`${spec.pacemaker.haproxyResource}-clone`]?.sort(), JSON.stringify(s.started)).toEqual(names);
        expect(vipHolders(nodeAddresses)).toEqual(s.started[spec.pacemaker.vipResource]);
      });
    });

    it("replication: a write on the first node was read on every other one; the schema is gone", async () => {
      requireDeployed();
      const ran = firstDeploy!.events.filter(
        (e): e is Extract<DeployEvent, { type: "node-step-end" }> =>
          e.type === "node-step-end" && e.step === REPLICATION_STEP,
      );
      expect(ran.map((e) => [e.node, e.code])).toEqual(NODES.map((n) => [n.name, 0]));
      for (const n of NODES) {
        expect(nodeSql(n.name, `SHOW DATABASES LIKE '${REPLICATION_SCHEMA}'`).trim(), n.name).toBe("");
      }
    });

    it("least exposure: epmd, Erlang distribution and pcsd on the node address (and loopback) only", async () => {
      requireDeployed();
      await f.time("check: bindings", () => {
        for (const n of NODES) {
          const epmd = listeners(n.name, EPMD_PORT);
          expect(epmd, `${n.name} epmd`).toContain(`${n.ip}:${EPMD_PORT}`);
          const loopback = [`127.0.0.1:${EPMD_PORT}`, `[::1]:${EPMD_PORT}`];
          const elsewhere = epmd.filter((a) => a !== `${n.ip}:${EPMD_PORT}` && !loopback.includes(a));
          expect(elsewhere, `${n.name} epmd`).toEqual([]);
          expect(listeners(n.name, RABBITMQ_DIST_PORT), `${n.name} 25672`).toEqual([`${n.ip}:${RABBITMQ_DIST_PORT}`]);
          const pcsd = [`127.0.0.1:${PCSD_PORT}`, `${n.ip}:${PCSD_PORT}`].sort();
          expect(listeners(n.name, PCSD_PORT), `${n.name} pcsd`).toEqual(pcsd);
          expect(listeners(n.name, spec.rabbitmq.port), `${n.name} AMQP`).toEqual([`${n.ip}:${spec.rabbitmq.port}`]);
        }
      });
    });

    it("least privilege: no RabbitMQ guest, clustercheck USAGE only as its own user, socket at operator", async () => {
      requireDeployed();
      const users = ssh(NODES[0]!.name, "rabbitmqctl -q list_users", { timeoutMs: 120_000 }).stdout;
      expect(
        users
          .split("\n")
          .map((l) => l.split(/\s+/)[0])
          .filter(Boolean),
      ).not.toContain("guest");
      for (const n of NODES) {
        const user = spec.clustercheck.user;
        const grants = nodeSql(n.name, `SHOW GRANTS FOR '${user}'@'localhost'`).trim();
        const usage = `GRANT USAGE ON *.* TO \`${user}\`@\`localhost\``;
        expect(grants.replace(/ IDENTIFIED BY PASSWORD '[^']*'/, ""), n.name).toBe(usage);
        const files =
          "stat -c '%U:%G %a' /etc/ha-gen/clustercheck.cnf\ngrep -E '^\\s*user' /etc/xinetd.d/galera-monitor";
        const owner = ssh(n.name, files)
          .stdout.trim()
          .split("\n")
          .map((l) => l.trim().replace(/\s+/g, " "));
        expect(owner, n.name).toEqual(["root:clustercheck 640", "user = clustercheck"]);
      }
      const socket = `${HAPROXY_CHROOT}/stats`;
      const holder = NODES.find((n) => ssh(n.name, `test -S ${socket}`, { allowFail: true }).status === 0)!;
      expect(holder, "a node runs haproxy").toBeDefined();
      expect(haproxySocket(holder.name, socket, "show info")).toMatch(/^Name: HAProxy$/m);
      const disable = `disable server ${facts.galeraProxy}/${NODES[1]!.name}`;
      expect(haproxySocket(holder.name, socket, disable)).toMatch(/Permission denied/);
    });

    it("the distribution's files ha-gen replaced were kept as .ha-gen-orig; openstack-config works", async () => {
      requireDeployed();
      for (const n of NODES) {
        // The image's own haproxy.cfg and hosts, replaced by ha-gen's on the first deploy.
        const kept = ssh(
          n.name,
          `for f in /etc/haproxy/haproxy.cfg /etc/hosts; do
  if [[ -f $f.ha-gen-orig ]] && ! grep -q 'generated by ha-gen' "$f.ha-gen-orig"; then echo "kept $f"; fi
done`,
        ).stdout;
        expect(kept.trim().split("\n"), n.name).toEqual(["kept /etc/haproxy/haproxy.cfg", "kept /etc/hosts"]);
        const oc = ssh(
          n.name,
          [
            "f=$(mktemp)",
            `${OPENSTACK_CONFIG} --set "$f" DEFAULT debug true`,
            `${OPENSTACK_CONFIG} --get "$f" DEFAULT debug`,
            'rm -f "$f"',
          ].join("\n"),
        ).stdout;
        expect(oc.trim(), n.name).toBe("true");
      }
    });

    it("haproxy stats on the VIP: generated credentials accepted, wrong ones rejected", async () => {
      requireDeployed();
      await f.time("check: haproxy stats", () => {
        const ok = labHttp(facts.statsUrl, { auth: facts.statsAuth });
        expect(ok.code).toBe(200);
        expect(ok.body).toMatch(/Statistics Report/i);
        const [user] = facts.statsAuth.split(":");
        expect(labHttp(facts.statsUrl, { auth: `${user}:not-the-password` }).code).toBe(401);
        expect(labHttp(facts.statsUrl).code).toBe(401);
        expect(haproxyStats(facts.statsUrl, facts.statsAuth).some((r) => r.pxname === facts.galeraProxy)).toBe(true);
      });
      f.sample("after checks");
    });
  });

  it("3. a second deploy of the same spec changes nothing and restarts nothing", async () => {
    requireDeployed();
    const stamps = () => ({
      vip: vipHolders(nodeAddresses),
      ...Object.fromEntries(
        NODES.map((n) => [n.name, { ...serviceStamps(n.name, SERVICES), ...clusterStamps(n.name) }]),
      ),
    });
    const before = stamps();
    const r = await f.time("deploy (second, no change)", () => haGen("deploy-2", deployArgs()));
    expect(r.result.status, explain(r)).toBe(0);
    expect(stamps(), "service main PIDs and start times, rabbit_sup, Galera conf id, VIP holder").toEqual(before);
    expect(nodeChanges(r), "steps reporting changes on a rerun").toEqual([]);
    expect(r.runEnd).toMatchObject({ ok: true, filesChanged: 0, stepsChanged: 0 });
  });

  it("3a. status: healthy; names a hand-edited file, a desynced node, a stopped etcd member, a crash", async () => {
    requireDeployed();
    await statusScenarios(haGen, f, sshArgs(), (what) => waitClusterWhole(what, 300_000));
  });

  it("3b. a broker left with its rabbit app stopped (rabbitmqctl stop_app) is started again by deploy", async () => {
    requireDeployed();
    const victim = NODES[1]!.name;
    const expected = NODES.map((n) => `rabbit@${n.name}`).sort();
    ssh(victim, "rabbitmqctl -q stop_app", { timeoutMs: 120_000 });
    expect([...rabbitStatus(NODES[0]!.name).running].sort()).toEqual(expected.filter((x) => x !== `rabbit@${victim}`));
    const r = await f.time("deploy (a broker's app stopped)", () => haGen("deploy-stopped-app", deployArgs()));
    expect(r.result.status, explain(r)).toBe(0);
    expect(nodeChanges(r)).toContain(
      `30-rabbitmq-start@${victim}: started the rabbit app of rabbit@${victim}: its Erlang VM ran with the app stopped`,
    );
    for (const n of NODES) expect([...rabbitStatus(n.name).running].sort(), n.name).toEqual(expected);
  });

  describe("6. bad paths", () => {
    it("a node whose host key changed is refused", async () => {
      requireDeployed();
      const n = node("controller02");
      const sshDir = join(nodeRoot(n), "etc/ssh");
      const keyFiles = readdirSync(sshDir).filter((x) => x.startsWith("ssh_host_"));
      const saved = new Map(keyFiles.map((k) => [k, readFileSync(join(sshDir, k))]));
      const knownBefore = readFileSync(KNOWN_HOSTS, "utf8");
      const restartSshd = () => run(nsenterArgv(initPid(n)!, ["systemctl", "restart", "ssh"]));
      try {
        // The node gets new host keys, as a reinstalled or impersonated machine would.
        for (const k of keyFiles) rmSync(join(sshDir, k));
        run(["ssh-keygen", "-q", "-A", "-f", nodeRoot(n)]);
        restartSshd();
        const r = await f.time("deploy refused (changed host key)", () => haGen("deploy-hostkey", deployArgs()));
        expect(r.result.status, explain(r)).not.toBe(0);
        expect(`${r.result.stdout}\n${r.result.stderr}`).toMatch(/controller02/);
        expect(`${r.result.stdout}\n${r.result.stderr}`).toMatch(/host key/i);
        expect(stepsStarted(r), "no step may run").toEqual([]);
        expect(readFileSync(KNOWN_HOSTS, "utf8"), "known_hosts must not be rewritten").toBe(knownBefore);
      } finally {
        for (const [k, v] of saved) writeFileSync(join(sshDir, k), v, { mode: k.endsWith(".pub") ? 0o644 : 0o600 });
        restartSshd();
        await waitForSsh(n);
      }
    });

    it("a failing step stops the rollout; --from resumes it to success", async () => {
      requireDeployed();
      const step = facts.stepIds.find((s) => /memcached/.test(s));
      expect(step, `no memcached step in ${facts.stepIds.join(", ")}`).toBeDefined();
      const later = facts.stepIds.slice(facts.stepIds.indexOf(step!) + 1);
      const victim = NODES[1]!.name;
      // memcached cannot start on one node: its step must fail there and nothing after it may run.
      ssh(victim, "systemctl stop memcached && systemctl mask memcached");
      try {
        const r = await f.time("deploy stopped by a failing step", () => haGen("deploy-fail", deployArgs()));
        expect(r.result.status, explain(r)).not.toBe(0);
        expect(r.runEnd?.failed, explain(r)).toMatchObject({ step, node: victim });
        expect(r.runEnd?.resumeFrom).toBe(step);
        expect(
          stepsStarted(r).filter((s) => later.includes(s)),
          "steps after the failed one",
        ).toEqual([]);
      } finally {
        ssh(victim, "systemctl unmask memcached");
      }
      const resumed = await f.time("deploy --from (resume)", () => haGen("deploy-resume", deployArgs("--from", step!)));
      expect(resumed.result.status, explain(resumed)).toBe(0);
      expect(stepsStarted(resumed)[0]).toBe(step);
      const from = facts.stepIds.indexOf(step!);
      expect(
        stepsStarted(resumed).filter((s) => facts.stepIds.indexOf(s) < from),
        "steps before --from",
      ).toEqual([]);
      expect(resumed.runEnd?.ok).toBe(true);
      expect(memcachedVersion(node(victim).ip, spec.memcached.port)).toMatch(/^VERSION /);
    });
  });

  it(FAILOVER, async () => {
    requireDeployed();
    const holders = vipHolders(nodeAddresses);
    expect(holders).toHaveLength(1);
    const holder = node(holders[0]!);
    writeBatch("failover", 200);
    const t0 = Date.now();
    await crash(holder);
    let servedBy = "";
    await f.time("failover: VIP serves SQL again", () =>
      waitFor(
        "the VIP to serve SQL from another node",
        60_000,
        () => {
          const r = vipSql(image.dir, e2eUser, "SELECT @@hostname", { allowFail: true, connectTimeoutS: 2 });
          servedBy = r.status === 0 ? r.stdout.trim() : "";
          return servedBy !== "" && servedBy !== holder.name;
        },
        250,
      ),
    );
    const failoverMs = Date.now() - t0;
    const after = `${(failoverMs / 1000).toFixed(1)} s`;
    const crashed = `VIP holder ${holder.name} crashed`;
    f.notes.failover = `${crashed}; SQL through the VIP answered from ${servedBy} after ${after}`;
    expect(failoverMs, "VIP back within 20 s").toBeLessThan(20_000);
    expect(countThroughVip("failover"), "rows committed before the crash").toBe(200);
    f.sample("one node down");
    await f.time("rejoin: reboot to SSH", () => reboot(holder));
    await f.time("rejoin: Galera 3 + pacemaker 3", () => waitClusterWhole("rejoin", 300_000));
    expect(countThroughVip("failover")).toBe(200);
    f.sample("after rejoin");
  });

  const recoverGalera = (label: string) =>
    haGen(label, ["recover", "galera", LAB_SPEC, ...sshArgs(), "--log-dir", join(LOG_DIR, "recover-runs")]);

  async function vipServesSql(label: string): Promise<void> {
    await f.time(label, () =>
      waitFor(
        "the VIP to serve SQL",
        300_000,
        () => vipSql(image.dir, e2eUser, "SELECT 1", { allowFail: true, connectTimeoutS: 2 }).status === 0,
        1000,
      ),
    );
  }

  async function powerOnAll(label: string): Promise<void> {
    await f.time(label, async () => {
      for (const n of NODES) {
        resetNic(n);
        plug(n);
        await boot(n);
      }
      await Promise.all(NODES.map((n) => waitForSsh(n)));
    });
  }

  it(OUTAGE_A, async () => {
    requireDeployed();
    writeBatch("outage-a", 300);
    await crashAll(NODES);
    await powerOnAll("outage A: boot all to SSH");
    // Run as an operator would right after power-on, while MariaDB may still be starting.
    const r = await f.time("outage A: recover galera", () => recoverGalera("recover-galera-a"));
    expect(r.result.status, explain(r)).toBe(0);
    await f.time("outage A: Galera 3 + pacemaker 3", () => waitClusterWhole("after recovery A", 600_000));
    await vipServesSql("outage A: VIP serves SQL");
    expect(countThroughVip("failover")).toBe(200);
    expect(countThroughVip("outage-a")).toBe(300);
    f.sample("after recovery A");
  });

  it(OUTAGE_B, async () => {
    requireDeployed();
    // controller03 crashes; writes continue on 01+02; 02 then 01 are shut down cleanly, 01 last
    // with the newest rows; then the power goes. After power-on 03 waits for a view it can never
    // restore and 01/02 have no saved view: only a bootstrap from 01 keeps every row.
    const [c1, c2, c3] = [NODES[0]!, NODES[1]!, NODES[2]!];
    writeBatch("outage-b1", 100);
    await crash(c3);
    await waitFor(`Galera size 2 on ${c1.name}`, 120_000, () => galeraStatus(c1.name).wsrep_cluster_size === "2", 1000);
    await vipServesSql("outage B: VIP serves SQL after losing controller03");
    writeBatch("outage-b2", 100);
    ssh(c2.name, "systemctl stop mariadb");
    nodeSql(c1.name, `INSERT INTO e2e.rows (batch, n) VALUES ${ROWS_B3}`);
    ssh(c1.name, "systemctl stop mariadb");
    const grastate = ssh(c1.name, "cat /var/lib/mysql/grastate.dat").stdout;
    expect(grastate, "scenario: controller01 left last and cleanly").toMatch(/safe_to_bootstrap:\s*1/);
    await crashAll([c1, c2]);
    await powerOnAll("outage B: boot all to SSH");
    const r = await f.time("outage B: recover galera", () => recoverGalera("recover-galera-b"));
    expect(r.result.status, explain(r)).toBe(0);
    await f.time("outage B: Galera 3 + pacemaker 3", () => waitClusterWhole("after recovery B", 600_000));
    await vipServesSql("outage B: VIP serves SQL");
    for (const [batch, rows] of [
      ["failover", 200],
      ["outage-a", 300],
      ["outage-b1", 100],
      ["outage-b2", 100],
      ["outage-b3", 100],
    ] as const) {
      expect(countThroughVip(batch), batch).toBe(rows);
    }
    f.sample("after recovery B");
  });

  it("the root network namespace is still untouched after every scenario", () => {
    expect(rootNetSnapshot()).toBe(rootNet);
  });
});
