import type { Artifact } from "../src/core/artifact.js";
import { ConnectError, HaGenError } from "../src/core/errors.js";
import { sha256, STATUS_FORMAT, type StatusHealth, type StatusItem, type StatusReport } from "../src/core/formats.js";
import type { Cluster } from "../src/core/model.js";
import { HAPROXY_STATS_SOCKET, SECRETS_ENV } from "../src/core/os.js";
import { secretEnvName } from "../src/core/secrets.js";
import type { NodeSpec } from "../src/core/spec/schema.js";
import { Redactor } from "./redact.js";
import { asRoot, forEachLimit, inspect, lastLines, modeString, type RemoteFileState } from "./remote-fs.js";
import { statusScript } from "./scripts.js";
import type { Connection, Transport } from "./transport.js";

/**
 * `ha-gen status`: one read-only look at the whole cluster. Every node is asked at once over the
 * deploy transport: its services (deploy/templates/status.sh.njk, each service in the background)
 * and the digests of the files ha-gen renders for it (drift: secret files too, by digest only).
 * The judgement is here (evaluateStatus, pure): an item is ok, a problem, or unknown (could not be
 * asked); the cluster is healthy, degraded (a problem) or unknown (no problem seen, not all seen).
 */

export interface StatusOptions {
  readonly cluster: Cluster;
  /** What ha-gen renders for the cluster: compared with the nodes' files. Without it no drift is reported. */
  readonly artifacts?: readonly Artifact[];
  readonly transport: Transport;
  readonly secrets?: Iterable<string>;
  readonly nodes?: readonly string[];
  readonly concurrency?: number;
  /** Bound on one node's answers. Default 20 s. */
  readonly timeoutMs?: number;
}

/** What one node answered: its status sections and file states, or why not. */
export interface NodeAnswer {
  readonly unreachable?: string;
  readonly sections?: ReadonlyMap<string, readonly string[]>;
  readonly error?: string;
  readonly files?: readonly { readonly artifact: Artifact; readonly state: RemoteFileState }[];
  readonly filesError?: string;
}

/**
 * `ha-gen status`: one read-only view of the cluster (Galera, clustercheck, RabbitMQ, etcd,
 * memcached, pacemaker, HAProxy, chrony, and drift of every rendered file by digest), all nodes at once.
 */
export async function status(o: StatusOptions): Promise<StatusReport> {
  const t0 = Date.now();
  const redactor = new Redactor(o.secrets ?? []);
  const nodes = o.cluster.nodes.filter((n) => !o.nodes || o.nodes.includes(n.hostname));
  const answers = new Map<string, NodeAnswer>();
  const conns: Connection[] = [];
  const queuesOn = o.cluster.controllers.find((c) => nodes.includes(c))?.hostname;
  try {
    await forEachLimit(nodes, o.concurrency ?? 16, async (node) => {
      let conn: Connection;
      try {
        conn = await o.transport.connect(node.hostname);
      } catch (e) {
        if (e instanceof HaGenError && !(e instanceof ConnectError)) throw e;
        answers.set(node.hostname, { unreachable: (e as Error).message });
        return;
      }
      conns.push(conn);
      const files = (o.artifacts ?? []).filter((a) => a.node === node.hostname);
      const [services, drift] = await Promise.all([
        ask(o, conn, node, node.hostname === queuesOn),
        files.length === 0 ? Promise.resolve({}) : checkFiles(o, conn, node.hostname, files),
      ]);
      answers.set(node.hostname, { ...services, ...drift });
    });
  } finally {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    await o.transport.close?.().catch(() => undefined);
  }
  const items = evaluateStatus(o.cluster, answers, { drift: o.artifacts !== undefined }).map((i) => ({
    ...i,
    summary: redactor.redact(i.summary),
  }));
  return { format: STATUS_FORMAT, cluster: o.cluster.spec.name, health: healthOf(items), ms: Date.now() - t0, items };
}

/** The cluster's health from its items: degraded when one has a problem, unknown when one could not be asked. */
export function healthOf(items: readonly StatusItem[]): StatusHealth {
  if (items.some((i) => i.state === "problem")) return "degraded";
  if (items.some((i) => i.state === "unknown")) return "unknown";
  return "healthy";
}

