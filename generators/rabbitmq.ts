import { fileFor, type GeneratorOutput } from "../src/core/artifact.js";
import type { Cluster } from "../src/core/model.js";
import { EPMD_PORT, RABBITMQ_BOOT_HANG_S, RABBITMQ_DIST_PORT } from "../src/core/os.js";
import { sh } from "../src/core/quote.js";
import type { ClusterSpec } from "../src/core/spec/schema.js";
import { hashHeader, MARKER, merge, sameOn, stepScript } from "./common.js";
import { renderTemplate } from "../src/core/template.js";
import confTpl from "./templates/rabbitmq.conf.njk";
import configureTpl from "./templates/rabbitmq-configure.sh.njk";
import joinTpl from "./templates/rabbitmq-join.sh.njk";
import startTpl from "./templates/rabbitmq-start.sh.njk";
import epmdTpl from "./templates/epmd-socket.conf.njk";
import rmqTpl from "./templates/rabbitmq-rmq.sh.njk";

export const RABBITMQ_ENV_CONF = "/etc/rabbitmq/rabbitmq-env.conf";
export const RABBITMQ_CONF = "/etc/rabbitmq/rabbitmq.conf";
export const RABBITMQ_PLUGINS = "/etc/rabbitmq/enabled_plugins";
export const ERLANG_COOKIE = "/var/lib/rabbitmq/.erlang.cookie";
/** The CLI itself, not /usr/sbin's wrapper (same path in the CentOS 8 RPM and Debian 12's package). */
export const RABBITMQCTL = "/usr/lib/rabbitmq/bin/rabbitmqctl";
const RABBITMQ_HOME = "/var/lib/rabbitmq";

/** The drop-in that binds one of epmd's packaged systemd socket units to the node's address. */
export function epmdDropIn(unit: string): string {
  return `/etc/systemd/system/${unit}.d/50-ha-gen.conf`;
}

export function rabbitNodeName(hostname: string): string {
  return `rabbit@${hostname}`;
}

