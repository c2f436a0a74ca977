import { describe, expect, it } from "vitest";
import { CLUSTERCHECK_BIN, servicesLine, XINETD_SERVICE } from "../../generators/clustercheck.js";
import { CLUSTERCHECK_CNF } from "../../generators/galera.js";
import { MARKER } from "../../generators/common.js";
import { resolveCluster } from "../../src/core/model.js";
import { osProfile } from "../../src/core/os.js";
import { renderCluster } from "../../src/render.js";
import { validateSpec } from "../../src/core/spec/validate.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";
import { artifactAt, EXAMPLES, renderExample, type ExampleName } from "../helpers/examples.js";
import { cnfValue, parseCnf } from "../helpers/galera-cnf.js";

/** `key = value` attributes of the one service block of an xinetd file. */
function xinetdAttrs(text: string): { name: string; attrs: Map<string, string> } {
  const m = /^service\s+(\S+)\s*\n\{\n([\s\S]*?)\n\}\s*$/m.exec(text);
  if (!m) throw new Error("no service block");
  const attrs = new Map<string, string>();
  for (const line of m[2]!.split("\n")) {
    const kv = /^\s*(\S+)\s*=\s*(.*?)\s*$/.exec(line);
    if (!kv) throw new Error(`bad line ${line}`);
    if (attrs.has(kv[1]!)) throw new Error(`${kv[1]} twice`);
    attrs.set(kv[1]!, kv[2]!);
  }
  return { name: m[1]!, attrs };
}

describe.each(["train-ha", "lab"] as ExampleName[])("clustercheck generator: %s", (name) => {
  const r = renderExample(name);
  const spec = EXAMPLES[name];
  const os = osProfile(spec.os ?? "centos8");
  const controllers = spec.nodes.filter((n) => n.roles.includes("controller"));
  const mgmt = spec.networks.management.cidr;

  it.each(controllers.map((c) => [c.hostname, c.addresses.management] as const))(
    "%s: xinetd service as in the guide, hardened",
    (host, addr) => {
      const a = artifactAt(r, host, XINETD_SERVICE);
      expect(a.mode).toBe(0o644);
      const { name: svc, attrs } = xinetdAttrs(a.content);
      expect(svc).toBe("galera-monitor");
      expect(attrs.get("port")).toBe("9200");
      expect(attrs.get("bind")).toBe(addr);
      expect(attrs.get("only_from")!.split(/\s+/)).toEqual([mgmt, "127.0.0.1"]);
      // Its own system user (00-prepare creates it), not the guide's root nor a shared nobody.
      expect(attrs.get("user")).toBe("clustercheck");
      expect(attrs.get("group")).toBe("clustercheck");
      expect(attrs.get("type")).toBe("UNLISTED");
      expect(attrs.get("server")).toBe(CLUSTERCHECK_BIN);
      expect(attrs.get("disable")).toBe("no");
      expect(attrs.get("wait")).toBe("no");
      expect(attrs.get("socket_type")).toBe("stream");
      expect(attrs.has("groups")).toBe(false);
    },
  );

  it("ships our own clustercheck and its credentials readable by the clustercheck group only", () => {
    for (const c of controllers) {
      const bin = artifactAt(r, c.hostname, CLUSTERCHECK_BIN);
      expect(bin).toMatchObject({ mode: 0o755, secret: false });
      expect(bin.content.startsWith("#!/bin/bash\n")).toBe(true);
      expect(bin.content).toContain(`CREDENTIALS=${CLUSTERCHECK_CNF}\n`);
      expect(bin.content).toContain('--defaults-extra-file="$CREDENTIALS"');
      expect(bin.content).not.toMatch(/wget|curl|github/i);
      const cred = artifactAt(r, c.hostname, CLUSTERCHECK_CNF);
      expect(cred).toMatchObject({ mode: 0o640, owner: "root", group: "clustercheck", secret: true });
      const g = parseCnf(cred.content);
      expect(cnfValue(g, "client", "user")).toBe("clustercheck");
      expect(cnfValue(g, "client", "password")).toBe(FAKE_SECRETS.clustercheck_pass);
      expect(cnfValue(g, "client", "socket")).toBe(os.mysqlSocket);
    }
    expect(r.artifacts.filter((a) => a.path === CLUSTERCHECK_BIN).map((a) => a.node)).toEqual(
      controllers.map((c) => c.hostname),
    );
  });

  it("runs 23-clustercheck rolling on every controller, after the Galera steps", () => {
    const ids = r.plan.steps.map((s) => s.id);
    const step = r.plan.steps.find((s) => s.id === "23-clustercheck")!;
    // The writer (HAProxy's active server, the first controller) last.
    const order = [...controllers.slice(1), controllers[0]!].map((c) => c.hostname);
    expect(step).toMatchObject({ mode: "rolling", nodes: order });
    expect(ids.indexOf("22-galera-secure")).toBeLessThan(ids.indexOf("23-clustercheck"));
    for (const c of controllers) {
      const s = artifactAt(r, c.hostname, "/usr/local/lib/ha-gen/23-clustercheck.sh").content;
      expect(s).toContain(`ADDRESS=${c.addresses.management}\n`);
      expect(s).toContain("PORT=9200\n");
      expect(s).toContain("roll_service xinetd clustercheck");
      expect(s).toContain("ensure_enabled xinetd");
      expect(s).toContain(`GALERA_SIZE=${controllers.length}\n`);
    }
  });

  it("manages one /etc/services line", () => {
    const v = validateSpec(spec);
    if (!v.ok) throw new Error("example invalid");
    const line = servicesLine(resolveCluster(v.spec, FAKE_SECRETS));
    expect(line).toMatch(/^galera-monitor 9200\/tcp #/);
    const s = artifactAt(r, controllers[0]!.hostname, "/usr/local/lib/ha-gen/23-clustercheck.sh").content;
    expect(s).toContain(`SERVICES_LINE='${line}'\n`);
  });

  it("marks every file and keeps secrets in secret files only", () => {
    for (const a of r.artifacts.filter((x) => x.family === "clustercheck")) {
      expect(a.content).toContain(MARKER);
      if (!a.secret) for (const s of Object.values(FAKE_SECRETS)) expect(a.content).not.toContain(s);
    }
  });
});

describe("clustercheck generator: spec settings", () => {
  it("takes the port and user from the spec", () => {
    const r = renderCluster(
      {
        ...EXAMPLES.lab,
        clustercheck: { port: 9300, user: "hcheck" },
        // HAProxy's Galera check must follow the port (validation holds them together).
        haproxy: {
          services: [
            { name: "galera_cluster", port: 3306, mode: "tcp", httpCheck: true, checkPort: 9300, activeBackup: true },
          ],
        },
      },
      FAKE_SECRETS,
    );
    expect(xinetdAttrs(artifactAt(r, "controller03", XINETD_SERVICE).content).attrs.get("port")).toBe("9300");
    expect(cnfValue(parseCnf(artifactAt(r, "controller03", CLUSTERCHECK_CNF).content), "client", "user")).toBe(
      "hcheck",
    );
    expect(artifactAt(r, "controller01", "/etc/ha-gen/galera-secure.sql").content).toContain(
      "CREATE USER IF NOT EXISTS 'hcheck'@'localhost'",
    );
    expect(artifactAt(r, "controller03", "/usr/local/lib/ha-gen/23-clustercheck.sh").content).toContain(
      "SERVICES_LINE='galera-monitor 9300/tcp",
    );
  });
});