async function ask(o: StatusOptions, conn: Connection, node: NodeSpec, queues: boolean): Promise<NodeAnswer> {
  const { spec } = o.cluster;
  const script = statusScript({
    address: node.addresses.management,
    secretsEnv: SECRETS_ENV,
    rootPasswordVar: secretEnvName("mariadb_root_pass"),
    clustercheckPort: spec.clustercheck.port,
    memcachedPort: spec.memcached.port,
    etcdEndpoint: `http://${node.addresses.management}:${spec.etcd.clientPort}`,
    statsSocket: HAPROXY_STATS_SOCKET,
    queues: queues ? 1 : 0,
    rabbitUser: spec.rabbitmq.user,
    rabbitPasswordVar: secretEnvName("rabbit_pass"),
    managementPort: spec.rabbitmq.managementPlugin ? spec.rabbitmq.managementPort : 0,
    chronyService: o.cluster.os.chronyService,
    controller: node.roles.includes("controller") ? 1 : 0,
  });
  const r = await conn
    .exec(asRoot(conn, ["bash", "-c", script, "ha-gen-status"]), { timeoutMs: o.timeoutMs ?? 20_000 })
    .catch((e: Error) => ({ code: null, stdout: "", stderr: e.message }));
  if (r.code !== 0) {
    const why = r.code === null ? "timed out or lost the connection" : `exit ${r.code}`;
    return { error: `${why}: ${lastLines(r.stderr || r.stdout, 2)}` };
  }
  return { sections: parseSections(r.stdout) };
}

async function checkFiles(
  o: StatusOptions,
  conn: Connection,
  node: string,
  files: readonly Artifact[],
): Promise<Pick<NodeAnswer, "files" | "filesError">> {
  try {
    const states = await inspect(conn, node, files, {
      clean: false,
      mkdir: false,
      timeoutMs: o.timeoutMs ?? 20_000,
      root: "",
    });
    return { files: files.map((artifact, i) => ({ artifact, state: states[i]! })) };
  } catch (e) {
    return { filesError: (e as Error).message };
  }
}

export function parseSections(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const line of text.split("\n")) {
    const m = /^@section (\S+)$/.exec(line);
    if (m) {
      cur = [];
      out.set(m[1]!, cur);
    } else if (cur && line !== "") cur.push(line);
  }
  return out;
}

type Item = StatusItem;
type Facts = Item["facts"];

/** A section's failure line (`!missing`, `!down`, `!timeout`) as an item state, or undefined when it answered. */
function failure(lines: readonly string[] | undefined): { state: Item["state"]; text: string } | undefined {
  if (!lines) return { state: "unknown", text: "no answer" };
  const bad = lines.find((l) => l.startsWith("!"));
  if (!bad) return lines.length === 0 ? { state: "problem", text: "no answer" } : undefined;
  if (bad.startsWith("!missing ")) return { state: "unknown", text: `${bad.slice(9)} is not installed` };
  // Not running on purpose (e.g. chrony where it may not set the clock): said, not judged.
  if (bad.startsWith("!skipped ")) return { state: "ok", text: bad.slice(9) };
  if (bad === "!timeout") return { state: "problem", text: "did not answer within 8 s" };
  return { state: "problem", text: `not answering: ${bad.replace(/^!down ?/, "") || "no details"}` };
}

/**
 * A node's answer for one component as key → value lines; or, when it gave none (not installed,
 * down, timed out), undefined after recording that as the component's item for the node.
 */
function answered(
  items: Item[],
  component: Item["component"],
  node: string,
  lines: readonly string[] | undefined,
): Map<string, string> | undefined {
  const f = failure(lines);
  if (!f) return tabbed(lines ?? []);
  items.push({ component, node, state: f.state, summary: f.text, facts: {} });
  return undefined;
}

function tabbed(lines: readonly string[]): Map<string, string> {
  return new Map(
    lines.map((l) => {
      const i = l.indexOf("\t");
      return i < 0 ? [l, ""] : [l.slice(0, i), l.slice(i + 1)];
    }),
  );
}

