import { beforeAll, describe, expect, it } from "vitest";
import { scriptPath } from "../../generators/common.js";
import { OPENSTACK_CONFIG, PACKAGES } from "../../generators/prepare.js";
import { SCRIPT_LIB } from "../../src/core/os.js";
import { requireTool, run } from "../helpers/checker.js";
import { artifactAt, renderExample, type ExampleName } from "../helpers/examples.js";
import { changedLines, sandbox, STUB_STATE, SYSTEMCTL_STUB } from "../helpers/pacemaker-sandbox.js";

const SCRIPT = scriptPath("00-prepare");

beforeAll(() => requireTool("bash", "shellcheck", "unshare", "chroot", "ip"));

describe("00-prepare scripts: bash -n and shellcheck", () => {
  for (const name of ["train-ha", "lab"] as ExampleName[]) {
    it(`${name}: every distinct prepare script parses and is shellcheck-clean`, () => {
      const r = renderExample(name);
      const bodies = new Set(r.artifacts.filter((a) => a.path === SCRIPT).map((a) => a.content));
      // One per node: each sets its own hostname.
      expect(bodies.size).toBe(name === "train-ha" ? 9 : 3);
      for (const s of bodies) {
        expect(run("bash", ["-n"], { input: s }).status).toBe(0);
        const sc = run("shellcheck", ["-s", "bash", "-"], { input: s });
        expect(sc.status, sc.stdout).toBe(0);
      }
    });
  }
  it("broken sample: shellcheck rejects an unquoted array expansion", () => {
    const s = artifactAt(renderExample("lab"), "controller01", SCRIPT).content.replace(
      'installed "$p" || missing+=("$p")',
      "installed $p || missing+=($p)",
    );
    expect(run("shellcheck", ["-s", "bash", "-"], { input: s }).status).not.toBe(0);
  });
});

/** Stubs: package state in STUB_STATE/installed (one name a line), calls logged to STUB_STATE/calls. */
const PKG_STATE = `${STUB_STATE}/installed`;
/** The kernel's hostname is STUB_STATE/hostname (the sandbox shares this machine's); hostnamectl sets both. */
const HOSTNAME_STUBS = {
  hostname: `cat ${STUB_STATE}/hostname 2>/dev/null || echo localhost`,
  hostnamectl: `echo "hostnamectl $*" >> ${STUB_STATE}/calls
[[ "$1" == set-hostname && -n "$2" ]] || exit 1
printf '%s\\n' "$2" > ${STUB_STATE}/hostname
printf '%s\\n' "$2" > /etc/hostname`,
};
const DEBIAN_STUBS = {
  ...HOSTNAME_STUBS,
  systemctl: SYSTEMCTL_STUB,
  "dpkg-query": `p=\${!#}
grep -qxF -- "$p" ${PKG_STATE} 2>/dev/null || exit 1
printf 'install ok installed'`,
  "apt-get":
    `echo "apt-get $* policy-rc.d=$([[ -x /usr/sbin/policy-rc.d ]] ` +
    `&& /usr/sbin/policy-rc.d; echo $?)" >> ${STUB_STATE}/calls
seen=0
for a in "$@"; do
  if [[ $seen == 1 && $a != -* && $a != Dpkg::* ]]; then echo "$a" >> ${PKG_STATE}; fi
  [[ $a == install ]] && seen=1
done
exit 0`,
};
const CENTOS_STUBS = {
  ...HOSTNAME_STUBS,
  systemctl: SYSTEMCTL_STUB,
  rpm: `grep -qxF -- "\${!#}" ${PKG_STATE} 2>/dev/null`,
  dnf: `echo "dnf $*" >> ${STUB_STATE}/calls
case "$1 $2" in
  "install -y") shift 2; printf '%s\\n' "$@" >> ${PKG_STATE}
    # A package's files, when the test gives them: STUB_STATE/on-install-<package> runs.
    for p in "$@"; do [[ ! -x ${STUB_STATE}/on-install-$p ]] || ${STUB_STATE}/on-install-$p; done ;;
  "-q repolist") echo "repo id   repo name"; cat ${STUB_STATE}/enabled-repos 2>/dev/null ;;
  "config-manager --set-enabled") shift 2; printf '%s  enabled\\n' "$@" >> ${STUB_STATE}/enabled-repos ;;
  *) echo "dnf stub: unsupported $*" >&2; exit 1 ;;
esac`,
  getenforce: `cat ${STUB_STATE}/selinux`,
  setenforce: `echo "setenforce $*" >> ${STUB_STATE}/calls; [[ $1 == 0 ]] && echo Permissive > ${STUB_STATE}/selinux`,
};

