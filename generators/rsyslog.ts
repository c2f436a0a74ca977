import type { GeneratorOutput } from "../src/core/artifact.js";
import type { Cluster } from "../src/core/model.js";
import { MARKER, merge, sameOn, stepScript } from "./common.js";
import { HAPROXY_LOG_SOCKET } from "./haproxy.js";
import { renderTemplate } from "../src/core/template.js";
import confTpl from "./templates/rsyslog-haproxy.conf.njk";
import rotateTpl from "./templates/rsyslog-haproxy.logrotate.njk";
import stepTpl from "./templates/rsyslog-step.sh.njk";

/** Same name as the drop-in Debian's haproxy package ships: ours replaces it instead of doubling the socket. */
export const RSYSLOG_DROPIN = "/etc/rsyslog.d/49-haproxy.conf";
export const HAPROXY_LOGROTATE = "/etc/logrotate.d/ha-gen-haproxy";
export const HAPROXY_LOG_DIR = "/var/log/haproxy";

/** The guide's three files, by syslog severity (0 emerg … 7 debug). */
const LOG_FILES = [
  // local0.=info
  { path: `${HAPROXY_LOG_DIR}/haproxy-info.log`, condition: "$syslogseverity == 6" },
  // local0.=err
  { path: `${HAPROXY_LOG_DIR}/haproxy-err.log`, condition: "$syslogseverity == 3" },
  // local0.notice;local0.!=err: notice and more severe, except err
  { path: `${HAPROXY_LOG_DIR}/haproxy-notice.log`, condition: "$syslogseverity <= 5 and $syslogseverity != 3" },
] as const;

/**
 * rsyslog for HAProxy on the controllers (guide 九.2). Fixes to the guide:
 * - It uncommented imudp/imtcp on port 514 of every address, so anyone on the network could
 *   write into the logs → no network input; HAProxy logs to /dev/log in its chroot, a unix
 *   socket this drop-in creates with imuxsock (as Debian's haproxy package does).
 * - It appended rules to /etc/rsyslog.conf (duplicated on every rerun) → one managed drop-in.
 * - `chmod a+w /var/log/haproxy` (world-writable log directory; rsyslog, not haproxy, writes the
 *   files) → rsyslog creates the directory 0750 and the files 0640.
 * - The rules matched all of local0 and let the lines through to the system log as well → only
 *   HAProxy's local0 messages, then `stop`.
 * - The files were never rotated → a logrotate entry for them.
 */
export function rsyslog(cluster: Cluster): GeneratorOutput {
  const conf = renderTemplate("rsyslog-haproxy.conf", confTpl, {
    marker: MARKER,
    socket: HAPROXY_LOG_SOCKET,
    files: LOG_FILES,
  });
  const rotate = renderTemplate("rsyslog-haproxy.logrotate", rotateTpl, {
    marker: MARKER,
    dropIn: RSYSLOG_DROPIN,
    files: LOG_FILES.map((f) => f.path),
  });
  return merge(
    {
      artifacts: [
        ...sameOn("rsyslog", cluster.controllers, { path: RSYSLOG_DROPIN, content: conf }),
        ...sameOn("rsyslog", cluster.controllers, { path: HAPROXY_LOGROTATE, content: rotate }),
      ],
      steps: [],
    },
    stepScript({
      family: "rsyslog",
      id: "50-rsyslog",
      title: "rsyslog socket and files for HAProxy logs",
      guideSection: "九.2 配置haproxy.cfg (rsyslog)",
      nodes: cluster.controllers,
      mode: "parallel",
      verifies: ["rsyslogd -N1 accepts the configuration", `rsyslog runs and listens on ${HAPROXY_LOG_SOCKET}`],
      body: renderTemplate("rsyslog-step.sh", stepTpl, { dropIn: RSYSLOG_DROPIN, socket: HAPROXY_LOG_SOCKET }),
    }),
  );
}