/** etcd's 64-bit ids as strings: JSON numbers would round them. */
function parseEtcdJson(text: string): unknown {
  try {
    return JSON.parse(text.replace(/("(?:ID|member_id|leader|cluster_id)":\s*)(\d+)/g, '$1"$2"'));
  } catch {
    return undefined;
  }
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(
      text.slice(Math.max(0, Math.min(...["{", "["].map((c) => text.indexOf(c)).filter((i) => i >= 0)))),
    );
  } catch {
    return undefined;
  }
}

/** Pure: the status items from every node's answers. */
export function evaluateStatus(
  cluster: Cluster,
  given: ReadonlyMap<string, NodeAnswer>,
  o: { readonly drift: boolean },
): Item[] {
  const items: Item[] = [];
  // Spec order, whatever order the nodes answered in.
  const ordered = new Map(
    cluster.nodes.filter((n) => given.has(n.hostname)).map((n) => [n.hostname, given.get(n.hostname)!] as const),
  );
  const answers: ReadonlyMap<string, NodeAnswer> = ordered;
  const controllers = cluster.controllers.map((c) => c.hostname).filter((n) => answers.has(n));
  const sectionOf = (node: string, s: string) => answers.get(node)?.sections?.get(s);
  const asked = (node: string) => {
    const a = answers.get(node);
    return a !== undefined && a.sections !== undefined;
  };
  for (const [node, a] of answers) {
    if (a.unreachable !== undefined) {
      items.push({
        component: "connect",
        node,
        state: "unknown",
        summary: `cannot connect: ${a.unreachable}`,
        facts: {},
      });
    } else if (a.error !== undefined) {
      items.push({ component: "connect", node, state: "unknown", summary: `the probe failed: ${a.error}`, facts: {} });
    }
  }
  const haproxyRows = new Map<string, Record<string, string>[]>();
  for (const node of controllers) {
    if (!asked(node)) continue;
    const stats = sectionOf(node, "haproxy");
    if (stats && !failure(stats)) haproxyRows.set(node, parseCsv(stats));
  }
  items.push(...galeraItems(cluster, controllers, sectionOf, asked, haproxyRows));
  for (const node of controllers) {
    if (!asked(node)) continue;
    const f = failure(sectionOf(node, "clustercheck"));
    const code = tabbed(sectionOf(node, "clustercheck") ?? []).get("status");
    items.push(
      f
        ? { component: "clustercheck", node, state: f.state, summary: f.text, facts: {} }
        : {
            component: "clustercheck",
            node,
            state: code === "200" ? "ok" : "problem",
            summary: code === "200" ? "200 (synced, in rotation)" : `${code} (HAProxy takes this node out)`,
            facts: { status: Number(code) },
          },
    );
  }
  items.push(...rabbitItems(cluster, controllers, sectionOf, asked));
  items.push(...etcdItems(cluster, controllers, sectionOf, asked));
  for (const node of controllers) {
    if (!asked(node)) continue;
    const lines = sectionOf(node, "memcached");
    const f = failure(lines);
    const v = tabbed(lines ?? []).get("version") ?? "";
    items.push(
      f
        ? { component: "memcached", node, state: f.state, summary: f.text, facts: {} }
        : v.startsWith("VERSION ")
          ? { component: "memcached", node, state: "ok", summary: `answers (${v})`, facts: { version: v.slice(8) } }
          : { component: "memcached", node, state: "problem", summary: `unexpected answer ${v}`, facts: {} },
    );
  }
  const pacemaker = pacemakerItems(cluster, controllers, sectionOf, asked);
  items.push(...pacemaker);
  const standby = new Set(pacemaker.flatMap((i) => (i.node ? [] : ((i.facts.standby as string[] | undefined) ?? []))));
  items.push(...haproxyItems(cluster, controllers, sectionOf, asked, haproxyRows, standby));
  for (const [node, a] of answers) {
    if (!a.sections) continue;
    const c = answered(items, "chrony", node, a.sections.get("chrony"));
    if (!c) continue;
    const t = (c.get("tracking") ?? "").split(",");
    const offset = Number(t[4]);
    const source = t[1] ?? "";
    const leap = t[13] ?? "";
    const ok = leap === "Normal" && Math.abs(offset) < 1;
    items.push({
      component: "chrony",
      node,
      state: ok ? "ok" : "problem",
      summary:
        `offset ${Number.isFinite(offset) ? offset.toFixed(6) : "?"} s, ` +
        `source ${source || "none"}, ${leap || "?"}`,
      facts: { offsetSeconds: Number.isFinite(offset) ? offset : "unknown", source, leap },
    });
  }
  if (o.drift) items.push(...driftItems(answers));
  return items;
}

