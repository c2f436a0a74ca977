import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import type { Artifact } from "../../src/core/artifact.js";
import { renderCluster } from "../../src/render.js";
import {
  epmdDropIn,
  ERLANG_COOKIE,
  RABBITMQ_CONF,
  RABBITMQ_ENV_CONF,
  RABBITMQ_PLUGINS,
} from "../../generators/rabbitmq.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";
import { EXAMPLES, artifactAt, renderExample } from "../helpers/examples.js";

const controllersOf = (name: keyof typeof EXAMPLES) =>
  EXAMPLES[name].nodes.filter((n) => n.roles.includes("controller"));
const script = (r: { artifacts: readonly Artifact[] }, node: string, id: string) =>
  artifactAt(r as never, node, `/usr/local/lib/ha-gen/${id}.sh`).content;

function variant(patch: (s: Record<string, unknown>) => void) {
  const spec = structuredClone(EXAMPLES.lab) as Record<string, unknown>;
  patch(spec);
  return renderCluster(spec, FAKE_SECRETS);
}

for (const name of ["train-ha", "lab"] as const) {
  describe(`rabbitmq artifacts of ${name}`, () => {
    const r = renderExample(name);
    const controllers = controllersOf(name);

    it("gives every controller its own node name and listeners on its management address", () => {
      for (const n of controllers) {
        expect(artifactAt(r, n.hostname, RABBITMQ_ENV_CONF).content).toMatch(
          new RegExp(`^NODENAME=rabbit@${n.hostname}$`, "m"),
        );
        const conf = artifactAt(r, n.hostname, RABBITMQ_CONF).content;
        expect(conf).toContain(`listeners.tcp.1 = ${n.addresses.management}:5672\n`);
        expect(conf).toContain(`management.tcp.ip = ${n.addresses.management}\n`);
        expect(conf).toContain("management.tcp.port = 15672\n");
        expect(conf).toContain("cluster_partition_handling = pause_minority\n");
        expect(conf).not.toMatch(/0\.0\.0\.0|::/);
      }
    });

    it("binds epmd and the Erlang distribution to the management address: env, rabbitmq.conf, socket units", () => {
      const units = name === "lab" ? ["epmd.socket"] : ["epmd.socket", "epmd@.socket"];
      for (const n of controllers) {
        const ip = n.addresses.management;
        const env = artifactAt(r, n.hostname, RABBITMQ_ENV_CONF).content;
        expect(env.split("\n")).toContain(`ERL_EPMD_ADDRESS=${ip}`);
        const conf = artifactAt(r, n.hostname, RABBITMQ_CONF).content;
        expect(conf).toContain(`distribution.listener.interface = ${ip}\n`);
        expect(conf).toContain("distribution.listener.port_range.min = 25672\n");
        expect(conf).toContain("distribution.listener.port_range.max = 25672\n");
        const dropIns = r.artifacts.filter((a) => a.node === n.hostname && a.path.includes("/system/epmd"));
        expect(dropIns.map((a) => a.path)).toEqual(units.map(epmdDropIn));
        for (const d of dropIns) {
          // The packaged ListenStream is reset first, then only the node address and loopback.
          const listen = d.content.split("\n").filter((l) => l.startsWith("ListenStream="));
          expect(listen).toEqual(["ListenStream=", `ListenStream=${ip}:4369`, "ListenStream=127.0.0.1:4369"]);
          expect(d.content).toContain("[Socket]\n");
          expect(d.content).toContain("FreeBind=true\n");
        }
        const start = script(r, n.hostname, "30-rabbitmq-start");
        expect(start).toContain(`EPMD_DROPINS=(${units.map(epmdDropIn).join(" ")})`);
        // A running broker is stopped to rebind epmd only in the restart pass, one node at a time.
        expect(start).toContain(
          'if changed_since_applied epmd-socket "${EPMD_DROPINS[@]}" &&\n' +
            "  { roll_restart_pass || ! systemctl is-active --quiet rabbitmq-server; }; then",
        );
        expect(start).toContain(`ADDRESS=${ip}\nEPMD_PORT=4369\nDIST_PORT=25672\n`);
        expect(start).toContain('tcp_open "$ADDRESS" "$EPMD_PORT"');
        expect(start).toContain('tcp_open "$ADDRESS" "$DIST_PORT"');
        expect(start).toContain('for p in "$EPMD_PORT" "$DIST_PORT"; do');
      }
    });

    it("deletes the default guest user on the first controller", () => {
      const conf = script(r, controllers[0]!.hostname, "32-rabbitmq-configure");
      expect(conf).toContain("rmq -q delete_user guest\n");
      expect(conf).toContain(`die "RabbitMQ's default guest user still exists"`);
    });

    it("puts nothing of RabbitMQ on nodes that are not controllers", () => {
      const names = new Set(controllers.map((n) => n.hostname));
      expect(r.artifacts.filter((a) => a.family === "rabbitmq" && !names.has(a.node))).toEqual([]);
    });

    it("ships the same Erlang cookie to every controller: the secret, rabbitmq-owned, 0400, no newline", () => {
      for (const n of controllers) {
        const c = artifactAt(r, n.hostname, ERLANG_COOKIE);
        expect(c.content).toBe(FAKE_SECRETS.erlang_cookie);
        expect(c).toMatchObject({ secret: true, mode: 0o400, owner: "rabbitmq", group: "rabbitmq" });
      }
    });

    it("enables the management plugin declaratively", () => {
      for (const n of controllers)
        expect(artifactAt(r, n.hostname, RABBITMQ_PLUGINS).content).toMatch(/^\[rabbitmq_management\]\.\n$/m);
      for (const a of r.artifacts.filter((x) => x.family === "rabbitmq" && x.path.endsWith(".sh")))
        expect(a.content).not.toContain("rabbitmq-plugins");
    });

    it("plans a rolling start, serial disc joins of 2..n to the first (then the first), configure on the first", () => {
      const steps = r.plan.steps.filter((s) => s.id.startsWith("3") && s.script.includes("rabbitmq"));
      expect(steps.map((s) => [s.id, s.mode, s.nodes])).toEqual([
        ["30-rabbitmq-start", "rolling", controllers.map((n) => n.hostname)],
        ["31-rabbitmq-join", "serial", [...controllers.slice(1), controllers[0]!].map((n) => n.hostname)],
        ["32-rabbitmq-configure", "serial", [controllers[0]!.hostname]],
      ]);
      const ids = r.plan.steps.map((s) => s.id);
      expect(ids.indexOf("32-rabbitmq-configure")).toBeLessThan(ids.indexOf("40-memcached"));
      for (const n of controllers.slice(1)) {
        const join = script(r, n.hostname, "31-rabbitmq-join");
        expect(join).toMatch(
          new RegExp(`self=rabbit@${n.hostname}\n(#.*\n)+seed=rabbit@${controllers[0]!.hostname}\n`),
        );
        expect(join).toContain('join_cluster --disc "$seed"');
        // A reset broker: the seed forgets its old membership before it joins again.
        expect(join).toMatch(/if seed_lists "\$self"; then\n\s+rmq -q -n "\$seed" forget_cluster_node "\$self"/);
        expect(join).not.toContain("join_cluster --ram");
        expect(join).toContain('in_list disk_nodes "$self"');
      }
    });

    it("the first controller rejoins the second only when the second still lists it (a reset broker)", () => {
      const join = script(r, controllers[0]!.hostname, "31-rabbitmq-join");
      expect(join).toContain(`seed=rabbit@${controllers[1]!.hostname}\n`);
      expect(join).toContain('elif ! seed_lists "$self"; then');
      expect(join).toContain('join_cluster --disc "$seed"');
      expect(join).not.toContain("change_cluster_node_type");
    });

    it("restarts the broker only through roll_service over all four files, and waits for boot and its cluster", () => {
      for (const n of controllers) {
        const start = script(r, n.hostname, "30-rabbitmq-start");
        expect(start).toContain(
          `roll_service rabbitmq-server rabbitmq ${RABBITMQ_ENV_CONF} ` +
            `${RABBITMQ_CONF} ${RABBITMQ_PLUGINS} ${ERLANG_COOKIE}\n`,
        );
        expect(start).toMatch(/wait_until \d+ .* rmq -q -t 30 await_startup/);
        expect(start).toContain(`tcp_open ${n.addresses.management} 5672`);
        expect(start).not.toMatch(/systemctl (re)?start/);
      }
    });

    it("configures user, permissions and the amq.*-excluding policy, password only on stdin", () => {
      const conf = script(r, controllers[0]!.hostname, "32-rabbitmq-configure");
      expect(conf).toContain('set_policy -p "$vhost" --apply-to all ha-all \'^(?!amq\\.).*\' \'{"ha-mode":"all"}\'');
      expect(conf).not.toMatch(/set_policy .* '?\^'? /);
      expect(conf).toMatch(/password \| rmq -q add_user "\$user" >\/dev\/null\n/);
      expect(conf).toMatch(/password \| rmq -q change_password "\$user" >\/dev\/null\n/);
      expect(conf).toContain("load_secrets");
      for (const n of controllers) expect(conf).toContain(`grep -Fq '"rabbit@${n.hostname}"'`);
      for (const a of r.artifacts.filter((x) => x.family === "rabbitmq" && x.path.endsWith(".sh"))) {
        expect(a.content).not.toContain(FAKE_SECRETS.rabbit_pass);
        expect(a.content).not.toContain(FAKE_SECRETS.erlang_cookie);
        expect(a.content).not.toMatch(/set -x|echo "\$RABBIT_PASS"/);
        // Through runuser, never the /usr/sbin wrapper that re-parses arguments with a shell.
        expect(a.content).not.toMatch(/^\s*rabbitmqctl /m);
      }
    });
  });
}

