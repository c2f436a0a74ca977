import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import labSpecInput from "../../examples/lab/cluster.ts";
import { HAPROXY_CHROOT } from "../../generators/haproxy.js";
import { type ClusterSpec, clusterSpecSchema } from "../../src/core/spec/schema.js";
import {
  crmStatus,
  etcdHealthy,
  galeraSynced,
  haproxySocket,
  memcachedVersion,
  nodeSql,
  rabbitStatus,
  vipHolders,
} from "./lab/checks.js";
import { type LabNode, NODES, node, RUN_DIR } from "./lab/config.js";
import { ssh } from "./lab/exec.js";
import { deployArgsFor, explain, haGen, SECRETS } from "./lab/hagen.js";
import { labDown, labUp } from "./lab/lab.js";
import {
  backAfter,
  failuresIn,
  LoadClient,
  type LoadSummary,
  longestSqlGap,
  refusedIn,
  summarize,
  writerWindows,
} from "./lab/load.js";
import { Figures } from "./lab/metrics.js";
import { nodeAddresses } from "./lab/net.js";
import { crash, reboot } from "./lab/nodes.js";
import { waitFor } from "./lab/proc.js";
import { maxDownAtOnce, type Restarts, restartCount, restartsBetween, WATCHED_UNITS } from "./lab/restarts.js";

/**
 * Issue 10, "Proof": drills under continuous load. One deploy of examples/lab, then each round
 * runs a load client (SQL through the VIP from a pool left idle > 60 s, AMQP with confirms and a
 * consumer through the VIP, memcached, etcd with retry; test/e2e/lab/load-client.py) for the whole
 * round while the drills run: a rolling config change of each service redeployed with
 * `ha-gen deploy`, the VIP holder crashed and back, HAProxy killed on the VIP holder, and data lost
 * on one node (etcd data dir, Galera datadir, RabbitMQ reset) repaired by `ha-gen deploy`.
 * Figures come from the client's record of every operation and from the nodes' journals; they are
 * printed in the `e2e-figures` line. HA_GEN_DRILL_ROUNDS (default 1) repeats the rounds on the
 * same cluster. Opt-in: HA_GEN_DRILLS=1 (below).
 */

const ROUNDS = Math.max(1, Number(process.env.HA_GEN_DRILL_ROUNDS ?? "1") || 1);

/** The targets. */
const TARGET = {
  /** Galera nodes / brokers / etcd members restarting at once. */
  membersDownAtOnce: 1,
  /** Longest gap between successful SQL writes per Galera restart and after the VIP holder crashes. */
  sqlGapS: 5,
  haproxyDeathBackS: 15,
};

const LOAD_STARTS = "the load client runs: SQL, AMQP (confirmed and consumed) and etcd answer through the lab network";
const f = new Figures("drills-figures");
const spec: ClusterSpec = clusterSpecSchema.parse(labSpecInput);
/** The spec the drills change, deployed from a JSON copy (the example stays as it is). */
const DRILL_SPEC = join(RUN_DIR, "drill-cluster.json");
const drillInput = JSON.parse(JSON.stringify(labSpecInput)) as Record<string, Record<string, unknown>>;
const e2eUser = { user: "e2e", password: randomBytes(12).toString("hex") };
let deployed = false;
let rabbitPass = "";

const now = () => Date.now() / 1000;
const requireDeployed = () => {
  if (!deployed) throw new Error("the first deploy did not succeed; nothing to drill");
};

function section(key: string): Record<string, unknown> {
  drillInput[key] ??= {};
  return drillInput[key]!;
}

function writeDrillSpec(): void {
  writeFileSync(DRILL_SPEC, `${JSON.stringify(drillInput, null, 2)}\n`);
}