type SectionOf = (node: string, s: string) => readonly string[] | undefined;

function galeraItems(
  cluster: Cluster,
  controllers: readonly string[],
  sectionOf: SectionOf,
  asked: (n: string) => boolean,
  haproxyRows: ReadonlyMap<string, Record<string, string>[]>,
): Item[] {
  const items: Item[] = [];
  const want = cluster.controllers.length;
  const uuids = new Set<string>();
  for (const node of controllers) {
    if (!asked(node)) continue;
    const v = answered(items, "galera", node, sectionOf(node, "galera"));
    if (!v) continue;
    const state = v.get("wsrep_local_state_comment") ?? "?";
    const size = Number(v.get("wsrep_cluster_size"));
    const uuid = v.get("wsrep_cluster_state_uuid") ?? "";
    const seqno = Number(v.get("wsrep_last_committed"));
    const primary = v.get("wsrep_cluster_status") ?? "?";
    const ready = v.get("wsrep_ready") ?? "?";
    if (uuid) uuids.add(uuid);
    const ok = state === "Synced" && primary === "Primary" && size === want && ready === "ON";
    const wrong = [
      ...(state !== "Synced" ? [`state ${state}`] : []),
      ...(primary !== "Primary" ? [`component ${primary}`] : []),
      ...(size !== want ? [`cluster size ${size} of ${want}`] : []),
      ...(ready !== "ON" ? [`wsrep_ready ${ready}`] : []),
    ];
    items.push({
      component: "galera",
      node,
      state: ok ? "ok" : "problem",
      summary: ok ? `Synced, Primary, size ${size}, seqno ${seqno}` : `${wrong.join(", ")} (seqno ${seqno})`,
      facts: {
        wsrep_local_state_comment: state,
        wsrep_cluster_size: size,
        wsrep_cluster_state_uuid: uuid,
        seqno,
        wsrep_cluster_status: primary,
      },
    });
  }
  // Cluster-wide: one history, and the server HAProxy sends writes to (the VIP holder's view first).
  const galeraPort = cluster.spec.galera.port;
  const svc = cluster.spec.haproxy.services.find((s) => (s.backendPort ?? s.port) === galeraPort);
  const writers = new Map<string, string>();
  if (svc) {
    for (const [node, rows] of haproxyRows) {
      const servers = rows.filter((r) => r.pxname === svc.name && r.svname !== "FRONTEND" && r.svname !== "BACKEND");
      const up = (bck: string) => servers.find((r) => r.bck === bck && r.status?.startsWith("UP"));
      const w = up("0") ?? up("1");
      writers.set(node, w?.svname ?? "");
    }
  }
  const writerSet = new Set(writers.values());
  const facts: Facts = { uuids: [...uuids], writer: [...writerSet].join(",") };
  if (uuids.size > 1) {
    items.push({
      component: "galera",
      state: "problem",
      summary: `nodes report different cluster UUIDs (${[...uuids].join(", ")}): split histories`,
      facts,
    });
  } else if (svc && writers.size > 0 && writerSet.has("")) {
    items.push({
      component: "galera",
      state: "problem",
      summary: "HAProxy has no Galera server UP to send writes to",
      facts,
    });
  } else if (writerSet.size > 1) {
    const seen = [...writers].map(([n, w]) => `${n}→${w}`).join(", ");
    items.push({
      component: "galera",
      state: "problem",
      summary: `HAProxy instances disagree on the writer: ${seen}`,
      facts,
    });
  } else {
    const w = [...writerSet][0];
    const uuid = [...uuids][0];
    items.push({
      component: "galera",
      state: uuid ? "ok" : "unknown",
      summary: `${uuid ? `cluster ${uuid}` : "no node answered"}${w ? `; HAProxy sends writes to ${w}` : ""}`,
      facts,
    });
  }
  return items;
}