describe("rabbitmq options", () => {
  it("keeps guest when the spec names it as the OpenStack user", () => {
    const r = variant((s) => (s.rabbitmq = { user: "guest" }));
    expect(script(r, "controller01", "32-rabbitmq-configure")).not.toContain("delete_user");
  });

  it("joins RAM nodes only when asked, and checks the matching node list", () => {
    const r = variant((s) => (s.rabbitmq = { ramNodes: true }));
    const join = script(r, "controller02", "31-rabbitmq-join");
    expect(join).toContain('join_cluster --ram "$seed"');
    expect(script(r, "controller01", "31-rabbitmq-join")).toContain('join_cluster --disc "$seed"');
    expect(join).toContain('in_list ram_nodes "$self"');
    expect(join).toContain("change_cluster_node_type ram");
  });

  it("writes an empty plugin list and no management listener without the plugin", () => {
    const r = variant((s) => (s.rabbitmq = { managementPlugin: false }));
    expect(artifactAt(r, "controller01", RABBITMQ_PLUGINS).content).toMatch(/^\[\]\.\n$/m);
    expect(artifactAt(r, "controller01", RABBITMQ_CONF).content).not.toContain("management.");
    expect(script(r, "controller01", "30-rabbitmq-start")).not.toContain("15672");
  });

  it("lists the policy definition with sorted keys, as rabbitmqctl prints it back", () => {
    const r = variant(
      (s) =>
        (s.rabbitmq = {
          policy: { definition: { "ha-sync-mode": "automatic", "ha-params": 2, "ha-mode": "exactly" } },
        }),
    );
    expect(script(r, "controller01", "32-rabbitmq-configure")).toContain(
      '{"ha-mode":"exactly","ha-params":2,"ha-sync-mode":"automatic"}',
    );
  });

  it("passes a hostile policy pattern and definition to rabbitmqctl byte for byte", () => {
    const pattern = `^q'"$(echo pwned)\`id\`\\.\\$HOME ü*`;
    const definition = { "ha-mode": "all", note: `it's "$x" \\ \`y\`` };
    const r = variant(
      (s) => (s.rabbitmq = { vhost: "/os-1", policy: { name: "p.1", pattern, definition, applyTo: "queues" } }),
    );
    const conf = script(r, "controller01", "32-rabbitmq-configure");
    const line = conf.split("\n").find((l) => l.includes("set_policy"))!;
    // Run the generated line with rmq replaced by a stub that prints each argument NUL-terminated.
    const out = spawnSync("bash", ["-c", `rmq() { printf '%s\\0' "$@"; }\nvhost=/os-1\n${line.trim()}`], {
      encoding: "utf8",
    });
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout.split("\0").slice(0, -1)).toEqual([
      "-q",
      "set_policy",
      "-p",
      "/os-1",
      "--apply-to",
      "queues",
      "p.1",
      pattern,
      JSON.stringify({ "ha-mode": "all", note: definition.note }),
    ]);
    // The idempotency check compares the same values, tab-separated.
    const check = conf.split("\n").find((l) => l.includes("grep -Fxq") && l.includes("p.1"))!;
    const arg = spawnSync(
      "bash",
      ["-c", `grep() { printf '%s' "$3"; }\npolicies=\n${check.replace(/^if ! /, "").replace(/; then$/, "")}`],
      { encoding: "utf8" },
    );
    expect(arg.stdout).toBe(
      ["/os-1", "p.1", pattern, "queues", JSON.stringify({ "ha-mode": "all", note: definition.note }), "0"].join("\t"),
    );
  });

  it("refuses a policy pattern with control characters", () => {
    expect(() => variant((s) => (s.rabbitmq = { policy: { pattern: "a\nb" } }))).toThrow(/invalid cluster spec/);
  });

  it("uses long node names when a controller's hostname has a dot", () => {
    const r = variant((s) => {
      const nodes = s.nodes as { hostname: string }[];
      nodes[0]!.hostname = "controller01.lab";
      (s.ntp as { server: string }).server = "controller01.lab";
    });
    const env = artifactAt(r, "controller01.lab", RABBITMQ_ENV_CONF).content;
    expect(env).toContain("NODENAME=rabbit@controller01.lab\n");
    expect(env).toContain("USE_LONGNAME=true\n");
    expect(artifactAt(r, "controller02", RABBITMQ_ENV_CONF).content).toContain("USE_LONGNAME=true\n");
  });
});