/** Every clustered service whole again: Galera 3 Synced, pacemaker 3, RabbitMQ 3, etcd 3, memcached 3. */
async function settle(what: string, limitMs = 240_000): Promise<void> {
  await waitFor(`${what}: Galera ${NODES.length} Synced everywhere`, limitMs, () =>
    NODES.every((n) => galeraSynced(n.name)),
  );
  await waitFor(
    `${what}: pacemaker ${NODES.length} online, haproxy clone on all`,
    limitMs,
    () => {
      const s = crmStatus(NODES[0]!.name);
      return (
        s.online.length === NODES.length &&
        s.started[`${spec.pacemaker.haproxyResource}-clone`]?.length === NODES.length &&
        s.started[spec.pacemaker.vipResource]?.length === 1
      );
    },
    2000,
  );
  await waitFor(
    `${what}: RabbitMQ ${NODES.length} running on every node`,
    limitMs,
    () => NODES.every((n) => rabbitStatus(n.name).running.length === NODES.length),
    3000,
  );
  await waitFor(`${what}: etcd healthy on every member`, limitMs, () =>
    NODES.every((n) => etcdHealthy(n.ip, spec.etcd.clientPort)),
  );
  await waitFor(`${what}: memcached on every node`, limitMs, () =>
    NODES.every((n) => memcachedVersion(n.ip, spec.memcached.port)),
  );
}

function holder(): LabNode {
  const h = vipHolders(nodeAddresses);
  if (h.length !== 1) throw new Error(`expected one VIP holder, found ${JSON.stringify(h)}`);
  return node(h[0]!);
}

/** A node holding neither the VIP nor (as the first controller) HAProxy's active Galera server. */
function bystander(): LabNode {
  const h = holder().name;
  return [...NODES].reverse().find((n) => n.name !== h && n.name !== NODES[0]!.name)!;
}

/** `maxconn` of haproxy.cfg's global section on a node, and what the running HAProxy says. */
function haproxyMaxconn(n: LabNode): { file: string; running: string } {
  const file =
    ssh(n.name, "awk '/^global/{g=1;next} /^[^ \\t#]/{g=0} g&&$1==\"maxconn\"{print $2}' /etc/haproxy/haproxy.cfg")
      .stdout.trim()
      .split("\n")[0] ?? "";
  const info = haproxySocket(n.name, `${HAPROXY_CHROOT}/stats`, "show info");
  return { file, running: /^Maxconn: (\d+)$/m.exec(info)?.[1] ?? "" };
}

interface DrillResult {
  readonly from: number;
  readonly to: number;
  readonly restarts: Restarts;
  readonly figures: Record<string, unknown>;
}

let round = 0;
let lastSettled = 0;
let load: LoadClient | undefined;

/** Run `action` under load, wait until the cluster is whole, then compute the drill's figures. */
async function drill(name: string, action: () => Promise<Record<string, unknown> | undefined>): Promise<DrillResult> {
  requireDeployed();
  if (!load) throw new Error("the load client is not running");
  // The previous drill ended on a whole cluster a moment ago: checking it again would only cost time.
  if (now() - lastSettled > 30) await settle(`before ${name}`);
  const from = now();
  const extra = await f.time(`r${round} ${name}`, action);
  await f.time(`r${round} ${name}: cluster whole again`, () => settle(`after ${name}`));
  // Let the client see the settled cluster for a moment, so its gaps are closed.
  await new Promise((r) => setTimeout(r, 3000));
  const to = now();
  lastSettled = to;
  const ops = load.ops();
  const restarts = restartsBetween(from - 1, to + 1);
  const downAtOnce = Object.fromEntries(WATCHED_UNITS.map((u) => [u, maxDownAtOnce(restarts, u)]));
  const restartsPerUnit = Object.fromEntries(WATCHED_UNITS.map((u) => [u, restartCount(restarts, u)]));
  const figures = {
    seconds: Math.round(to - from),
    downAtOnce,
    restarts: restartsPerUnit,
    reloads: restarts.reloads.map((r) => `${r.unit}@${r.node}`),
    longestSqlGapS: longestSqlGap(ops, from, to),
    refused: refusedIn(ops, from, to),
    twoWriterSeconds: writerWindows(ops, from, to).secondsWithTwoNodes,
    interleavedWriterSeconds: writerWindows(ops, from, to).interleaved,
    failures: failuresIn(ops, from, to),
    ...extra,
  };
  f.drills[`r${round} ${name}`] = figures;
  return { from, to, restarts, figures };
}