function rabbitItems(
  cluster: Cluster,
  controllers: readonly string[],
  sectionOf: SectionOf,
  asked: (n: string) => boolean,
): Item[] {
  const items: Item[] = [];
  const want = cluster.controllers.map((c) => `rabbit@${c.hostname}`);
  let view: { running: string[]; partitions: string[]; alarms: string[] } | undefined;
  let queues: number | undefined;
  for (const node of controllers) {
    if (!asked(node)) continue;
    const t = answered(items, "rabbitmq", node, sectionOf(node, "rabbitmq"));
    if (!t) continue;
    const j = (rabbitFromApi(t.get("api-nodes")) ?? parseJson(t.get("cluster"))) as
      | { running_nodes?: string[]; partitions?: unknown; alarms?: unknown }
      | undefined;
    if (!j) {
      items.push({ component: "rabbitmq", node, state: "unknown", summary: "unreadable cluster_status", facts: {} });
      continue;
    }
    const p = j.partitions ?? [];
    const a = j.alarms ?? [];
    const running = (j.running_nodes ?? []).map(String);
    const text = (x: unknown) => (typeof x === "string" ? x : JSON.stringify(x));
    const partitions = Array.isArray(p) ? p.map(text) : Object.keys(p as object);
    const alarms = Array.isArray(a) ? a.map(text) : [];
    items.push({
      component: "rabbitmq",
      node,
      state: "ok",
      summary: `running, sees ${running.length} running node(s)`,
      facts: { running_nodes: running },
    });
    view ??= { running, partitions, alarms };
    const q = parseJson(t.get("queues"));
    if (Array.isArray(q)) queues = q.length;
    const overview = parseJson(t.get("api-overview")) as { object_totals?: { queues?: number } } | undefined;
    if (typeof overview?.object_totals?.queues === "number") queues = overview.object_totals.queues;
  }
  if (!view) {
    items.push({ component: "rabbitmq", state: "unknown", summary: "no node answered", facts: {} });
    return items;
  }
  const missing = want.filter((n) => !view!.running.includes(n));
  const problems = [
    ...(missing.length > 0 ? [`not running: ${missing.join(", ")}`] : []),
    ...(view.partitions.length > 0 ? [`partitions: ${view.partitions.join(", ")}`] : []),
    ...(view.alarms.length > 0 ? [`alarms: ${view.alarms.join(", ")}`] : []),
  ];
  const q = queues === undefined ? "" : `, ${queues} queue(s)`;
  items.push({
    component: "rabbitmq",
    state: problems.length ? "problem" : "ok",
    summary: problems.length
      ? problems.join("; ")
      : `${view.running.length}/${want.length} running, no partitions, no alarms${q}`,
    facts: {
      running_nodes: view.running,
      partitions: view.partitions,
      alarms: view.alarms,
      ...(queues !== undefined ? { queues } : {}),
    },
  });
  return items;
}

/** The management API's /api/nodes in cluster_status's terms (running nodes, partitions, alarms). */
function rabbitFromApi(text: string | undefined) {
  const nodes = parseJson(text) as
    | { name?: string; running?: boolean; partitions?: string[]; mem_alarm?: boolean; disk_free_alarm?: boolean }[]
    | undefined;
  if (!Array.isArray(nodes)) return undefined;
  return {
    running_nodes: nodes.filter((n) => n.running).map((n) => String(n.name)),
    partitions: nodes.flatMap((n) => (n.partitions ?? []).map((p) => `${n.name} cannot reach ${p}`)),
    alarms: nodes.flatMap((n) => [
      ...(n.mem_alarm ? [`${n.name}: memory`] : []),
      ...(n.disk_free_alarm ? [`${n.name}: disk`] : []),
    ]),
  };
}

