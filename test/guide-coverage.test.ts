import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { HAPROXY_CFG } from "../generators/haproxy.js";
import { GUIDE_LINES } from "./fixtures/guide-inventory.js";
import { renderExample } from "./helpers/examples.js";

/**
 * Every package, service, HAProxy directive and listen section of the guide is in the render of
 * its own cluster (examples/train-ha, CentOS 8) or named in a row of the README's "Differences
 * from the guide"; every guide line ha-gen renders differently (CHANGED) has such a row too. A
 * change that drops one of them, or a row, fails here.
 */

const REPO = resolve(import.meta.dirname, "..");
const text = GUIDE_LINES.map(([, l]) => l);
/** The command of a line with a shell prompt (`[root@controller01 ~]# yum …`). */
const command = (l: string) => l.replace(/^\[[^\]]+\]#\s*/, "").trim();

function guidePackages(): string[] {
  const out: string[] = [];
  for (const l of text.map(command)) {
    const yum = /^yum install (.*)$/.exec(l);
    if (yum) out.push(...yum[1]!.split(/\s+/).filter((w) => w && !w.startsWith("-")));
    // rpm -Uvh/-ivh of a file or URL: the package name without version and architecture.
    const rpm = /^rpm -\w+ \S*?([A-Za-z][\w.+-]*?)-(?:latest-)?\d[\w.-]*\.rpm$/.exec(l);
    if (rpm) out.push(rpm[1]!);
  }
  return [...new Set(out)];
}

function guideServices(): string[] {
  const out: string[] = [];
  for (const l of text.map(command)) {
    const m = /^systemctl (?:enable|start|restart|disable|stop) ([\w@.-]+?)(?:\.service)?(?:$|[^\w@.-])/.exec(l);
    if (m) out.push(m[1]!);
    // pacemaker and corosync: started and enabled through pcs.
    const pcs = /^pcs cluster (start|enable) --all$/.exec(l);
    if (pcs) out.push(`pcs cluster --${pcs[1]}`);
  }
  return [...new Set(out)];
}