/** A rolling change: one setting of one service changed in the drill spec and deployed. */
async function configDrill(name: string, change: () => void): Promise<DrillResult> {
  return drill(name, async () => {
    change();
    writeDrillSpec();
    const r = await haGen(`r${round}-${name.replace(/\W+/g, "-")}`, deployArgsFor(DRILL_SPEC));
    expect(r.result.status, explain(r)).toBe(0);
    return { deployS: Math.round(r.result.ms / 100) / 10 };
  });
}

function expectMembersOneAtATime(d: DrillResult, unit: "mariadb" | "rabbitmq-server" | "etcd"): void {
  const down = (d.figures.downAtOnce as Record<string, number>)[unit];
  expect.soft(down, `${unit} members restarting at once`).toBeLessThanOrEqual(TARGET.membersDownAtOnce);
}

/** The drill restarted `unit` on every node (the change reached them all: the drill is real). */
function expectRestartedEverywhere(d: DrillResult, unit: string): void {
  const n = (d.figures.restarts as Record<string, number>)[unit];
  expect(n, `${unit} restarts on the ${NODES.length} nodes`).toBeGreaterThanOrEqual(NODES.length);
}

const summaries: LoadSummary[] = [];

// Opt-in (HA_GEN_DRILLS=1): a round takes ~10 minutes, and .ci/run does not run them yet (the
// Galera option drill missed its 5 s gap in one of three rounds; test/e2e/README.md).
const drills = process.env.HA_GEN_DRILLS === "1" ? describe.sequential : describe.skip;

