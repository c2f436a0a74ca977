import { beforeAll, describe, expect, it } from "vitest";
import { HAPROXY_CFG } from "../../generators/haproxy.js";
import { renderCluster } from "../../src/render.js";
import { FAKE_SECRETS } from "../fixtures/secrets.js";
import { requireTool } from "../helpers/checker.js";
import { EXAMPLES, artifactAt, renderExample } from "../helpers/examples.js";
import { checkHaproxyCfg } from "../helpers/haproxy-check.js";
import { runHaproxyLab } from "../helpers/haproxy-lab.js";

/**
 * The Galera listener of the lab's generated haproxy.cfg, run for real (haproxy in an isolated
 * namespace, stand-in MariaDB and clustercheck servers): what clients see when the writer fails,
 * comes back, or is full.
 */

beforeAll(() => requireTool("haproxy", "python3", "unshare", "ip"));

const controllers = EXAMPLES.lab.nodes.map((n) => ({ name: n.hostname, address: n.addresses.management }));
const vip = EXAMPLES.lab.vip.address;

/** The lab's galera_cluster listener block (comments dropped). */
function galeraListener(cfg: string): string[] {
  const block = /^listen galera_cluster\n([\s\S]*?)(?=^\S|$(?![\s\S]))/m.exec(cfg)?.[1] ?? "";
  return block
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
}

// Polls until a new client is greeted by $1 (at most 10 s); prints who greeted the last one.
const WRITER_IS = String.raw`
writer_is() {
  local who i
  for i in $(seq 1 40); do
    exec 9<>"/dev/tcp/$VIP/3306"
    who=$(greeting 9 2)
    exec 9<&-
    [[ "$who" == "$1" ]] && break
    sleep 0.25
  done
  echo "$who"
}
`;

const FAILBACK = `${WRITER_IS}
echo "writer while controller01 is down: $(writer_is controller02)"
open_client 5
echo "session on: $(greeting 5)"
touch "$STATE/controller01.up"
echo "writer after failback: $(writer_is controller01)"
echo "the backup's session: $(closed 5 3)"
`;

describe("galera_cluster failback: one writer, also after the writer comes back", () => {
  const r = renderExample("lab");
  const cfg = artifactAt(r, "controller01", HAPROXY_CFG).content;

  it("the rendered configuration is accepted and cuts the backup's sessions when the writer is marked up", () => {
    expect(galeraListener(cfg).find((l) => l.startsWith("default-server "))).toMatch(
      / on-marked-up shutdown-backup-sessions\b/,
    );
    const c = checkHaproxyCfg(cfg, artifactAt(r, "controller01", "/etc/hosts").content);
    expect(c.ok, c.result.stdout + c.result.stderr).toBe(true);
  });

  it("a session opened on the backup while the writer was down is closed when the writer is back", () => {
    const res = runHaproxyLab({ cfg, vip, controllers, up: ["controller02", "controller03"], scenario: FAILBACK });
    expect(res.stdout.trim().split("\n"), res.stderr).toEqual([
      "writer while controller01 is down: controller02",
      "session on: controller02",
      "writer after failback: controller01",
      "the backup's session: closed",
    ]);
  }, 60_000);

  it("broken sample: without on-marked-up the backup keeps its session: two writers", () => {
    const broken = cfg.replace(" on-marked-up shutdown-backup-sessions", "");
    expect(broken).not.toBe(cfg);
    const res = runHaproxyLab({
      cfg: broken,
      vip,
      controllers,
      up: ["controller02", "controller03"],
      scenario: FAILBACK,
    });
    expect(res.stdout, res.stderr).toContain("writer after failback: controller01");
    expect(res.stdout, res.stderr).toContain("the backup's session: open");
  }, 60_000);
});

const FULL = String.raw`
queued=()
greeted=()
for fd in $(seq 10 29); do open_client "$fd"; done
for fd in $(seq 10 29); do
  if [[ "$(greeting "$fd" 1)" == none ]]; then queued+=("$fd"); else greeted+=("$fd"); fi
done
echo "served: \${#greeted[@]}, waiting in HAProxy's queue: \${#queued[@]}"
eval "exec \${greeted[0]}<&- \${greeted[1]}<&-"
late=0
for fd in "\${queued[@]}"; do [[ "$(greeting "$fd" 1)" != none ]] && late=$((late + 1)); done
echo "served once two others left: $late"
`.replaceAll("\\${", "${");

describe("galera_cluster when the writer is full: HAProxy queues, MariaDB keeps room", () => {
  it("galera.maxConnections 32: 16 sessions reach the writer, the rest wait in HAProxy's queue", () => {
    const spec = { ...EXAMPLES.lab, galera: { ...EXAMPLES.lab.galera, maxConnections: 32 } };
    const cfg = artifactAt(renderCluster(spec, FAKE_SECRETS), "controller01", HAPROXY_CFG).content;
    expect(galeraListener(cfg)).toContain("maxconn 32");
    const up = controllers.map((c) => c.name);
    const res = runHaproxyLab({ cfg, vip, controllers, up, scenario: FULL });
    expect(res.stdout.trim().split("\n"), res.stderr).toEqual([
      "served: 16, waiting in HAProxy's queue: 4",
      "served once two others left: 2",
    ]);
  }, 60_000);
});
