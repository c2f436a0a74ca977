import { describe, expect, it } from "vitest";
import { scriptPath } from "../../generators/common.js";
import { HAPROXY_CFG, HAPROXY_CHROOT, HAPROXY_LOG_SOCKET } from "../../generators/haproxy.js";
import { renderCluster } from "../../src/render.js";
import { SpecError } from "../../src/index.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";
import { EXAMPLES as SPECS, artifactAt, renderExample, type ExampleName } from "../helpers/examples.js";

const NAMES: ExampleName[] = ["train-ha", "lab"];

/** `listen NAME` blocks of a haproxy.cfg: name → lines (trimmed, without comments). */
function listeners(cfg: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const raw of cfg.split("\n")) {
    const line = raw.trim();
    const m = /^listen (\S+)$/.exec(line);
    if (m) out.set(m[1]!, (cur = []));
    else if (/^(global|defaults|frontend|backend)\b/.test(line)) cur = undefined;
    else if (cur && line && !line.startsWith("#")) cur.push(line);
  }
  return out;
}

function controllers(name: ExampleName) {
  return SPECS[name].nodes.filter((n) => n.roles.includes("controller"));
}

describe("haproxy.cfg", () => {
  for (const name of NAMES) {
    const r = renderExample(name);
    const ctl = controllers(name);
    const vip = SPECS[name].vip.address;

    it(`${name}: on every controller only, secret, root-only`, () => {
      const cfgs = r.artifacts.filter((a) => a.path === HAPROXY_CFG);
      expect(cfgs.map((a) => a.node)).toEqual(ctl.map((c) => c.hostname));
      for (const a of cfgs) {
        expect(a.secret).toBe(true);
        expect(a.mode & 0o077).toBe(0);
        expect(a.owner).toBe("root");
      }
    });

    it(`${name}: the stats socket is root-only at level operator (ha-gen changes no server through it)`, () => {
      for (const a of r.artifacts.filter((x) => x.path === HAPROXY_CFG)) {
        const sockets = a.content.split("\n").filter((l) => /^\s*stats socket /.test(l));
        expect(sockets.map((l) => l.trim())).toEqual([`stats socket ${HAPROXY_CHROOT}/stats mode 600 level operator`]);
      }
    });

    it(`${name}: every service on the VIP with one server per controller, at the backend port`, () => {
      const cfg = artifactAt(r, ctl[0]!.hostname, HAPROXY_CFG).content;
      const ls = listeners(cfg);
      // Both examples use the 11 default services.
      expect(SPECS[name].haproxy?.services).toBeUndefined();
      expect([...ls.keys()]).toEqual([
        "stats",
        "dashboard_cluster",
        "galera_cluster",
        "rabbitmq_cluster",
        "glance_api_cluster",
        "keystone_public_cluster",
        "nova_compute_api_cluster",
        "nova_placement_cluster",
        "nova_metadata_api_cluster",
        "nova_vncproxy_cluster",
        "neutron_api_cluster",
        "cinder_api_cluster",
      ]);
      for (const [lname, lines] of ls) {
        if (lname === "stats") continue;
        const bind = lines.find((l) => l.startsWith("bind "))!;
        expect(bind).toMatch(new RegExp(`^bind ${vip.replaceAll(".", "\\.")}:\\d+$`));
        const servers = lines.filter((l) => l.startsWith("server "));
        const port = lname === "rabbitmq_cluster" ? "5672" : bind.split(":")[1];
        expect(servers.map((s) => s.split(" ").slice(1, 3).join(" "))).toEqual(
          ctl.map((c) => `${c.hostname} ${c.addresses.management}:${port}`),
        );
        for (const s of servers) expect(s.split(" ")).toContain("check");
      }
    });

    it(`${name}: tcplog exactly in mode tcp listeners, httplog exactly in mode http ones`, () => {
      const ls = listeners(artifactAt(r, ctl[0]!.hostname, HAPROXY_CFG).content);
      for (const [lname, lines] of ls) {
        const mode = lines.find((l) => l.startsWith("mode "))?.split(" ")[1];
        expect(mode, lname).toMatch(/^(tcp|http)$/);
        expect(lines.includes("option tcplog"), lname).toBe(mode === "tcp");
        expect(lines.includes("option httplog"), lname).toBe(mode === "http");
      }
      expect(artifactAt(r, ctl[0]!.hostname, HAPROXY_CFG).content).not.toMatch(
        /^defaults[\s\S]*option (tcp|http)log[\s\S]*^listen stats/m,
      );
    });

    it(`${name}: galera is checked through clustercheck over HTTP, one writer, the others backup`, () => {
      const g = listeners(artifactAt(r, ctl[0]!.hostname, HAPROXY_CFG).content).get("galera_cluster")!;
      expect(g).toContain("mode tcp");
      expect(g).toContain("option httpchk");
      expect(g).toContain("http-check expect status 200");
      const failover = "on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions";
      expect(g).toContain(`default-server port 9200 inter 1s rise 2 fall 2 maxconn 4080 ${failover}`);
      // Pooled connections idle up to oslo.db's recycle time (1h): HAProxy must not cut them first.
      // `option tcpka` is clitcpka and srvtcpka: keepalives on both sides.
      expect(g).toEqual(expect.arrayContaining(["timeout client 90m", "timeout server 90m", "option tcpka"]));
      const servers = g.filter((l) => l.startsWith("server "));
      expect(servers[0]).not.toMatch(/\bbackup\b/);
      for (const s of servers.slice(1)) expect(s).toMatch(/ backup$/);
      expect(servers).toHaveLength(ctl.length);
    });

    it(`${name}: noVNC's websockets get a tunnel timeout; listeners without their own keep the 1m defaults`, () => {
      const ls = listeners(artifactAt(r, ctl[0]!.hostname, HAPROXY_CFG).content);
      expect(ls.get("nova_vncproxy_cluster")).toContain("timeout tunnel 1h");
      expect([...ls].filter(([, lines]) => lines.some((l) => l.startsWith("timeout tunnel"))).map(([n]) => n)).toEqual([
        "nova_vncproxy_cluster",
      ]);
      expect(ls.get("keystone_public_cluster")!.some((l) => l.startsWith("timeout "))).toBe(false);
    });

    it(
      `${name}: stats on the VIP and the node's own address with the generated password, ` +
        `never 0.0.0.0 or admin:admin`,
      () => {
        for (const c of ctl) {
          const cfg = artifactAt(r, c.hostname, HAPROXY_CFG).content;
          const stats = listeners(cfg).get("stats")!;
          expect(stats.filter((l) => l.startsWith("bind "))).toEqual([
            `bind ${vip}:1080`,
            `bind ${c.addresses.management}:1080`,
          ]);
          expect(stats).toContain(`stats auth admin:${FAKE_SECRETS.haproxy_stats_pass}`);
          expect(stats).toContain("stats realm OpenStack\\ Haproxy");
          expect(cfg).not.toMatch(/^\s*bind (0\.0\.0\.0|\*|:)/m);
          expect(cfg).not.toContain("admin:admin");
        }
      },
    );

    it(`${name}: logs to /dev/log inside the chroot (the rsyslog socket), no UDP syslog`, () => {
      const cfg = artifactAt(r, ctl[0]!.hostname, HAPROXY_CFG).content;
      expect(cfg).toMatch(/^ {4}log \/dev\/log local0$/m);
      expect(cfg).toContain(`chroot ${HAPROXY_CHROOT}`);
      expect(HAPROXY_LOG_SOCKET).toBe(`${HAPROXY_CHROOT}/dev/log`);
      expect(cfg).not.toMatch(/log 127\.0\.0\.1/);
    });

    it(`${name}: 51-haproxy on every controller, checks the config, keeps haproxy out of systemd's boot`, () => {
      const step = r.plan.steps.find((s) => s.id === "51-haproxy")!;
      expect(step.nodes).toEqual(ctl.map((c) => c.hostname));
      expect(step.mode).toBe("parallel");
      const s = artifactAt(r, ctl[0]!.hostname, scriptPath("51-haproxy")).content;
      expect(s).toContain(`haproxy -c -f ${HAPROXY_CFG}`);
      expect(s).toContain("ensure_disabled haproxy");
      expect(s).not.toMatch(/systemctl (enable|restart) haproxy/);
      expect(s).toMatch(/if systemctl is-active --quiet haproxy; then\n\s+if changed_since_applied haproxy/);
      const ids = r.plan.steps.map((x) => x.id);
      expect(ids.indexOf("50-rsyslog")).toBeLessThan(ids.indexOf("51-haproxy"));
      expect(ids.indexOf("51-haproxy")).toBeLessThan(ids.indexOf("62-pacemaker-resources"));
    });
  }

  it("the Galera listener's limits derive from galera.maxConnections alone, with 16 kept free for MariaDB", () => {
    const limits = (maxConnections?: number, maxconn?: number) => {
      const spec = { ...SPECS.lab, galera: { maxConnections }, haproxy: { maxconn } };
      const cfg = artifactAt(renderCluster(spec, FAKE_SECRETS), "controller01", HAPROXY_CFG).content;
      const g = listeners(cfg).get("galera_cluster")!;
      return {
        global: /^global\n[\s\S]*?^ {4}maxconn (\d+)$/m.exec(cfg)?.[1],
        defaults: /^defaults\n[\s\S]*?^ {4}maxconn (\d+)$/m.exec(cfg)?.[1],
        listener: g.find((l) => l.startsWith("maxconn ")),
        server: / maxconn (\d+)/.exec(g.find((l) => l.startsWith("default-server "))!)?.[1],
        others: [...listeners(cfg)].filter(([n, ls]) => n !== "galera_cluster" && ls.some((l) => /maxconn/.test(l))),
      };
    };
    // Defaults: MariaDB 4096, HAProxy's other listeners 4000 each as the guide.
    const none: unknown[] = [];
    const lab = { global: "8096", defaults: "4000", listener: "maxconn 4096", server: "4080", others: none };
    expect(limits()).toEqual(lab);
    const small = { global: "3000", defaults: "2000", listener: "maxconn 1000", server: "984", others: none };
    expect(limits(1000, 2000)).toEqual(small);
    // The one setting is validated so the servers always get some: at least 32 (16 for HAProxy).
    const refused = (() => {
      try {
        limits(31);
      } catch (e) {
        return e instanceof SpecError ? e.errors.map((i) => i.path) : e;
      }
    })();
    expect(refused).toEqual(["galera.maxConnections"]);
    expect(limits(32).server).toBe("16");
  });

  it("the stats password is escaped for HAProxy (#, backslash) and the realm's space too", () => {
    const r = renderCluster(SPECS.lab, { ...FAKE_SECRETS, haproxy_stats_pass: "a#b\\c:d" });
    const cfg = artifactAt(r, "controller01", HAPROXY_CFG).content;
    expect(cfg).toContain("stats auth admin:a\\#b\\\\c:d\n");
  });

  it("spec services, timeouts, check settings and stats come through", () => {
    const spec = {
      ...SPECS.lab,
      haproxy: {
        maxconn: 123,
        stats: { port: 8404, user: "ops", realm: "Lab stats" },
        services: [
          {
            name: "api",
            port: 8080,
            backendPort: 18080,
            mode: "http" as const,
            balance: "leastconn" as const,
            httpCheck: true,
            tcpKeepalive: false,
            timeoutClient: "2m",
            check: { inter: "3s", rise: 3, fall: 4 },
          },
          {
            name: "db",
            port: 3307,
            mode: "tcp" as const,
            httpCheck: true,
            checkPort: 9201,
            activeBackup: true,
            timeoutTunnel: "2h",
          },
        ],
      },
    };
    const cfg = artifactAt(renderCluster(spec, FAKE_SECRETS), "controller02", HAPROXY_CFG).content;
    const ls = listeners(cfg);
    expect([...ls.keys()]).toEqual(["stats", "api", "db"]);
    expect(ls.get("stats")).toEqual(
      expect.arrayContaining([
        "bind 198.51.100.10:8404",
        "bind 198.51.100.12:8404",
        `stats auth ops:${FAKE_SECRETS.haproxy_stats_pass}`,
        "stats realm Lab\\ stats",
      ]),
    );
    expect(ls.get("api")).toEqual(
      expect.arrayContaining([
        "bind 198.51.100.10:8080",
        "balance leastconn",
        "option httpchk",
        "timeout client 2m",
        "default-server inter 3s rise 3 fall 4",
        "server controller03 198.51.100.13:18080 check",
      ]),
    );
    expect(ls.get("api")).not.toContain("option tcpka");
    expect(ls.get("db")).toContain("timeout tunnel 2h");
    expect(ls.get("db")!.some((l) => l.startsWith("timeout client"))).toBe(false);
    expect(ls.get("api")).not.toContain("http-check expect status 200");
    expect(ls.get("db")).toEqual(
      expect.arrayContaining([
        "default-server port 9201 inter 2000 rise 2 fall 5 " +
          "on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions",
        "server controller02 198.51.100.12:3307 check backup",
      ]),
    );
    expect(cfg).toMatch(/^ {4}maxconn 123$/m);
  });
});
