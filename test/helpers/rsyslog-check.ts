import { run, tempDir, type RunResult } from "./checker.js";

export interface Check {
  readonly ok: boolean;
  readonly result: RunResult;
}

/**
 * CentOS 8's stock /etc/rsyslog.conf (rsyslog 8.1911, comments dropped): imuxsock with the system
 * socket off, imjournal, and the rsyslog.d include before the rules. `@INCLUDE@` is replaced by
 * the directory holding the drop-in under test; the work directory by a temporary one.
 */
const CENTOS8_RSYSLOG_CONF = `module(load="imuxsock" SysSock.Use="off")
module(load="imjournal" StateFile="imjournal.state")
global(workDirectory="@WORKDIR@")
module(load="builtin:omfile" Template="RSYSLOG_TraditionalFileFormat")
include(file="@INCLUDE@/*.conf" mode="optional")
*.info;mail.none;authpriv.none;cron.none                /var/log/messages
authpriv.*                                              /var/log/secure
mail.*                                                  -/var/log/maillog
cron.*                                                  /var/log/cron
*.emerg                                                 :omusrmsg:*
uucp,news.crit                                          /var/log/spooler
local7.*                                                /var/log/boot.log
`;

/**
 * `rsyslogd -N1` on the node's whole configuration with the drop-in in place: for "debian" the
 * real /etc/rsyslog.conf of this (Debian) machine with /etc/rsyslog.d replaced by a directory
 * holding only the drop-in (as on a node, where it replaces the haproxy package's file of the same
 * name); for "centos8" CentOS 8's stock main file including it. Catches unknown modules and
 * parameters, syntax errors and modules loaded twice.
 */
export function checkRsyslogDropIn(dropInName: string, content: string, main: "debian" | "centos8"): Check {
  const t = tempDir("ha-gen-rsyslog-");
  try {
    t.write(`rsyslog.d/${dropInName}`, content);
    const dropDir = `${t.dir}/rsyslog.d`;
    let result: RunResult;
    if (main === "debian") {
      result = run("unshare", [
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        'mount --bind "$1" /etc/rsyslog.d && exec rsyslogd -N1 -f /etc/rsyslog.conf',
        "sh",
        dropDir,
      ]);
    } else {
      t.write("work/.keep", "");
      const mainPath = t.write(
        "rsyslog.conf",
        CENTOS8_RSYSLOG_CONF.replace("@INCLUDE@", dropDir).replace("@WORKDIR@", `${t.dir}/work`),
      );
      result = run("rsyslogd", ["-N1", "-f", mainPath]);
    }
    const out = result.stdout + result.stderr;
    return {
      ok:
        result.status === 0 &&
        !/error|warning/i.test(out.replace(/rsyslogd: End of config validation run\. Bye\./, "")),
      result,
    };
  } finally {
    t.cleanup();
  }
}

/**
 * `logrotate -d` (debug: reads, rotates nothing) with a private state file; logrotate exits 0 on
 * unknown options, so any `error:` fails.
 */
export function checkLogrotate(content: string): Check {
  const t = tempDir("ha-gen-logrotate-");
  try {
    const conf = t.write("ha-gen-haproxy", content);
    const result = run("logrotate", ["-d", "-s", `${t.dir}/state`, conf]);
    const out = result.stdout + result.stderr;
    return { ok: result.status === 0 && !/^error:/m.test(out), result };
  } finally {
    t.cleanup();
  }
}
