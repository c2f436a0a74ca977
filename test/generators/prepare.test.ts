import { describe, expect, it } from "vitest";
import { scriptPath } from "../../generators/common.js";
import { PACKAGES } from "../../generators/prepare.js";
import { renderCluster } from "../../src/render.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";
import { EXAMPLES as SPECS, artifactAt, renderExample } from "../helpers/examples.js";

const SCRIPT = scriptPath("00-prepare");

/** The package array of a prepare script. */
function packages(script: string): string[] {
  const m = /\npackages=\(\n([\s\S]*?)\n\)\n/.exec(script);
  if (!m) throw new Error("no packages=( ... ) in the script");
  return m[1]!.split("\n").map((l) => l.trim());
}

describe("00-prepare", () => {
  it("is the first step, on every node in parallel, before chrony installs nothing itself", () => {
    for (const name of ["train-ha", "lab"] as const) {
      const r = renderExample(name);
      const first = r.plan.steps[0]!;
      expect(first.id).toBe("00-prepare");
      expect(first.mode).toBe("parallel");
      expect(first.nodes).toEqual(SPECS[name].nodes.map((n) => n.hostname));
      expect(r.plan.steps.findIndex((s) => s.id === "10-chrony")).toBeGreaterThan(0);
    }
  });

  it("centos8 points the CentOS repositories at the vault unless told to leave them; debian12 has no such step", () => {
    const vault = artifactAt(renderExample("train-ha"), "controller01", SCRIPT).content;
    expect(vault).toContain("centos_mirror=https://vault.centos.org\n");
    expect(vault.match(/^use_centos_mirror( |$)/gm)).toHaveLength(2); // before and after the release packages
    const own = artifactAt(
      renderCluster(
        { ...SPECS["train-ha"], prepare: { centosMirror: "http://repo.example.lan:8080/centos-vault" } },
        FAKE_SECRETS,
      ),
      "controller01",
      SCRIPT,
    ).content;
    expect(own).toContain("centos_mirror=http://repo.example.lan:8080/centos-vault\n");
    const asIs = artifactAt(
      renderCluster({ ...SPECS["train-ha"], prepare: { centosMirror: "as-installed" } }, FAKE_SECRETS),
      "controller01",
      SCRIPT,
    ).content;
    expect(asIs).not.toContain("centos_mirror");
    expect(artifactAt(renderExample("lab"), "controller01", SCRIPT).content).not.toContain("centos_mirror");
  });

  it(
    "train-ha: controllers get every package the later steps run, " + "the other nodes chrony, the client and crudini",
    () => {
      const r = renderExample("train-ha");
      for (const n of SPECS["train-ha"].nodes) {
        const got = packages(artifactAt(r, n.hostname, SCRIPT).content);
        if (n.roles.includes("controller")) {
          for (const p of [...PACKAGES.centos8.controller, ...PACKAGES.centos8.every]) expect(got).toContain(p);
          const services = ["pcs", "pacemaker", "haproxy", "mariadb-server-galera", "rabbitmq-server", "etcd"];
          services.push("memcached");
          for (const p of [...services, "xinetd", "rsyslog", "libibverbs"]) expect(got).toContain(p);
        } else {
          expect(got).toEqual(["chrony", "python3-openstackclient", "crudini"]);
          // The guide's libibverbs is for MariaDB/Galera: controllers only.
          expect(got).not.toContain("libibverbs");
        }
        expect(new Set(got).size).toBe(got.length);
      }
    },
  );

  it("train-ha: the guide's repositories and settings, without its URLs and EL7 package", () => {
    const s = artifactAt(renderExample("train-ha"), "controller01", SCRIPT).content;
    for (const want of [
      "centos-release-openstack-train",
      "epel-release",
      "dnf config-manager --set-enabled",
      '"HighAvailability ha"',
      '"PowerTools powertools"',
      "setenforce 0",
      "SELINUX=disabled",
      "systemctl stop firewalld",
      "ensure_disabled firewalld",
      "rpm -q --quiet --whatprovides",
    ]) {
      expect(s).toContain(want);
    }
    for (const never of ["koji", "openstack-utils", "rpm -Uvh", "rpm -ivh", "wget", "curl"])
      expect(s).not.toContain(never);
    // Nothing is downloaded from a URL: the only URLs are the CentOS mirror the repositories use.
    for (const line of s.split("\n").filter((l) => /https?:/.test(l)))
      expect(line).toMatch(/(mirrorlist|mirror|vault)\.centos\.org|\$\{centos_mirror\}/);
  });

  it("lab (debian12): apt without recommends, packaged daemons kept stopped, no SELinux or dnf", () => {
    const r = renderExample("lab");
    const s = artifactAt(r, "controller01", SCRIPT).content;
    expect(packages(s)).toEqual([...new Set([...PACKAGES.debian12.controller, ...PACKAGES.debian12.every])]);
    expect(s).toContain("apt-get install -y --no-install-recommends");
    expect(s).toContain("--force-confold");
    expect(s).toContain("exit 101");
    expect(s).toContain("dpkg-query -W");
    for (const never of ["setenforce", "getenforce", "selinux", "dnf ", "rpm "]) expect(s).not.toContain(never);
    // Same body on every controller but for the node's own name and address.
    const bodies = new Set(
      r.artifacts
        .filter((a) => a.path === SCRIPT)
        .map((a) => a.content.replaceAll(a.node, "NODE").replace(/require_hostname "\$node_name" \S+/, "ADDRESS")),
    );
    expect(bodies.size).toBe(1);
  });

  it("creates the state directory and verifies before exiting", () => {
    const s = artifactAt(renderExample("lab"), "controller01", SCRIPT).content;
    expect(s).toContain("install -d -m 0755 /var/lib/ha-gen");
    expect(s).toContain('# Verify.\nrequire_hostname "$node_name" 198.51.100.11\nfor p in "${packages[@]}"; do\n');
    expect(s).toMatch(/for p in "\$\{packages\[@\]\}"; do\n\s+installed "\$p" \|\| die/);
  });

  it("sets each node's hostname from the spec, only when it differs, before anything else", () => {
    const r = renderExample("train-ha");
    for (const n of SPECS["train-ha"].nodes) {
      const s = artifactAt(r, n.hostname, SCRIPT).content;
      expect(s).toContain(`node_name=${n.hostname}\n`);
      const differs = '"$(hostname)" != "$node_name" || "$(cat /etc/hostname 2>/dev/null || true)" != "$node_name"';
      expect(s).toContain(`if [[ ${differs} ]]`);
      expect(s).toMatch(/ != "\$node_name" \]\]; then\n\s+hostnamectl set-hostname "\$node_name"/);
      expect(s).toContain(`require_hostname "$node_name" ${n.addresses.management}\n`);
      expect(s.indexOf("hostnamectl")).toBeLessThan(s.indexOf("packages=("));
    }
    // /etc/hosts (ha-gen's whole file) has no loopback line naming a node: require_hostname can pass.
    const hosts = artifactAt(r, "controller01", "/etc/hosts").content;
    expect(hosts).not.toMatch(/^127\.0\.1\.1/m);
    for (const n of SPECS["train-ha"].nodes) {
      expect(hosts).toMatch(new RegExp(`^${n.addresses.management.replaceAll(".", "\\.")} +${n.hostname}$`, "m"));
    }
  });

  it("checks the hostname first in the RabbitMQ and pacemaker steps of every controller", () => {
    const r = renderExample("lab");
    for (const id of ["30-rabbitmq-start", "60-pcsd"]) {
      for (const n of SPECS.lab.nodes) {
        const s = artifactAt(r, n.hostname, scriptPath(id)).content;
        const check = `require_hostname ${n.hostname} ${n.addresses.management}\n`;
        expect(s).toContain(`. /usr/local/lib/ha-gen/lib.sh\n\n${check}`);
      }
    }
    const lib = artifactAt(r, "controller01", "/usr/local/lib/ha-gen/lib.sh").content;
    expect(lib).toContain("require_hostname() {");
  });

  it("follows spec.prepare: extra packages on every node, SELinux and firewalld left alone when asked", () => {
    const spec = {
      ...SPECS["train-ha"],
      prepare: { disableSelinux: false, disableFirewalld: false, extraPackages: ["openstack-selinux", "chrony"] },
    };
    const r = renderCluster(spec, FAKE_SECRETS);
    for (const node of ["controller01", "cephnode03"]) {
      const s = artifactAt(r, node, SCRIPT).content;
      const got = packages(s);
      expect(got).toContain("openstack-selinux");
      expect(got.filter((p) => p === "chrony")).toHaveLength(1);
      expect(s).not.toContain("setenforce");
      expect(s).not.toMatch(/^[^#]*firewalld/m);
    }
  });
});
