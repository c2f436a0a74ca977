import { beforeAll, describe, expect, it } from "vitest";
import { scriptPath } from "../../generators/common.js";
import { HAPROXY_LOGROTATE, RSYSLOG_DROPIN } from "../../generators/rsyslog.js";
import { requireTool, run } from "../helpers/checker.js";
import { artifactAt, renderExample, type ExampleName } from "../helpers/examples.js";
import { checkLogrotate, checkRsyslogDropIn } from "../helpers/rsyslog-check.js";
import { changedLines, sandbox, STUB_STATE, SYSTEMCTL_STUB } from "../helpers/pacemaker-sandbox.js";
import { HAPROXY_LOG_SOCKET } from "../../generators/haproxy.js";
import { SCRIPT_LIB } from "../../src/core/os.js";

const EXAMPLES: { name: ExampleName; main: "debian" | "centos8" }[] = [
  { name: "train-ha", main: "centos8" },
  { name: "lab", main: "debian" },
];
const DROPIN_NAME = RSYSLOG_DROPIN.split("/").pop()!;

beforeAll(() => requireTool("rsyslogd", "logrotate", "unshare", "bash", "shellcheck"));

describe("rsyslog drop-in against rsyslogd -N1 with the node's main configuration", () => {
  for (const { name, main } of EXAMPLES) {
    it(`${name}: accepted with ${main}'s rsyslog.conf (and with the other target's)`, () => {
      const r = renderExample(name);
      const drop = r.artifacts.filter((a) => a.path === RSYSLOG_DROPIN);
      expect(drop.length).toBeGreaterThan(0);
      const contents = new Set(drop.map((a) => a.content));
      for (const content of contents) {
        for (const m of [main, main === "debian" ? "centos8" : "debian"] as const) {
          const c = checkRsyslogDropIn(DROPIN_NAME, content, m);
          expect(c.ok, `${m}: ${c.result.stdout}${c.result.stderr}`).toBe(true);
        }
      }
    });
  }

  it("broken sample: a misspelt imuxsock parameter is rejected", () => {
    const content = artifactAt(renderExample("lab"), "controller01", RSYSLOG_DROPIN).content;
    const broken = content.replace("CreatePath=", "CreatPath=");
    expect(broken).not.toBe(content);
    expect(checkRsyslogDropIn(DROPIN_NAME, broken, "debian").ok).toBe(false);
    expect(checkRsyslogDropIn(DROPIN_NAME, broken, "centos8").ok).toBe(false);
  });

  it("broken sample: loading imuxsock again (the main file already does) is rejected", () => {
    const content = artifactAt(renderExample("train-ha"), "controller01", RSYSLOG_DROPIN).content;
    expect(checkRsyslogDropIn(DROPIN_NAME, `module(load="imuxsock")\n${content}`, "centos8").ok).toBe(false);
  });
});

describe("logrotate entry against logrotate -d", () => {
  for (const { name } of EXAMPLES) {
    it(`${name}: accepted`, () => {
      const c = checkLogrotate(artifactAt(renderExample(name), "controller01", HAPROXY_LOGROTATE).content);
      expect(c.ok, c.result.stdout + c.result.stderr).toBe(true);
    });
  }
  it("broken sample: an unknown directive is rejected", () => {
    const content = artifactAt(renderExample("lab"), "controller01", HAPROXY_LOGROTATE).content;
    expect(checkLogrotate(content.replace("rotate 14", "rotat 14")).ok).toBe(false);
  });
});

describe("50-rsyslog script: bash -n and shellcheck", () => {
  for (const { name } of EXAMPLES) {
    it(`${name}: parses and is shellcheck-clean`, () => {
      const s = artifactAt(renderExample(name), "controller01", scriptPath("50-rsyslog")).content;
      expect(run("bash", ["-n"], { input: s }).status).toBe(0);
      const sc = run("shellcheck", ["-s", "bash", "-"], { input: s });
      expect(sc.status, sc.stdout).toBe(0);
    });
  }
  it("broken sample: bash -n rejects an unclosed if", () => {
    const s = artifactAt(renderExample("lab"), "controller01", scriptPath("50-rsyslog")).content.replace(
      /\nfi\n/,
      "\n",
    );
    expect(run("bash", ["-n"], { input: s }).status).not.toBe(0);
  });
});

describe("50-rsyslog run for real in a sandboxed copy of this machine (systemctl stubbed)", () => {
  it(
    "checks the configuration with rsyslogd -N1, restarts rsyslog once, " +
      "waits for the socket; a rerun changes nothing",
    async () => {
      const r = renderExample("lab");
      const pick = (path: string) => {
        const a = artifactAt(r, "controller01", path);
        return { path: a.path, content: a.content, mode: a.mode };
      };
      const STEP = scriptPath("50-rsyslog");
      // rsyslog's start creates the imuxsock socket, as the real daemon does with CreatePath="on".
      const hook =
        `#!/bin/bash
mkdir -p "$(dirname ${HAPROXY_LOG_SOCKET})"
rm -f ${HAPROXY_LOG_SOCKET}
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).bind(sys.argv[1])' ` +
        `${HAPROXY_LOG_SOCKET}`;
      const res = await sandbox({
        files: [pick(SCRIPT_LIB), pick(RSYSLOG_DROPIN), pick(STEP)],
        stubs: { systemctl: SYSTEMCTL_STUB },
        setup:
          `mkdir -p ${STUB_STATE}/systemd && ` +
          `touch ${STUB_STATE}/systemd/rsyslog.enabled ${STUB_STATE}/systemd/rsyslog.active
rm -f ${HAPROXY_LOG_SOCKET}
cat > ${STUB_STATE}/on-start-rsyslog <<'HOOK'
${hook}
HOOK
chmod +x ${STUB_STATE}/on-start-rsyslog`,
        script: STEP,
        runs: 2,
      });
      const [first, second] = res.runs;
      expect(first!.status, first!.stderr).toBe(0);
      expect(changedLines(first!)).toEqual(["ha-gen:changed restarted rsyslog (configuration changed)"]);
      expect(second!.status, second!.stderr).toBe(0);
      expect(changedLines(second!)).toEqual([]);
    },
  );
});