/** A HAProxy directive's key: `option x`, `timeout x`, `stats x`, or the keyword alone. */
function directiveKey(line: string): string {
  const w = line.replace(/#.*/, "").trim().split(/\s+/);
  return ["option", "timeout", "stats"].includes(w[0]!) ? `${w[0]} ${w[1]}` : w[0]!;
}

function guideDirectives(): string[] {
  const start = text.indexOf("global");
  const end = text.indexOf("timeout check 10s");
  return [
    ...new Set(
      text
        .slice(start + 1, end + 1)
        .filter((l) => !["defaults", ""].includes(l))
        .map(directiveKey),
    ),
  ];
}

function guideListens(): string[] {
  return text.flatMap((l) => /^\s*listen (\S+)$/.exec(l)?.[1] ?? []);
}

/** The guide column of every row of the README's "Differences from the guide", and its backticked spans. */
function differenceRows(): string[] {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  const start = readme.indexOf("## Differences from the guide");
  const end = readme.indexOf("\n## ", start + 1);
  expect(start).toBeGreaterThan(0);
  return readme
    .slice(start, end)
    .split("\n")
    .filter((l) => l.startsWith("| ") && !l.startsWith("| guide |"))
    .map((l) => l.split(" | ")[0]!.slice(2));
}

function namedInRow(name: string): boolean {
  const word = new RegExp(`(^|[^\\w-])${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^\\w-])`);
  return differenceRows().some((g) => [...g.matchAll(/`([^`]+)`/g)].some((m) => word.test(m[1]!)));
}

/**
 * Guide text ha-gen renders differently although the name it belongs to is in the render: each
 * must appear, verbatim, in a row's guide column.
 */
const CHANGED = [
  "ssh-copy-id",
  "allow 10.15.253.163/12",
  "chronyc sources",
  "check inter 2000 rise 2 fall 5",
  "stats socket /var/lib/haproxy/stats",
  "pidfile /var/run/haproxy.pid",
  "local0.=info",
  "option tcplog",
  "GRANT PROCESS",
  "wap-wsp 9200/tcp",
  "cluster_test",
  "guest [administrator]",
  "0.0.0.0:25672",
  "负载均衡1节点",
  "systemctl enable haproxy",
  "systemctl enable pcsd",
  "haproxy.cfg.bak",
];

describe("every part of the guide is rendered or accounted for in the README", () => {
  const r = renderExample("train-ha");
  const scripts = r.artifacts.filter((a) => a.path.endsWith(".sh")).map((a) => a.content);
  const rendered = {
    packages: new Set(
      r.artifacts
        .filter((a) => a.path.endsWith("/00-prepare.sh"))
        .flatMap((a) => [
          ...(/\npackages=\(\n([\s\S]*?)\n\)\n/.exec(a.content)?.[1] ?? "").split("\n").map((l) => l.trim()),
          ...(/\nrelease_packages=\(([^)]*)\)/.exec(a.content)?.[1] ?? "").split(/\s+/),
        ])
        .filter(Boolean),
    ),
    haproxy: r.artifacts.find((a) => a.node === "controller01" && a.path === HAPROXY_CFG)!.content,
  };
  const lines = scripts.flatMap((s) => s.split("\n"));
  const manages = /\b(systemctl|ensure_enabled|ensure_disabled|restart_if_changed)\b/;
  const managedUnit = (unit: string) =>
    unit.startsWith("pcs cluster --")
      ? lines.some((l) => /^\s*pcs cluster setup /.test(l) && l.includes(` ${unit.slice(12)}`))
      : lines.some((l) => manages.test(l) && new RegExp(`(^|[\\s'"])${unit}($|[\\s'".])`).test(l));

  it("the fixture's lines are parsed into the guide's names", () => {
    const packages = ["sshpass", "crudini", "libibverbs", "python2-PyMySQL", "fence-agents", "haproxy", "epel-release"];
    expect(guidePackages()).toEqual(expect.arrayContaining([...packages, "openstack-utils"]));
    const services = ["chronyd", "firewalld", "mariadb", "xinetd", "rabbitmq-server", "memcached", "etcd", "pcsd"];
    expect(guideServices()).toEqual(expect.arrayContaining([...services, "haproxy", "rsyslog", "pcs cluster --start"]));
    const directives = ["log", "pidfile", "stats socket", "option httplog", "timeout check"];
    expect(guideDirectives()).toEqual(expect.arrayContaining(directives));
    expect(guideListens()).toHaveLength(12);
  });

  it("packages: installed on the guide's nodes, or named in a difference row", () => {
    const missing = guidePackages().filter((p) => !rendered.packages.has(p) && !namedInRow(p));
    expect(missing).toEqual([]);
  });

  it("services: managed by a step script, or named in a difference row", () => {
    const missing = guideServices().filter((u) => !managedUnit(u) && !namedInRow(u));
    expect(missing).toEqual([]);
  });

  it("HAProxy global and defaults directives: in haproxy.cfg, or named in a difference row", () => {
    const cfgLines = rendered.haproxy.split("\n").filter((l) => l.trim() && !l.trim().startsWith("#"));
    const cfgKeys = new Set(cfgLines.map(directiveKey));
    const missing = guideDirectives().filter((d) => !cfgKeys.has(d) && !namedInRow(d));
    expect(missing).toEqual([]);
  });

  it("listen sections: every one in haproxy.cfg, or named in a difference row", () => {
    const inCfg = (n: string) => new RegExp(`^listen ${n}$`, "m").test(rendered.haproxy);
    const missing = guideListens().filter((n) => !inCfg(n) && !namedInRow(n));
    expect(missing).toEqual([]);
  });

  it("guide lines rendered differently have a difference row", () => {
    for (const c of CHANGED)
      expect(
        text.some((l) => l.includes(c)),
        `"${c}" is guide text`,
      ).toBe(true);
    const rows = differenceRows();
    expect(CHANGED.filter((c) => !rows.some((g) => g.includes(c)))).toEqual([]);
  });

  it("broken sample: a package dropped from the render and from the README is reported", () => {
    expect(rendered.packages.has("xinetd")).toBe(true);
    expect(namedInRow("xinetd-not-a-package")).toBe(false);
    const without = [...rendered.packages].filter((p) => p !== "xinetd");
    expect(guidePackages().filter((p) => !without.includes(p) && !namedInRow(p))).toEqual(["xinetd"]);
  });

  const seed = resolve(REPO, "..", "shared", "seed", "000_691bfdc0f66772f6.txt");
  const needsSeed = "the fixture's lines are the seed's, verbatim (needs ../shared/seed beside the checkout)";
  it.skipIf(!existsSync(seed))(needsSeed, () => {
    const lines = readFileSync(seed, "utf8").split("\n");
    for (const [n, l] of GUIDE_LINES) expect(lines[n - 1], `line ${n}`).toBe(l);
  });
});
