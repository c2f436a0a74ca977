import { describe, expect, it } from "vitest";
import { evaluateStatus, healthOf, parseSections, type NodeAnswer } from "../../deploy/status.js";
import { sha256, statusReportSchema } from "../../src/core/formats.js";
import { renderCluster } from "../../src/render.js";
import { EXAMPLES } from "../helpers/examples.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";

/**
 * status's judgements from what the lab's three controllers answer (the output shapes of MariaDB
 * 10.11, RabbitMQ 3.10, etcd 3.4, pacemaker 2.1, HAProxy 2.6 and chrony 4.3 on Debian 12), without a
 * node: healthy as after a deploy, then each fault the container lab injects — a crashed node, a
 * desynced node, a stopped etcd member, a file edited by hand — named exactly.
 */

const rendered = renderCluster(EXAMPLES.lab, FAKE_SECRETS);
const { cluster } = rendered;
const NODES = ["controller01", "controller02", "controller03"];
const T = "\t";
const UUID = "5f1ad2a4-8f1e-11ee-8a6f-2b4e0c7c5b1a";
const IDS = ["10501334649042878790", "13803247525829563210", "2470549830165394231"];

interface NodeState {
  galera?: string;
  size?: number;
  clustercheck?: string;
  etcdDown?: boolean;
  running?: string[];
  online?: string[];
  haproxyDown?: string[];
  leaderIndex?: number;
  /** Pacemaker: nodes in standby (online, running no resource), and the cluster's maintenance-mode. */
  standby?: string[];
  maintenanceMode?: boolean;
}

function sections(i: number, s: NodeState = {}): string {
  const n = NODES[i]!;
  const ip = `198.51.100.1${i + 1}`;
  const running = s.running ?? NODES;
  const online = s.online ?? NODES;
  const standby = s.standby ?? [];
  const galera = [
    `wsrep_cluster_size${T}${s.size ?? 3}`,
    `wsrep_cluster_state_uuid${T}${UUID}`,
    `wsrep_cluster_status${T}Primary`,
    `wsrep_last_committed${T}42`,
    `wsrep_local_state_comment${T}${s.galera ?? "Synced"}`,
    `wsrep_ready${T}ON`,
  ];
  const cluster = JSON.stringify({
    disk_nodes: NODES.map((x) => `rabbit@${x}`),
    running_nodes: running.map((x) => `rabbit@${x}`),
    partitions: {},
    alarms: [],
  });
  const etcd = s.etcdDown
    ? ["!down context deadline exceeded"]
    : [
        `status${T}[{"Endpoint":"http://${ip}:2379","Status":{"header":{"cluster_id":1491849797349488906,` +
          `"member_id":${IDS[i]},"revision":5,"raft_term":3},"version":"3.4.23","dbSize":20480,` +
          `"leader":${IDS[s.leaderIndex ?? 0]},"raftIndex":12,"raftTerm":3}}]`,
        `members${T}{"header":{},"members":[${NODES.map(
          (x, k) => `{"ID":${IDS[k]},"name":"${x}","peerURLs":["http://198.51.100.1${k + 1}:2380"]}`,
        ).join(",")}]}`,
        `health${T}[{"endpoint":"http://${ip}:2379","health":true,"took":"2.1ms"}]`,
      ];
  const xml =
    `<pacemaker-result api-version="2.30" request="crm_mon -1 -r --output-as=xml"><summary>` +
    `<current_dc present="true" version="2.1.5" name="controller01" id="1" with_quorum="true"/>` +
    `<cluster_options stonith-enabled="false" maintenance-mode="${s.maintenanceMode === true}"/></summary>` +
    `<nodes>${NODES.map(
      (x, k) =>
        `<node name="${x}" id="${k + 1}" online="${online.includes(x)}" standby="${standby.includes(x)}" ` +
        `maintenance="false"/>`,
    ).join("")}` +
    "</nodes>" +
    `<resources><resource id="vip" resource_agent="ocf:heartbeat:IPaddr2" role="Started" active="true" ` +
    `failed="false" nodes_running_on="1"><node name="controller01" id="1" cached="true"/></resource>` +
    `<clone id="lb-haproxy-clone" multi_state="false" unique="false">${online
      .filter((x) => !standby.includes(x))
      .map(
        (x, k) =>
          `<resource id="lb-haproxy" resource_agent="systemd:haproxy" role="Started" active="true" ` +
          `nodes_running_on="1"><node name="${x}" id="${k + 1}" cached="true"/></resource>`,
      )
      .join("")}</clone></resources></pacemaker-result>`;
  const csvHead =
    "csv\t# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis," +
    "status,weight,act,bck";
  const row = (px: string, sv: string, status: string, bck: number) =>
    `csv\t${px},${sv},0,0,0,0,,0,0,0,,0,,0,0,0,0,${status},1,${1 - bck},${bck}`;
  const haproxy = [
    csvHead,
    ...NODES.map((x, k) => row("galera_cluster", x, s.haproxyDown?.includes(x) ? "DOWN" : "UP", k === 0 ? 0 : 1)),
    row("galera_cluster", "BACKEND", "UP", 0),
    ...NODES.map((x) => row("rabbitmq_cluster", x, "UP", 0)),
    ...NODES.map((x) => row("keystone_public_cluster", x, "DOWN", 0)),
  ];
  const out = [
    "@section chrony",
    `tracking${T}C6336410,198.51.100.10,11,1701428400.1,-0.000012345,0.000001,0.00002,1.2,0.001,0.05,` +
      "0.0001,0.001,64.2,Normal",
    "@section galera",
    ...galera,
    "@section clustercheck",
    `status${T}${s.clustercheck ?? "200"}`,
    "@section rabbitmq",
    `cluster${T}${cluster}`,
    ...(i === 0 ? [`queues${T}[{"name":"q1"},{"name":"q2"}]`] : []),
    "@section etcd",
    ...etcd,
    "@section memcached",
    `version${T}VERSION 1.6.18`,
    "@section pacemaker",
    `xml${T}${xml}`,
    "@section haproxy",
    ...haproxy,
  ];
  void n;
  return `${out.join("\n")}\n`;
}