describe("30-rabbitmq-start: a broker whose VM runs with the rabbit app stopped", () => {
  const start = script(renderExample("lab"), "controller02", "30-rabbitmq-start");
  const fn = /^start_stopped_app\(\) \{\n[\s\S]*?\n\}\n/m.exec(start)![0];

  /** Runs the rendered function with a stand-in rmq: the app STATE here, which peers answer; returns its calls. */
  function run(state: string, reachable: string[]) {
    const stub = `rmq() {
  echo "rmq $*" >&9 # fd 9: the function sends some calls' stderr to /dev/null
  case "$*" in
    *"-n rabbit@"*) [[ " ${reachable.join(" ")} " == *" $5 "* ]] ;;
    *is_booting*) echo ${state} ;;
    *start_app) return 0 ;;
  esac
}
changed() { echo "changed: $*"; }
die() { echo "died: $*"; exit 1; }
`;
    const r = spawnSync("bash", ["-c", `set -euo pipefail\nexec 9>&2\n${stub}${fn}start_stopped_app`], {
      encoding: "utf8",
    });
    const calls = r.stderr.split("\n").filter((l) => l.startsWith("rmq "));
    return { code: r.status, out: r.stdout.trim(), started: calls.includes("rmq -q start_app"), calls };
  }

  it("starts it when this node reaches a majority of the brokers", () => {
    const r = run("false", ["rabbit@controller01"]);
    expect(r).toMatchObject({ code: 0, started: true });
    expect(r.out).toBe(
      "changed: started the rabbit app of rabbit@controller02: its Erlang VM ran with the app stopped",
    );
  });

  it("leaves it stopped in a minority and says which brokers it cannot reach", () => {
    const r = run("false", []);
    expect(r).toMatchObject({ code: 1, started: false });
    expect(r.out).toBe(
      "died: the rabbit app of rabbit@controller02 is stopped and this node reaches 1 of 3 brokers " +
        "(not rabbit@controller01 rabbit@controller03): not a majority, so it stays stopped; " +
        "start the other brokers first",
    );
  });

  it.each(["true", "booting"])("does nothing when the app state is %s (running, or still booting)", (state) => {
    const r = run(state, ["rabbit@controller01", "rabbit@controller03"]);
    expect(r).toMatchObject({ code: 0, started: false, out: "" });
    expect(r.calls).toHaveLength(1);
  });

  it("is called only while the unit is active and AMQP is closed, after the unit's own start or restart", () => {
    const call = start.indexOf(
      "if systemctl is-active --quiet rabbitmq-server && ! tcp_open 198.51.100.12 5672; then\n" +
        "  start_stopped_app\nfi\n",
    );
    expect(call).toBeGreaterThan(start.indexOf("roll_service rabbitmq-server"));
    expect(call).toBeLessThan(start.indexOf("rmq -q -t 30 await_startup"));
  });
});
