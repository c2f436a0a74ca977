import { describe, expect, it } from "vitest";
import { scriptPath } from "../../generators/common.js";
import { HAPROXY_CFG, HAPROXY_LOG_SOCKET } from "../../generators/haproxy.js";
import { HAPROXY_LOGROTATE, RSYSLOG_DROPIN } from "../../generators/rsyslog.js";
import { sh } from "../../src/core/quote.js";
import { EXAMPLES as SPECS, artifactAt, renderExample } from "../helpers/examples.js";

describe("rsyslog for HAProxy", () => {
  for (const name of ["train-ha", "lab"] as const) {
    const r = renderExample(name);
    const ctl = SPECS[name].nodes.filter((n) => n.roles.includes("controller")).map((n) => n.hostname);

    it(`${name}: a drop-in and a logrotate entry on every controller only, not /etc/rsyslog.conf`, () => {
      expect(r.artifacts.filter((a) => a.path === RSYSLOG_DROPIN).map((a) => a.node)).toEqual(ctl);
      expect(r.artifacts.filter((a) => a.path === HAPROXY_LOGROTATE).map((a) => a.node)).toEqual(ctl);
      expect(r.artifacts.some((a) => a.path === "/etc/rsyslog.conf")).toBe(false);
    });

    it(`${name}: no network input; the socket is HAProxy's /dev/log inside its chroot`, () => {
      const d = artifactAt(r, ctl[0]!, RSYSLOG_DROPIN).content;
      expect(
        d
          .split("\n")
          .filter((l) => !l.startsWith("#"))
          .join("\n"),
      ).not.toMatch(/imudp|imtcp|514/);
      expect(d).toContain(`input(type="imuxsock" Socket="${HAPROXY_LOG_SOCKET}" CreatePath="on")`);
      expect(d).not.toMatch(/module\(load=/);
      expect(artifactAt(r, ctl[0]!, HAPROXY_CFG).content).toContain("log /dev/log local0");
    });

    it(`${name}: the guide's three files by severity, only for HAProxy's local0, then stop`, () => {
      const d = artifactAt(r, ctl[0]!, RSYSLOG_DROPIN).content;
      expect(d).toContain('if $syslogfacility-text == "local0" and $programname startswith "haproxy" then {');
      expect(d).toMatch(
        /\$syslogseverity == 6 then \{\n\s+action\(type="omfile" file="\/var\/log\/haproxy\/haproxy-info\.log"/,
      );
      expect(d).toMatch(
        /\$syslogseverity == 3 then \{\n\s+action\(type="omfile" file="\/var\/log\/haproxy\/haproxy-err\.log"/,
      );
      expect(d).toMatch(
        new RegExp(
          String.raw`\$syslogseverity <= 5 and \$syslogseverity != 3 then \{\n\s+` +
            String.raw`action\(type="omfile" file="\/var\/log\/haproxy\/haproxy-notice\.log"`,
        ),
      );
      expect(d).toMatch(/\n {4}stop\n\}\n$/);
      expect(d).not.toMatch(/a\+w|0777|0666/);
      const rot = artifactAt(r, ctl[0]!, HAPROXY_LOGROTATE).content;
      for (const f of ["haproxy-info.log", "haproxy-err.log", "haproxy-notice.log"])
        expect(rot).toContain(`/var/log/haproxy/${f}\n`);
    });

    it(`${name}: 50-rsyslog checks, restarts only on change and waits for the socket`, () => {
      const step = r.plan.steps.find((s) => s.id === "50-rsyslog")!;
      expect(step.nodes).toEqual(ctl);
      expect(step.mode).toBe("parallel");
      const s = artifactAt(r, ctl[0]!, scriptPath("50-rsyslog")).content;
      expect(s.indexOf("rsyslogd -N1")).toBeLessThan(s.indexOf("restart_if_changed rsyslog"));
      expect(s).toContain(`restart_if_changed rsyslog rsyslog-haproxy ${RSYSLOG_DROPIN}`);
      expect(s).toContain(
        `wait_until 30 ${sh(`rsyslog listens on ${HAPROXY_LOG_SOCKET}`)} test -S ${sh(HAPROXY_LOG_SOCKET)}`,
      );
      expect(s).not.toContain("logger");
    });
  }
});