drills("container lab: drills under continuous load", () => {
  beforeAll(async () => {
    await labUp(f);
    f.startSampler();
    rmSync(SECRETS, { force: true });
    writeDrillSpec();
    // HA_GEN_DRILL_FIRST_CLI: another ha-gen build forms the cluster, as when an operator upgrades
    // ha-gen on a running cluster; the drills then deploy with the ha-gen under test.
    const firstCli = process.env.HA_GEN_DRILL_FIRST_CLI;
    if (firstCli) f.notes.firstDeployCli = firstCli;
    const r = await f.time("deploy (from nothing)", () =>
      haGen("drills-deploy", deployArgsFor(DRILL_SPEC), undefined, firstCli ? resolve(firstCli) : undefined),
    );
    if (r.result.status !== 0) throw new Error(`first deploy failed: ${explain(r)}`);
    if (firstCli) {
      // The upgrade itself, before the load and the drills: its changes are not a drill's.
      const up = await f.time("deploy (upgrade to the ha-gen under test)", () =>
        haGen("drills-upgrade", deployArgsFor(DRILL_SPEC)),
      );
      if (up.result.status !== 0) throw new Error(`upgrade deploy failed: ${explain(up)}`);
    }
    rabbitPass = (parseYaml(readFileSync(SECRETS, "utf8")) as Record<string, string>).rabbit_pass!;
    // Test data (not part of the product): the client's database, account and table.
    nodeSql(
      NODES[0]!.name,
      `CREATE DATABASE IF NOT EXISTS e2e;
       CREATE USER IF NOT EXISTS 'e2e'@'198.51.100.%' IDENTIFIED BY '${e2eUser.password}';
       GRANT ALL ON e2e.* TO 'e2e'@'198.51.100.%';
       CREATE TABLE IF NOT EXISTS e2e.load (run VARCHAR(32) NOT NULL, seq BIGINT NOT NULL, conn INT NOT NULL,
         node VARCHAR(64) NOT NULL, at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), PRIMARY KEY (run, seq));`,
    );
    deployed = true;
  });

  afterAll(async () => {
    f.stopSampler();
    try {
      await load?.stop().catch(() => undefined);
      f.notes.rounds = ROUNDS;
      f.drills.targets = targetsFigure();
      if (process.env.HA_GEN_LAB_KEEP !== "1") await labDown(f);
    } finally {
      f.save();
      process.stdout.write(`\n${f.report()}\n`);
    }
  });

  for (let r = 1; r <= ROUNDS; r++) {
    describe(`round ${r} of ${ROUNDS}`, () => {
      it(LOAD_STARTS, async () => {
        requireDeployed();
        round = r;
        load = new LoadClient(`round-${r}`);
        const amqp = spec.haproxy.services.find((s) => (s.backendPort ?? s.port) === spec.rabbitmq.port);
        expect(amqp, "an HAProxy listener for AMQP on the VIP").toBeDefined();
        await load.start({
          sqlUser: e2eUser.user,
          sqlPass: e2eUser.password,
          amqpPort: amqp!.port,
          amqpUser: spec.rabbitmq.user,
          amqpPass: rabbitPass,
          amqpVhost: spec.rabbitmq.vhost,
          memcachedPort: spec.memcached.port,
          etcdPort: spec.etcd.clientPort,
        });
      });

      it("rolling config change: a Galera option; one node at a time, writes go on", async () => {
        const d = await configDrill("galera option", () => {
          section("galera").wsrepSlaveThreads = spec.galera.wsrepSlaveThreads + r;
        });
        expectRestartedEverywhere(d, "mariadb");
        expectMembersOneAtATime(d, "mariadb");
        expect
          .soft(d.figures.longestSqlGapS as number, "longest gap between SQL writes (s)")
          .toBeLessThanOrEqual(TARGET.sqlGapS);
      });

      it("rolling config change: rabbitmq.conf; one broker at a time", async () => {
        const d = await configDrill("rabbitmq.conf", () => {
          section("rabbitmq").partitionHandling = r % 2 === 1 ? "autoheal" : "pause_minority";
        });
        expectRestartedEverywhere(d, "rabbitmq-server");
        expectMembersOneAtATime(d, "rabbitmq-server");
      });

      it("rolling config change: etcd.conf; one member at a time", async () => {
        const d = await configDrill("etcd.conf", () => {
          section("etcd").token = `ha-gen-lab-drill-${r}`;
        });
        expectRestartedEverywhere(d, "etcd");
        expectMembersOneAtATime(d, "etcd");
      });

      it("rolling config change: a memcached option", async () => {
        const d = await configDrill("memcached option", () => {
          section("memcached").maxConnections = spec.memcached.maxConnections + r;
        });
        expectRestartedEverywhere(d, "memcached");
      });

      it("rolling config change: haproxy.cfg is reloaded, no connection refused", async () => {
        const d = await configDrill("haproxy.cfg", () => {
          section("haproxy").maxconn = spec.haproxy.maxconn + r;
        });
        const seen = Object.fromEntries(NODES.map((n) => [n.name, haproxyMaxconn(n)]));
        f.drills[`r${round} haproxy.cfg`] = { ...d.figures, maxconn: seen };
        for (const n of NODES) {
          expect
            .soft(seen[n.name]!.running, `${n.name}: the running HAProxy has the new global maxconn`)
            .toBe(seen[n.name]!.file);
        }
        expect.soft(d.figures.refused, "connections refused during the HAProxy change").toBe(0);
        expect.soft((d.figures.restarts as Record<string, number>).haproxy, "HAProxy restarts (reload only)").toBe(0);
      });

      it("HAProxy killed on the VIP holder: service back within 15 s", async () => {
        let killedAt = 0;
        const d = await drill("haproxy killed", async () => {
          const h = holder();
          killedAt = now();
          ssh(h.name, "systemctl kill -s SIGKILL haproxy.service");
          // Service back: a fresh connection through the VIP succeeds and keeps succeeding.
          await waitFor("SQL connections through the VIP again", 180_000, () => {
            const back = backAfter(load!.ops(), "connect", killedAt, now());
            return back !== null && now() - killedAt > (back ?? 0) + 5;
          });
          return { holder: h.name, serviceBackS: backAfter(load!.ops(), "connect", killedAt, now()) };
        });
        expect
          .soft(d.figures.serviceBackS as number, "HAProxy death → service back (s)")
          .toBeLessThanOrEqual(TARGET.haproxyDeathBackS);
      });

      it("data loss: an etcd member's data dir wiped; ha-gen deploy repairs it", async () => {
        const victim = bystander();
        await drill("etcd data dir wiped", async () => {
          const dir = spec.etcd.dataDir;
          ssh(victim.name, `systemctl stop etcd\nrm -rf -- '${dir}'\nsystemctl start --no-block etcd || true`);
          const r = await haGen(`r${round}-etcd-repair`, deployArgsFor(DRILL_SPEC));
          expect(r.result.status, explain(r)).toBe(0);
          return { victim: victim.name };
        });
        const members = ssh(NODES[0]!.name, `ETCDCTL_API=3 etcdctl member list -w json`).stdout;
        expect((JSON.parse(members) as { members: unknown[] }).members).toHaveLength(NODES.length);
      });

      it("data loss: a Galera node's datadir wiped; ha-gen deploy rejoins it by state transfer", async () => {
        const victim = bystander();
        await drill("galera datadir wiped", async () => {
          ssh(victim.name, "systemctl stop mariadb\nfind /var/lib/mysql -mindepth 1 -delete");
          const r = await haGen(`r${round}-galera-repair`, deployArgsFor(DRILL_SPEC));
          expect(r.result.status, explain(r)).toBe(0);
          return { victim: victim.name };
        });
        expect(galeraSynced(victim.name)).toBe(true);
      });

      it("data loss: a RabbitMQ node reset; ha-gen deploy rejoins it", async () => {
        const victim = bystander();
        await drill("rabbitmq reset", async () => {
          ssh(victim.name, "rabbitmqctl stop_app\nrabbitmqctl force_reset\nrabbitmqctl start_app", {
            timeoutMs: 180_000,
          });
          const r = await haGen(`r${round}-rabbitmq-repair`, deployArgsFor(DRILL_SPEC));
          expect(r.result.status, explain(r)).toBe(0);
          return { victim: victim.name };
        });
        expect(rabbitStatus(victim.name).running).toHaveLength(NODES.length);
      });

      it("VIP holder crashes: writes go on within 5 s; the node comes back and rejoins (failback)", async () => {
        let crashedAt = 0;
        let crashed = "";
        const d = await drill("VIP holder crash + failback", async () => {
          const h = holder();
          crashed = h.name;
          crashedAt = now();
          await crash(h);
          await waitFor(
            "an SQL write of a pooled connection committed by another node",
            120_000,
            () =>
              load!
                .ops()
                .some((o) => o.k === "sql" && o.ok && (o.conn ?? 0) >= 0 && o.t > crashedAt && o.node !== h.name),
            500,
          );
          const until = now();
          const sqlGapAfterCrashS = longestSqlGap(load!.ops(), crashedAt, until);
          // Informative: pooled connections that were on the crashed node only notice it at their
          // read timeout (5 s) or when a retransmission meets the VIP's new holder (a reset).
          const pooled = load!.ops().filter((o) => o.k !== "sql" || (o.conn ?? 0) >= 0);
          const pooledSqlGapAfterCrashS = longestSqlGap(pooled, crashedAt, until);
          await reboot(h);
          return { crashed: h.name, sqlGapAfterCrashS, pooledSqlGapAfterCrashS };
        });
        expect(crashed).not.toBe("");
        expect
          .soft(d.figures.sqlGapAfterCrashS as number, "longest SQL gap after the crash (s)")
          .toBeLessThanOrEqual(TARGET.sqlGapS);
      });

      it("round figures: no committed row, confirmed message or etcd write lost; never two writers", async () => {
        requireDeployed();
        await load!.stop();
        const s = summarize(load!.ops());
        load = undefined;
        summaries.push(s);
        f.drills[`r${r} load`] = s;
        expect(s.sqlWrites, "the client committed SQL writes").toBeGreaterThan(100);
        expect(s.amqpConfirmed, "the client had AMQP messages confirmed").toBeGreaterThan(100);
        expect(s.sqlIdleReuses, "pool members were used again after > 60 s idle").toBeGreaterThan(0);
        expect.soft(s.sqlRowsLost, "committed SQL rows lost").toBe(0);
        expect.soft(s.amqpLost, "confirmed AMQP messages lost").toBe(0);
        expect.soft(s.etcdFailedAfterRetry, "etcd writes failed after client retry").toBe(0);
        expect.soft(s.etcdLost, "acknowledged etcd writes lost").toBe(0);
        expect.soft(s.writers.interleaved, `two writers at once: ${s.writers.examples.join("; ")}`).toBe(0);
        expect.soft(s.sqlIdleReuseFailures, "pooled connections cut while idle > 60 s").toBe(0);
      });
    });
  }
});