/** Policy definition as RabbitMQ lists it back: JSON with its keys sorted. */
export function policyDefinitionJson(def: ClusterSpec["rabbitmq"]["policy"]["definition"]): string {
  return JSON.stringify(Object.fromEntries(Object.entries(def).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/**
 * RabbitMQ cluster on the controllers (guide 六). Differences from the guide:
 * - nodes 2..n join as disc nodes unless `rabbitmq.ramNodes`: RAM nodes are deprecated and a full
 *   outage loses whatever only they held (the guide's `join_cluster --ram`);
 * - the mirroring policy's default pattern is `^(?!amq\.).*` (OpenStack HA guide): the guide's `^`
 *   also mirrors the amq.* internal queues;
 * - the Erlang cookie is a rendered file, rabbitmq-owned, mode 0400, identical on every controller,
 *   instead of scp from controller01 and a hand chown; no trailing newline, as RabbitMQ writes it
 *   (Erlang's auth module accepts either);
 * - the management plugin is enabled declaratively in enabled_plugins instead of rabbitmq-plugins;
 * - AMQP and the management UI listen on the node's management address (the guide: every
 *   interface). No loopback listener;
 * - epmd (4369) and the Erlang distribution listener (25672, clustering and the CLI tools) listen
 *   on the management address too (the guide's `netstat` shows 0.0.0.0:25672): ERL_EPMD_ADDRESS
 *   in rabbitmq-env.conf for an epmd RabbitMQ starts itself, a drop-in for the packaged epmd
 *   socket units (Debian's epmd.socket listens on [::]:4369), `distribution.listener.interface`
 *   with the port fixed at 25672 in rabbitmq.conf (as kolla-ansible and RabbitMQ's networking
 *   guide do). epmd adds loopback itself; the socket units get 127.0.0.1 for the same reason;
 * - the default `guest` account (the guide's list_users still shows it) is deleted;
 * - cluster_partition_handling is set (the guide leaves `ignore`: a partition splits the cluster);
 * - the user's password goes to rabbitmqctl on stdin, not on the command line.
 */
export function rabbitmq(cluster: Cluster): GeneratorOutput {
  const { spec, controllers, os } = cluster;
  const r = spec.rabbitmq;
  const family = "rabbitmq";
  const first = controllers[0]!;
  const firstName = rabbitNodeName(first.hostname);
  // Short node names cannot hold a dot; a dotted hostname needs long names on every node and CLI.
  const longNames = controllers.some((n) => n.hostname.includes("."));
  const owner = os.rabbitmqUser;
  // `rmq`, pasted into every RabbitMQ step script: rabbitmqctl as the rabbitmq user with its home
  // (and so its cookie). Debian's /usr/sbin wrapper re-quotes the arguments for `su -c` escaping
  // only `"`, so a `$` or a backquote in a policy pattern would be expanded by a shell; runuser
  // passes argv through untouched.
  const rmqFn = renderTemplate("rabbitmq-rmq.sh", rmqTpl, { home: RABBITMQ_HOME, rabbitmqctl: RABBITMQCTL });

  // An Erlang term file: `%` starts a comment.
  const plugins = `%% ${MARKER}\n${r.managementPlugin ? "[rabbitmq_management].\n" : "[].\n"}`;
  const cookie = cluster.secrets.erlang_cookie;

  const perNode = controllers.flatMap((n) => {
    const nodeName = rabbitNodeName(n.hostname);
    const env =
      hashHeader(`RabbitMQ environment for ${nodeName} (sourced by the RabbitMQ scripts and CLI tools).`) +
      `NODENAME=${sh(nodeName)}\n` +
      (longNames ? "USE_LONGNAME=true\n" : "") +
      "# epmd on the management address (it adds loopback itself), when RabbitMQ or its CLI starts one.\n" +
      `ERL_EPMD_ADDRESS=${sh(n.addresses.management)}\n`;
    const conf = renderTemplate("rabbitmq.conf", confTpl, {
      marker: MARKER,
      nodeName,
      address: n.addresses.management,
      port: r.port,
      partitionHandling: r.partitionHandling,
      management: r.managementPlugin,
      managementPort: r.managementPort,
      distPort: RABBITMQ_DIST_PORT,
    });
    const epmdContext = { marker: MARKER, address: n.addresses.management, port: EPMD_PORT };
    const epmd = renderTemplate("epmd-socket.conf", epmdTpl, epmdContext);
    return [
      ...os.epmdSocketUnits.map((u) => fileFor(family, n.hostname, { path: epmdDropIn(u), content: epmd })),
      fileFor(family, n.hostname, { path: RABBITMQ_ENV_CONF, content: env, group: owner }),
      fileFor(family, n.hostname, { path: RABBITMQ_CONF, content: conf, group: owner }),
    ];
  });
  const shared = [
    ...sameOn(family, controllers, { path: RABBITMQ_PLUGINS, content: plugins, group: owner }),
    ...sameOn(family, controllers, {
      path: ERLANG_COOKIE,
      content: cookie,
      owner,
      group: owner,
      mode: 0o400,
      secret: true,
    }),
  ];

  const start = stepScript({
    family,
    id: "30-rabbitmq-start",
    // The broker is rabbit@<the spec's hostname>: the host must be that name (set by 00-prepare).
    requireHostname: true,
    title: "RabbitMQ: start every broker with the generated configuration and cookie",
    guideSection: "六.2.1-2.4 启动rabbitmq服务, 分发.erlang.cookie",
    nodes: controllers,
    // A changed rabbitmq.conf or cookie restarted every broker at once: a full AMQP outage.
    mode: "rolling",
    verifies: [
      "rabbitmqctl await_startup succeeds for rabbit@<host>",
      "a broker whose Erlang VM runs with the rabbit app stopped is started when this node reaches a majority" +
        " of the brokers, and the step fails (naming the unreached ones) when it does not",
      "restart pass: every broker that ran with this one before its restart runs with it again, no partition",
      `AMQP accepts connections on the node address, port ${r.port}`,
      `epmd (${EPMD_PORT}) and the Erlang distribution (${RABBITMQ_DIST_PORT}) listen on the node address,` +
        " on no wildcard address",
      ...(r.managementPlugin ? [`the management listener accepts connections on port ${r.managementPort}`] : []),
    ],
    body: (n) =>
      renderTemplate("rabbitmq-start.sh", startTpl, {
        rmqFn,
        files: [RABBITMQ_ENV_CONF, RABBITMQ_CONF, RABBITMQ_PLUGINS, ERLANG_COOKIE],
        nodeName: rabbitNodeName(n.hostname),
        peers: controllers.filter((c) => c !== n).map((c) => rabbitNodeName(c.hostname)),
        brokers: String(controllers.length),
        address: n.addresses.management,
        port: String(r.port),
        management: r.managementPlugin,
        managementPort: String(r.managementPort),
        epmdPort: String(EPMD_PORT),
        distPort: String(RABBITMQ_DIST_PORT),
        bootHangS: String(RABBITMQ_BOOT_HANG_S),
        epmdDropIns: os.epmdSocketUnits.map(epmdDropIn),
      }),
  });

  const nodeType = r.ramNodes ? "ram" : "disc";
  const others = controllers.slice(1);
  const second = others[0];
  // Every controller: 2..n join the first; the first joins the second only when it was reset or
  // lost its data while the others ran on (then the seed forgets its old membership first).
  const join =
    second === undefined
      ? { artifacts: [], steps: [] }
      : stepScript({
          family,
          id: "31-rabbitmq-join",
          title: `RabbitMQ: join controllers 2..n to ${firstName}; a reset broker rejoins`,
          guideSection: "六.2.5 构建集群",
          nodes: [...others, first],
          mode: "serial",
          verifies: [
            `cluster_status lists ${firstName} (for ${firstName}: ${rabbitNodeName(second.hostname)}) as a member ` +
              "and both nodes as running",
            `the node is a ${nodeType} node (${firstName}: disc)`,
            "a broker that was reset or lost its data is forgotten by its seed and joins again",
          ],
          body: (n) =>
            renderTemplate("rabbitmq-join.sh", joinTpl, {
              rmqFn,
              nodeName: rabbitNodeName(n.hostname),
              first: n === first,
              seed: n === first ? rabbitNodeName(second.hostname) : firstName,
              // The first controller's broker is always a disc node.
              joinFlag: r.ramNodes && n !== first ? "--ram" : "--disc",
              nodeType: n === first ? "disc" : nodeType,
              // cluster_status --formatter json spells the disc list "disk_nodes".
              typeList: r.ramNodes ? "ram_nodes" : "disk_nodes",
            }),
        });

  const tags = [...new Set(r.tags)].sort();
  const definition = policyDefinitionJson(r.policy.definition);
  const members = controllers.map((n) => rabbitNodeName(n.hostname));
  const configure = stepScript({
    family,
    id: "32-rabbitmq-configure",
    title: "RabbitMQ: OpenStack user, permissions and mirroring policy",
    guideSection: "六.2.7-2.8 创建rabbitmq管理员账号, 镜像队列的ha",
    nodes: [first],
    mode: "serial",
    verifies: [
      "cluster_status lists every controller as running",
      `user ${r.user} authenticates with RABBIT_PASS`,
      ...(r.user === "guest" ? [] : ["the default guest user does not exist"]),
    ],
    body: renderTemplate("rabbitmq-configure.sh", configureTpl, {
      rmqFn,
      user: r.user,
      vhost: r.vhost,
      tags,
      tagsSorted: tags.join(" "),
      policyName: r.policy.name,
      pattern: r.policy.pattern,
      applyTo: r.policy.applyTo,
      definition,
      policyLine: [r.vhost, r.policy.name, r.policy.pattern, r.policy.applyTo, definition, "0"].join("\t"),
      members,
      runningWhat: `every controller runs in the RabbitMQ cluster (${members.join(", ")})`,
      // Unless the spec names guest as the OpenStack user itself.
      deleteGuest: r.user !== "guest",
    }),
  });

  return merge({ artifacts: [...perNode, ...shared], steps: [] }, start, join, configure);
}