interface EtcdStatus {
  Endpoint?: string;
  Status?: { header?: { member_id?: string }; leader?: string; dbSize?: number; version?: string };
}

function etcdItems(
  cluster: Cluster,
  controllers: readonly string[],
  sectionOf: SectionOf,
  asked: (n: string) => boolean,
): Item[] {
  const items: Item[] = [];
  const names = new Map<string, string>();
  let memberCount: number | undefined;
  const leaders = new Map<string, string>();
  for (const node of controllers) {
    if (!asked(node)) continue;
    const t = answered(items, "etcd", node, sectionOf(node, "etcd"));
    if (!t) continue;
    const st = (parseEtcdJson(t.get("status") ?? "") as EtcdStatus[] | undefined)?.[0]?.Status;
    const members = parseEtcdJson(t.get("members") ?? "") as { members?: { ID?: string; name?: string }[] } | undefined;
    for (const m of members?.members ?? []) if (m.ID) names.set(m.ID, m.name || m.ID);
    if (members?.members) memberCount ??= members.members.length;
    const health = parseEtcdJson(t.get("health") ?? "") as { health?: boolean; error?: string }[] | undefined;
    const healthy = health?.[0]?.health === true;
    if (st?.leader) leaders.set(node, st.leader);
    items.push({
      component: "etcd",
      node,
      state: healthy && st ? "ok" : "problem",
      summary: healthy
        ? `healthy, db ${st?.dbSize ?? "?"} bytes, version ${st?.version ?? "?"}`
        : `unhealthy: ${health?.[0]?.error ?? "no health answer"}`,
      facts: {
        healthy,
        ...(st?.dbSize !== undefined ? { dbSize: st.dbSize } : {}),
        ...(st?.leader ? { leader: st.leader } : {}),
        ...(st?.header?.member_id ? { memberId: st.header.member_id } : {}),
      },
    });
  }
  const leaderIds = new Set(leaders.values());
  const leaderName = (id: string) => names.get(id) ?? id;
  const want = cluster.controllers.length;
  if (memberCount === undefined) {
    items.push({ component: "etcd", state: "unknown", summary: "no member answered", facts: {} });
  } else {
    const problems = [
      ...(memberCount !== want ? [`${memberCount} members, the spec has ${want}`] : []),
      ...(leaderIds.size === 0 || leaderIds.has("0") ? ["no leader"] : []),
      ...(leaderIds.size > 1 ? [`members disagree on the leader: ${[...leaderIds].map(leaderName).join(", ")}`] : []),
    ];
    const leader = [...leaderIds][0];
    items.push({
      component: "etcd",
      state: problems.length ? "problem" : "ok",
      summary: problems.length
        ? problems.join("; ")
        : `${memberCount} members, leader ${leader ? leaderName(leader) : "?"}, ${leaders.size} answering`,
      facts: { members: [...names.values()], leader: leader ? leaderName(leader) : "" },
    });
  }
  return items;
}

const attr = (tag: string, name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];