/** Measured (worst over the rounds) against the targets, for the e2e-figures line and the README. */
function targetsFigure(): Record<string, { measured: unknown; target: string }> {
  const drills = Object.entries(f.drills).filter(([k]) => /^r\d+ /.test(k) && !k.endsWith(" load"));
  const worst = (pick: (name: string, v: Record<string, unknown>) => unknown): number | null => {
    const vals = drills
      .map(([k, v]) => pick(k.replace(/^r\d+ /, ""), v as Record<string, unknown>))
      .filter((x): x is number => typeof x === "number");
    return vals.length > 0 ? Math.max(...vals) : null;
  };
  const sum = (k: keyof LoadSummary) =>
    summaries.length > 0 ? summaries.reduce((a, s) => a + Number(s[k] ?? 0), 0) : null;
  const down = (u: string) =>
    worst((_, v) => (v.downAtOnce as Record<string, number> | undefined)?.[u] ?? undefined) ?? null;
  return {
    sqlRowsLost: { measured: sum("sqlRowsLost"), target: "0" },
    amqpConfirmedLost: { measured: sum("amqpLost"), target: "0" },
    etcdFailedAfterRetry: { measured: sum("etcdFailedAfterRetry"), target: "0" },
    galeraNodesRestartingAtOnce: { measured: down("mariadb"), target: "≤ 1" },
    brokersRestartingAtOnce: { measured: down("rabbitmq-server"), target: "≤ 1" },
    etcdMembersRestartingAtOnce: { measured: down("etcd"), target: "≤ 1" },
    twoWriterWindows: {
      measured: summaries.length > 0 ? summaries.reduce((a, s) => a + s.writers.interleaved, 0) : null,
      target: "0",
    },
    secondsWithTwoCommittingNodes: {
      measured: summaries.length > 0 ? summaries.reduce((a, s) => a + s.writers.secondsWithTwoNodes, 0) : null,
      target: "(informative: includes clean switches)",
    },
    sqlGapPerGaleraRestartS: {
      measured: worst((n, v) => (n === "galera option" ? v.longestSqlGapS : undefined)),
      target: "≤ 5",
    },
    sqlGapAfterVipCrashS: { measured: worst((_, v) => v.sqlGapAfterCrashS), target: "≤ 5" },
    haproxyDeathServiceBackS: { measured: worst((_, v) => v.serviceBackS), target: "≤ 15" },
    refusedDuringHaproxyReload: {
      measured: worst((n, v) => (n === "haproxy.cfg" ? v.refused : undefined)),
      target: "0",
    },
    pooledConnectionsCutWhenIdle: { measured: sum("sqlIdleReuseFailures"), target: "0" },
  };
}