function files(node: string, edited: string[] = []): NodeAnswer["files"] {
  return rendered.artifacts
    .filter((a) => a.node === node)
    .map((artifact) => ({
      artifact,
      state: {
        kind: "file" as const,
        mode: artifact.mode,
        owner: artifact.owner,
        group: artifact.group,
        ownerOk: true,
        sha256: edited.includes(artifact.path) ? sha256(`${artifact.content}# edited\n`) : sha256(artifact.content),
      },
    }));
}

function evaluate(per: Partial<Record<string, NodeAnswer>> = {}) {
  const m = new Map(
    NODES.map((n, i) => [n, per[n] ?? { sections: parseSections(sections(i)), files: files(n) }] as const),
  );
  const items = evaluateStatus(cluster, m, { drift: true });
  statusReportSchema.parse({ format: "ha-gen-status/1", cluster: "x", health: healthOf(items), ms: 0, items });
  return { items, health: healthOf(items), bad: items.filter((i) => i.state !== "ok") };
}

const healthy = (i: number, s: NodeState = {}, edited: string[] = []): NodeAnswer => ({
  sections: parseSections(sections(i, s)),
  files: files(NODES[i]!, edited),
});

describe("status judgements", () => {
  it("a freshly deployed cluster is healthy, with every component's facts", () => {
    const { items, health, bad } = evaluate();
    expect(bad).toEqual([]);
    expect(health).toBe("healthy");
    const cluster = (c: string) => items.find((i) => i.component === c && i.node === undefined)!;
    expect(cluster("galera").summary).toBe(`cluster ${UUID}; HAProxy sends writes to controller01`);
    expect(cluster("rabbitmq").summary).toBe("3/3 running, no partitions, no alarms, 2 queue(s)");
    expect(cluster("etcd").summary).toBe("3 members, leader controller01, 3 answering");
    expect(cluster("pacemaker").summary).toBe("3/3 online, quorum, VIP on controller01, lb-haproxy-clone on 3");
    const c2 = (c: string) => items.find((i) => i.component === c && i.node === "controller02")!;
    expect(c2("galera").summary).toBe("Synced, Primary, size 3, seqno 42");
    expect(c2("chrony").summary).toBe("offset -0.000012 s, source 198.51.100.10, Normal");
    expect(c2("haproxy").summary).toBe(
      "galera_cluster, rabbitmq_cluster: every server UP; other backends: 0/3 servers UP " +
        "(services deployed outside ha-gen)",
    );
    expect(c2("files").summary).toMatch(/^all \d+ files as rendered$/);
  });

  it("a crashed node: unknown where it is, degraded where the others see it gone", () => {
    const gone = { running: ["controller01", "controller03"], online: ["controller01", "controller03"], size: 2 };
    const { health, bad } = evaluate({
      controller01: healthy(0, gone),
      controller02: { unreachable: "connect ETIMEDOUT 198.51.100.12:22" },
      controller03: healthy(2, { ...gone, haproxyDown: ["controller02"] }),
    });
    expect(health).toBe("degraded");
    expect(bad.map((i) => [i.component, i.node ?? "*", i.state, i.summary])).toEqual([
      ["connect", "controller02", "unknown", "cannot connect: connect ETIMEDOUT 198.51.100.12:22"],
      ["galera", "controller01", "problem", "cluster size 2 of 3 (seqno 42)"],
      ["galera", "controller03", "problem", "cluster size 2 of 3 (seqno 42)"],
      ["rabbitmq", "*", "problem", "not running: rabbit@controller02"],
      ["pacemaker", "*", "problem", "offline: controller02"],
      ["haproxy", "controller03", "problem", expect.stringMatching(/^not UP: galera_cluster\/controller02 DOWN;/)],
    ]);
  });

  it("a desynced node: its Galera state, its clustercheck 503, and HAProxy taking it out", () => {
    const { bad } = evaluate({
      controller01: healthy(0, { haproxyDown: ["controller02"] }),
      controller02: healthy(1, { galera: "Donor/Desynced", clustercheck: "503", haproxyDown: ["controller02"] }),
      controller03: healthy(2, { haproxyDown: ["controller02"] }),
    });
    expect(bad.map((i) => [i.component, i.node ?? "*", i.summary.split(";")[0]])).toEqual([
      ["galera", "controller02", "state Donor/Desynced (seqno 42)"],
      ["clustercheck", "controller02", "503 (HAProxy takes this node out)"],
      ["haproxy", "controller01", "not UP: galera_cluster/controller02 DOWN"],
      ["haproxy", "controller02", "not UP: galera_cluster/controller02 DOWN"],
      ["haproxy", "controller03", "not UP: galera_cluster/controller02 DOWN"],
    ]);
  });

  it("pacemaker left after maintenance: a node in standby, and maintenance-mode, each named with its undo", () => {
    const standby = { standby: ["controller03"] };
    // Pacemaker stopped HAProxy there: no stats socket.
    const c3 = healthy(2, standby);
    (c3.sections as Map<string, readonly string[]>).set("haproxy", ["!down no stats socket /var/lib/haproxy/stats"]);
    const r = evaluate({ controller01: healthy(0, standby), controller02: healthy(1, standby), controller03: c3 });
    expect(r.health).toBe("degraded");
    // Its HAProxy clone instance is not "missing": the standby is named once, with its undo.
    expect(r.bad.map((i) => [i.component, i.node ?? "*", i.summary])).toEqual([
      ["pacemaker", "*", "controller03 in standby (runs no resource; pcs node unstandby controller03)"],
      [
        "haproxy",
        "controller03",
        "not answering: no stats socket /var/lib/haproxy/stats (controller03 is in pacemaker standby)",
      ],
    ]);
    expect(r.items.find((i) => i.component === "pacemaker" && !i.node)!.facts.standby).toEqual(["controller03"]);
    const m = evaluate(Object.fromEntries(NODES.map((n, i) => [n, healthy(i, { maintenanceMode: true })])));
    expect(m.bad.map((i) => i.summary)).toEqual([
      "maintenance-mode=true: pacemaker recovers no resource (pcs property set maintenance-mode=false)",
    ]);
  });

  it("a stopped etcd member: that member, and nothing else", () => {
    const { health, bad } = evaluate({ controller03: healthy(2, { etcdDown: true }) });
    expect(health).toBe("degraded");
    expect(bad.map((i) => [i.component, i.node, i.summary])).toEqual([
      ["etcd", "controller03", "not answering: context deadline exceeded"],
    ]);
  });

  it("a file edited by hand: its path, never its content", () => {
    const { bad } = evaluate({ controller02: healthy(1, {}, ["/etc/haproxy/haproxy.cfg", "/etc/ha-gen/secrets.env"]) });
    expect(bad.map((i) => [i.component, i.node, i.summary])).toEqual([
      ["files", "controller02", "content differs: /etc/ha-gen/secrets.env, /etc/haproxy/haproxy.cfg"],
    ]);
  });

  it("reads RabbitMQ from the management API: a partition and an alarm are named", () => {
    const api = (i: number, partitions: string[], memAlarm: boolean) => {
      const nodes = NODES.map((x, k) => ({
        name: `rabbit@${x}`,
        running: true,
        partitions: k === i ? partitions : [],
        mem_alarm: k === i && memAlarm,
        disk_free_alarm: false,
        type: "disc",
      }));
      const text = sections(i).replace(
        /@section rabbitmq\n(?:[^@\n][^\n]*\n)*/,
        `@section rabbitmq\napi-nodes${T}${JSON.stringify(nodes)}\napi-overview${T}{"object_totals":{"queues":7}}\n`,
      );
      return { sections: parseSections(text), files: files(NODES[i]!) };
    };
    const calm = evaluate({
      controller01: api(0, [], false),
      controller02: api(1, [], false),
      controller03: api(2, [], false),
    });
    expect(calm.bad).toEqual([]);
    expect(calm.items.find((x) => x.component === "rabbitmq" && !x.node)!.summary).toBe(
      "3/3 running, no partitions, no alarms, 7 queue(s)",
    );
    const { bad } = evaluate({ controller01: api(0, ["rabbit@controller03"], true) });
    expect(bad.map((x) => [x.component, x.node ?? "*", x.summary])).toEqual([
      [
        "rabbitmq",
        "*",
        "partitions: rabbit@controller01 cannot reach rabbit@controller03; alarms: rabbit@controller01: memory",
      ],
    ]);
  });

  it("chrony skipped by its unit's start condition (a container) is said, not judged", () => {
    const text = sections(1).replace(
      /@section chrony\n[^\n]*\n/,
      "@section chrony\n!skipped not running: chrony.service skipped by its start condition (no CAP_SYS_TIME?)\n",
    );
    const { items, bad } = evaluate({ controller02: { sections: parseSections(text), files: files("controller02") } });
    expect(bad).toEqual([]);
    expect(items.find((x) => x.component === "chrony" && x.node === "controller02")!.summary).toBe(
      "not running: chrony.service skipped by its start condition (no CAP_SYS_TIME?)",
    );
  });

  it("cannot tell when a service cannot be asked and nothing is wrong elsewhere", () => {
    const text = sections(0).replace(/@section memcached\n[^\n]*\n/, "@section memcached\n!missing bash\n");
    const { health, bad } = evaluate({ controller01: { sections: parseSections(text), files: files("controller01") } });
    expect(health).toBe("unknown");
    expect(bad.map((i) => [i.component, i.node, i.state, i.summary])).toEqual([
      ["memcached", "controller01", "unknown", "bash is not installed"],
    ]);
  });
});