/** The node's scripts and /etc/hosts; its hostname already set unless `hostname` says otherwise. */
function files(name: ExampleName, node: string, hostname = node) {
  const r = renderExample(name);
  // The openstack-config wrapper runs too: 00-prepare checks it answers, with this machine's crudini.
  const own = [SCRIPT_LIB, SCRIPT, "/etc/hosts", OPENSTACK_CONFIG].map((p) => artifactAt(r, node, p));
  return [
    ...own.map((a) => ({ path: a.path, content: a.content, mode: a.mode })),
    { path: `${STUB_STATE}/hostname`, content: `${hostname}\n` },
    { path: "/etc/hostname", content: `${hostname}\n` },
  ];
}

describe.concurrent("00-prepare run for real in a sandboxed copy of this machine (package tools stubbed)", () => {
  it(
    "debian12 controller: installs what is missing under a temporary policy-rc.d, " + "then a rerun changes nothing",
    async () => {
      const res = await sandbox({
        files: files("lab", "controller01"),
        stubs: DEBIAN_STUBS,
        setup: `rm -rf /usr/sbin/policy-rc.d /var/lib/ha-gen\nprintf 'chrony\\nrsyslog\\n' > ${PKG_STATE}`,
        script: SCRIPT,
        runs: 2,
        inspect:
          `cat ${STUB_STATE}/calls; ` +
          `echo "policy-rc.d left: $([[ -e /usr/sbin/policy-rc.d ]] && echo yes || echo no)"; ` +
          `echo "state dir: $([[ -d /var/lib/ha-gen ]] && echo yes || echo no)"
echo "user: $(getent passwd clustercheck | cut -d: -f1,6,7) group: $(id -gn clustercheck)" \
  "system: $(( $(id -u clustercheck) < 1000 ))"`,
      });
      const [first, second] = res.runs;
      expect(first!.status, first!.stderr).toBe(0);
      const all = [...new Set([...PACKAGES.debian12.controller, ...PACKAGES.debian12.every])];
      const missing = all.filter((p) => p !== "chrony" && p !== "rsyslog");
      expect(changedLines(first!)).toEqual([
        "ha-gen:changed created /var/lib/ha-gen",
        `ha-gen:changed installed ${missing.join(" ")}`,
        "ha-gen:changed created system user clustercheck",
      ]);
      expect(second!.status, second!.stderr).toBe(0);
      expect(changedLines(second!)).toEqual([]);
      const apt = res.inspect.split("\n").filter((l) => l.startsWith("apt-get "));
      expect(apt).toHaveLength(1);
      expect(apt[0]).toContain(
        "install -y --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold",
      );
      // Daemons were kept from starting during the install (policy-rc.d answered 101), and the file is gone again.
      expect(apt[0]).toMatch(/policy-rc\.d=101$/);
      expect(res.inspect).toContain("policy-rc.d left: no");
      expect(res.inspect).toContain("state dir: yes");
      // xinetd runs clustercheck as this user; its group alone reads the credentials.
      expect(res.inspect).toContain("user: clustercheck:/nonexistent:/usr/sbin/nologin group: clustercheck system: 1");
    },
  );

  it(
    "centos8 controller: SELinux, firewalld, repositories (either id case), " +
      "packages; then a rerun changes nothing",
    async () => {
      const repos =
        "[HighAvailability]\nname=CentOS Linux 8 - HighAvailability\nenabled=0\n\n" +
        "[powertools]\nname=CentOS Linux 8 - PowerTools\nenabled=0\n";
      const res = await sandbox({
        files: [
          ...files("train-ha", "controller01"),
          { path: "/etc/yum.repos.d/CentOS-ha-gen-test.repo", content: repos },
          { path: "/etc/selinux/config", content: "# SELinux\nSELINUX=enforcing\nSELINUXTYPE=targeted\n" },
        ],
        stubs: CENTOS_STUBS,
        setup:
          `rm -rf /var/lib/ha-gen
echo Enforcing > ${STUB_STATE}/selinux
mkdir -p ${STUB_STATE}/systemd && touch ${STUB_STATE}/systemd/firewalld.exists ` +
          `${STUB_STATE}/systemd/firewalld.active ${STUB_STATE}/systemd/firewalld.enabled
printf 'baseos  enabled\\nappstream  enabled\\n' > ${STUB_STATE}/enabled-repos
: > ${PKG_STATE}`,
        script: SCRIPT,
        runs: 2,
        inspect:
          `grep -c '^SELINUX=disabled$' /etc/selinux/config; ` +
          `grep -c '^SELINUX=' /etc/selinux/config; cat ${STUB_STATE}/calls`,
      });
      const [first, second] = res.runs;
      expect(first!.status, first!.stderr).toBe(0);
      const c = changedLines(first!);
      expect(c).toContain("ha-gen:changed SELinux permissive until the next boot");
      expect(c).toContain("ha-gen:changed SELinux disabled in /etc/selinux/config (from the next boot)");
      expect(c).toContain("ha-gen:changed stopped firewalld");
      expect(c).toContain("ha-gen:changed disabled firewalld");
      expect(c).toContain("ha-gen:changed installed centos-release-openstack-train yum-utils epel-release");
      expect(c).toContain("ha-gen:changed enabled repositories HighAvailability powertools");
      expect(second!.status, second!.stderr).toBe(0);
      expect(changedLines(second!)).toEqual([]);
      expect(res.inspect.split("\n").slice(0, 2)).toEqual(["1", "1"]);
      expect(res.inspect).toContain("dnf config-manager --set-enabled HighAvailability powertools");
      const installs = res.inspect.split("\n").filter((l) => l.startsWith("dnf install -y "));
      expect(installs).toHaveLength(2);
      for (const p of PACKAGES.centos8.controller) expect(installs[1]!.split(" ")).toContain(p);
    },
  );

  it(
    "centos8: every CentOS repository, also those the release packages add, " +
      "uses the vault instead of the dead mirror list",
    async () => {
      // As CentOS 8.5 and centos-release-openstack-train ship them.
      const baseos = [
        "[baseos]",
        "name=CentOS Linux $releasever - BaseOS",
        "mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=BaseOS&infra=$infra",
        "#baseurl=http://mirror.centos.org/$contentdir/$releasever/BaseOS/$basearch/os/",
        "gpgcheck=1",
        "enabled=1",
        "",
      ].join("\n");
      const train =
        "[centos-openstack-train]\nname=CentOS-8 - OpenStack train\n" +
        "baseurl=http://mirror.centos.org/$contentdir/$releasever/cloud/$basearch/openstack-train/\n" +
        "gpgcheck=1\nenabled=1\n";
      const epel =
        "[epel]\nmetalink=https://mirrors.fedoraproject.org/metalink?repo=epel-8&arch=$basearch\nenabled=1\n";
      const repos = "[HighAvailability]\nenabled=0\n\n[powertools]\nenabled=0\n";
      const res = await sandbox({
        files: [
          ...files("train-ha", "controller01"),
          { path: "/etc/yum.repos.d/CentOS-Linux-BaseOS.repo", content: baseos },
          { path: "/etc/yum.repos.d/CentOS-ha-gen-test.repo", content: repos },
          { path: "/etc/yum.repos.d/epel.repo", content: epel },
          { path: "/root/release-files/CentOS-OpenStack-train.repo", content: train },
          { path: "/etc/selinux/config", content: "SELINUX=disabled\n" },
        ],
        stubs: CENTOS_STUBS,
        setup:
          `rm -rf /var/lib/ha-gen
echo Disabled > ${STUB_STATE}/selinux
printf 'baseos  enabled\\n' > ${STUB_STATE}/enabled-repos
printf '#!/bin/bash\\ncp /root/release-files/CentOS-OpenStack-train.repo /etc/yum.repos.d/\\n' ` +
          `> ${STUB_STATE}/on-install-centos-release-openstack-train
chmod +x ${STUB_STATE}/on-install-centos-release-openstack-train
: > ${PKG_STATE}`,
        script: SCRIPT,
        runs: 2,
        inspect:
          "cat /etc/yum.repos.d/CentOS-Linux-BaseOS.repo " +
          "/etc/yum.repos.d/CentOS-OpenStack-train.repo /etc/yum.repos.d/epel.repo",
      });
      const [first, second] = res.runs;
      expect(first!.status, first!.stderr).toBe(0);
      const c = changedLines(first!);
      expect(c).toContain("ha-gen:changed pointed CentOS-Linux-BaseOS.repo at https://vault.centos.org");
      expect(c).toContain("ha-gen:changed pointed CentOS-OpenStack-train.repo at https://vault.centos.org");
      expect(c.indexOf("ha-gen:changed pointed CentOS-Linux-BaseOS.repo at https://vault.centos.org")).toBeLessThan(
        c.indexOf("ha-gen:changed installed centos-release-openstack-train yum-utils epel-release"),
      );
      expect(second!.status, second!.stderr).toBe(0);
      expect(changedLines(second!)).toEqual([]);
      expect(res.inspect).toBe(
        `${[
          "[baseos]",
          "name=CentOS Linux $releasever - BaseOS",
          "#mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=BaseOS&infra=$infra",
          "baseurl=https://vault.centos.org/$contentdir/$releasever/BaseOS/$basearch/os/",
          "gpgcheck=1",
          "enabled=1",
          "[centos-openstack-train]",
          "name=CentOS-8 - OpenStack train",
          "baseurl=https://vault.centos.org/$contentdir/$releasever/cloud/$basearch/openstack-train/",
          "gpgcheck=1",
          "enabled=1",
          ...epel.trimEnd().split("\n"),
        ].join("\n")}\n`,
      );
    },
  );

  it("centos8: a failing `dnf repolist` stops the step with a message, not silently", async () => {
    const res = await sandbox({
      files: [...files("train-ha", "compute01"), { path: "/etc/selinux/config", content: "SELINUX=disabled\n" }],
      stubs: CENTOS_STUBS,
      setup: `echo Disabled > ${STUB_STATE}/selinux
rm -f ${STUB_STATE}/enabled-repos
printf 'centos-release-openstack-train\\nyum-utils\\nepel-release\\n' > ${PKG_STATE}`,
      script: SCRIPT,
      runs: 1,
      inspect: "true",
    });
    expect(res.runs[0]!.status).not.toBe(0);
    expect(res.runs[0]!.stderr).toContain("cannot list the enabled repositories (dnf repolist failed; see above)");
  });

  it("centos8 compute node: only chrony, the client and crudini", async () => {
    const repos = "[ha]\nenabled=1\n\n[PowerTools]\nenabled=1\n";
    const res = await sandbox({
      files: [
        ...files("train-ha", "compute01"),
        { path: "/etc/yum.repos.d/CentOS-ha-gen-test.repo", content: repos },
        { path: "/etc/selinux/config", content: "SELINUX=disabled\n" },
      ],
      stubs: CENTOS_STUBS,
      setup: `rm -rf /var/lib/ha-gen
echo Disabled > ${STUB_STATE}/selinux
printf 'ha  enabled\\nPowerTools  enabled\\n' > ${STUB_STATE}/enabled-repos
printf 'centos-release-openstack-train\\nyum-utils\\nepel-release\\n' > ${PKG_STATE}`,
      script: SCRIPT,
      runs: 1,
      inspect: `cat ${STUB_STATE}/calls`,
    });
    expect(res.runs[0]!.status, res.runs[0]!.stderr).toBe(0);
    expect(changedLines(res.runs[0]!)).toEqual([
      "ha-gen:changed created /var/lib/ha-gen",
      "ha-gen:changed installed chrony python3-openstackclient crudini",
    ]);
    const dnf = res.inspect.split("\n").filter((l) => l.startsWith("dnf "));
    expect(dnf).toEqual(["dnf -q repolist --enabled", "dnf install -y chrony python3-openstackclient crudini"]);
  });

  it("sets the spec's hostname once (kernel and /etc/hostname), and stops on a 127.0.1.1 line for it", async () => {
    const res = await sandbox({
      files: files("lab", "controller02", "localhost"),
      stubs: DEBIAN_STUBS,
      setup: `rm -rf /usr/sbin/policy-rc.d\nprintf '%s\\n' ${PACKAGES.debian12.controller.join(" ")} > ${PKG_STATE}`,
      script: SCRIPT,
      runs: 2,
      inspect: `grep hostnamectl ${STUB_STATE}/calls; cat /etc/hostname`,
    });
    const [first, second] = res.runs;
    expect(first!.status, first!.stderr).toBe(0);
    expect(changedLines(first!)).toContain("ha-gen:changed set the hostname to controller02");
    expect(second!.status, second!.stderr).toBe(0);
    expect(changedLines(second!)).toEqual([]);
    expect(res.inspect.trim().split("\n")).toEqual(["hostnamectl set-hostname controller02", "controller02"]);

    // As Debian's installer leaves it: the node's own name on a loopback line before ha-gen's.
    const r = renderExample("lab");
    const loopback = `127.0.1.1 controller02\n${artifactAt(r, "controller02", "/etc/hosts").content}`;
    const bad = await sandbox({
      files: [
        ...files("lab", "controller02").filter((f) => f.path !== "/etc/hosts"),
        { path: "/etc/hosts", content: loopback },
      ],
      stubs: DEBIAN_STUBS,
      setup: `printf '%s\\n' ${PACKAGES.debian12.controller.join(" ")} > ${PKG_STATE}`,
      script: SCRIPT,
      runs: 1,
    });
    expect(bad.runs[0]!.status).not.toBe(0);
    const why = "controller02 resolves to 127.0.1.1, not to its management address 198.51.100.12";
    expect(bad.runs[0]!.stderr).toContain(why);
  });

  it("the RabbitMQ and pacemaker steps refuse to run on a node not named as in the spec", async () => {
    const r = renderExample("lab");
    const step = artifactAt(r, "controller03", scriptPath("60-pcsd"));
    const res = await sandbox({
      files: [...files("lab", "controller03", "node-7f3a"), { path: step.path, content: step.content, mode: 0o755 }],
      stubs: { ...DEBIAN_STUBS, pcs: `echo "pcs $*" >> ${STUB_STATE}/calls` },
      script: step.path,
      runs: 1,
      inspect: `cat ${STUB_STATE}/calls 2>/dev/null || true`,
    });
    expect(res.runs[0]!.status).not.toBe(0);
    expect(res.runs[0]!.stderr).toContain("this node's hostname is node-7f3a, but the spec names it controller03");
    // Nothing ran before the check.
    expect(res.inspect.trim()).toBe("");
  });
});