function pacemakerItems(
  cluster: Cluster,
  controllers: readonly string[],
  sectionOf: SectionOf,
  asked: (n: string) => boolean,
): Item[] {
  const items: Item[] = [];
  let view: string | undefined;
  for (const node of controllers) {
    if (!asked(node)) continue;
    const t = answered(items, "pacemaker", node, sectionOf(node, "pacemaker"));
    if (!t) continue;
    const xml = t.get("xml") ?? "";
    const quorum = /<current_dc [^>]*with_quorum="true"/.test(xml);
    items.push({
      component: "pacemaker",
      node,
      state: quorum ? "ok" : "problem",
      summary: quorum ? "running, in the quorate partition" : "running without quorum",
      facts: { quorum },
    });
    if (quorum || view === undefined) view = xml;
  }
  if (view === undefined) {
    items.push({ component: "pacemaker", state: "unknown", summary: "no node answered", facts: {} });
    return items;
  }
  const section = (tag: string) => new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(view!)?.[1] ?? "";
  const nodeTags = [...section("nodes").matchAll(/<node [^>]*>/g)].map((m) => m[0]);
  const nodesWith = (a: string) => nodeTags.filter((t) => attr(t, a) === "true").map((t) => attr(t, "name")!);
  const online = nodesWith("online");
  // Left behind after maintenance (`pcs node standby`, `pcs property set maintenance-mode=true`):
  // the cluster runs, but without the node, or without pacemaker acting on a failure.
  const standby = nodesWith("standby");
  const nodeMaintenance = nodesWith("maintenance");
  const maintenanceMode = /<cluster_options [^>]*maintenance-mode="true"/.test(view);
  const resources = section("resources");
  const { vipResource, haproxyResource } = cluster.spec.pacemaker;
  const startedOn = (block: string) =>
    [...block.matchAll(/<resource [^>]*role="Started"[^>]*>\s*<node name="([^"]+)"/g)].map((m) => m[1]!);
  const vipBlock =
    [...resources.matchAll(/<resource [^>]*>[\s\S]*?<\/resource>|<resource [^>]*\/>/g)]
      .map((m) => m[0])
      .find((b) => attr(b, "id") === vipResource) ?? "";
  const vipOn = startedOn(vipBlock);
  const cloneId = `${haproxyResource}-clone`;
  const clone =
    new RegExp(`<clone id="${cloneId.replace(/[.]/g, "\\.")}"[^>]*>([\\s\\S]*?)</clone>`).exec(resources)?.[1] ?? "";
  const haproxyOn = startedOn(clone);
  const failures = [...section("failures").matchAll(/<failure [^>]*>/g)].map((m) => {
    const t = m[0];
    const why = attr(t, "exitreason") || attr(t, "exitstatus") || "failed";
    return `${attr(t, "op_key") ?? "?"} on ${attr(t, "node") ?? "?"}: ${why}`;
  });
  const quorum = /<current_dc [^>]*with_quorum="true"/.test(view);
  const want = cluster.controllers.map((c) => c.hostname);
  const offline = want.filter((n) => !online.includes(n));
  const noHaproxy = online.filter((n) => !haproxyOn.includes(n) && !standby.includes(n));
  const problems = [
    ...(offline.length ? [`offline: ${offline.join(", ")}`] : []),
    ...standby.map((n) => `${n} in standby (runs no resource; pcs node unstandby ${n})`),
    ...(maintenanceMode
      ? ["maintenance-mode=true: pacemaker recovers no resource (pcs property set maintenance-mode=false)"]
      : []),
    ...nodeMaintenance.map((n) => `${n} in maintenance: its resources are not managed (pcs node unmaintenance ${n})`),
    ...(quorum ? [] : ["no quorum"]),
    ...(vipOn.length !== 1 ? [`VIP ${vipResource} started on ${vipOn.length ? vipOn.join(", ") : "no node"}`] : []),
    ...(noHaproxy.length ? [`${cloneId} not started on ${noHaproxy.join(", ")}`] : []),
    ...(failures.length ? [`failed actions: ${failures.join("; ")}`] : []),
  ];
  items.push({
    component: "pacemaker",
    state: problems.length ? "problem" : "ok",
    summary: problems.length
      ? problems.join("; ")
      : `${online.length}/${want.length} online, quorum, VIP on ${vipOn[0]}, ${cloneId} on ${haproxyOn.length}`,
    facts: {
      online,
      standby,
      maintenance: maintenanceMode ? want : nodeMaintenance,
      quorum,
      vip: vipOn,
      haproxyClone: haproxyOn,
      failedActions: failures,
    },
  });
  return items;
}

/** HAProxy's `show stat` CSV (first line `# pxname,svname,...`) as one record per row. */
export function parseCsv(lines: readonly string[]): Record<string, string>[] {
  const rows = lines.filter((l) => l.startsWith("csv\t")).map((l) => l.slice(4));
  const [head, ...rest] = rows;
  if (!head) return [];
  const keys = head.replace(/^# /, "").split(",");
  return rest.map((l) => Object.fromEntries(l.split(",").map((v, i) => [keys[i] ?? String(i), v])));
}

function haproxyItems(
  cluster: Cluster,
  controllers: readonly string[],
  sectionOf: SectionOf,
  asked: (n: string) => boolean,
  rowsOf: ReadonlyMap<string, Record<string, string>[]>,
  standby: ReadonlySet<string>,
): Item[] {
  const items: Item[] = [];
  // The backends of services ha-gen runs: their servers must be UP. The OpenStack API backends
  // wait for services deployed later; their states are reported, not judged.
  const managedPorts = new Set([cluster.spec.galera.port, cluster.spec.rabbitmq.port]);
  const managed = new Set(
    cluster.spec.haproxy.services.filter((s) => managedPorts.has(s.backendPort ?? s.port)).map((s) => s.name),
  );
  for (const node of controllers) {
    if (!asked(node)) continue;
    const f = failure(sectionOf(node, "haproxy"));
    if (f) {
      // Stopped by pacemaker on a standby node: the pacemaker item says so, with its undo.
      const why = standby.has(node) ? ` (${node} is in pacemaker standby)` : "";
      items.push({ component: "haproxy", node, state: f.state, summary: f.text + why, facts: {} });
      continue;
    }
    const rows = (rowsOf.get(node) ?? []).filter((r) => r.svname !== "FRONTEND" && r.svname !== "BACKEND");
    const facts: Facts = {};
    const down: string[] = [];
    let others = 0;
    let othersUp = 0;
    for (const r of rows) {
      const px = r.pxname ?? "?";
      const st = `${r.svname}=${r.status}${r.bck === "1" ? "(backup)" : ""}`;
      facts[px] = [...((facts[px] as string[] | undefined) ?? []), st];
      if (managed.has(px)) {
        if (!r.status?.startsWith("UP")) down.push(`${px}/${r.svname} ${r.status}`);
      } else {
        others++;
        if (r.status?.startsWith("UP")) othersUp++;
      }
    }
    const rest = others ? `; other backends: ${othersUp}/${others} servers UP (services deployed outside ha-gen)` : "";
    items.push({
      component: "haproxy",
      node,
      state: down.length ? "problem" : rows.length ? "ok" : "problem",
      summary: down.length
        ? `not UP: ${down.join(", ")}${rest}`
        : rows.length
          ? `${[...managed].join(", ")}: every server UP${rest}`
          : "the stats socket lists no server",
      facts,
    });
  }
  return items;
}

function driftItems(answers: ReadonlyMap<string, NodeAnswer>): Item[] {
  const items: Item[] = [];
  for (const [node, a] of answers) {
    if (a.unreachable !== undefined) continue;
    if (a.filesError !== undefined) {
      items.push({
        component: "files",
        node,
        state: "unknown",
        summary: `cannot read the files: ${a.filesError}`,
        facts: {},
      });
      continue;
    }
    if (!a.files) continue;
    const changed: string[] = [];
    const missing: string[] = [];
    const modes: string[] = [];
    for (const { artifact, state } of a.files) {
      if (state.kind === "missing") missing.push(artifact.path);
      else if (state.kind !== "file") changed.push(`${artifact.path} (${state.kind})`);
      else if (state.sha256 !== sha256(artifact.content)) changed.push(artifact.path);
      else if (state.mode !== artifact.mode || state.ownerOk === false) {
        const now = `${modeString(state.mode ?? 0)} ${state.owner}:${state.group}`;
        modes.push(`${artifact.path} (${now}, wants ${modeString(artifact.mode)} ${artifact.owner}:${artifact.group})`);
      }
    }
    const problems = [
      ...(changed.length ? [`content differs: ${changed.join(", ")}`] : []),
      ...(missing.length ? [`missing: ${missing.join(", ")}`] : []),
      ...(modes.length ? [`mode/owner differ: ${modes.join(", ")}`] : []),
    ];
    items.push({
      component: "files",
      node,
      state: problems.length ? "problem" : "ok",
      summary: problems.length ? problems.join("; ") : `all ${a.files.length} files as rendered`,
      facts: { files: a.files.length, changed, missing, modeOrOwner: modes },
    });
  }
  return items;
}
