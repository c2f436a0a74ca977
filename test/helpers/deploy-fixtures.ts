import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Artifact, PlanStep, StepMode } from "../../src/core/artifact.js";
import type { DeployEvent } from "../../deploy/events.js";
import { KnownHostsFile } from "../../deploy/known-hosts.js";
import { loadSshConfig, resolveSshHost } from "../../deploy/ssh-config.js";
import { SshTransport, type SshTransportOptions } from "../../deploy/ssh-transport.js";
import type { SshdLab } from "./deploy-sshd.js";
import type { StatusScriptContext } from "../../deploy/scripts.js";

/** Small artifacts, plans and an SSH transport for the deploy tests. */

export function file(node: string, path: string, content: string, extra: Partial<Artifact> = {}): Artifact {
  return { node, path, content, mode: 0o644, owner: "root", group: "root", secret: false, family: "test", ...extra };
}

export function step(
  id: string,
  nodes: readonly string[],
  mode: StepMode,
  script = `/usr/local/lib/ha-gen/${id}.sh`,
): PlanStep {
  return { id, title: `test step ${id}`, guideSection: "-", nodes, mode, script, verifies: [] };
}

/** The same script artifact on every node of a step. */
export function scriptOn(s: PlanStep, body: string): Artifact[] {
  return s.nodes.map((n) => file(n, s.script, `#!/usr/bin/env bash\nset -euo pipefail\n${body}\n`, { mode: 0o755 }));
}

export async function labTransport(
  lab: SshdLab,
  o: Partial<SshTransportOptions> & { knownHostsPath?: string } = {},
): Promise<SshTransport> {
  const config = loadSshConfig(lab.sshConfig, true);
  const knownHosts = o.knownHosts ?? (await KnownHostsFile.load(o.knownHostsPath ?? lab.knownHosts));
  return new SshTransport({
    resolve: (n) => resolveSshHost(config, n),
    knownHosts,
    acceptNewHostKeys: false,
    defaultUser: "root",
    connectRetries: 0,
    connectTimeoutMs: 10_000,
    ...o,
  });
}

/** Collects events; `text()` is everything a view would print, for secret greps. */
export function recorder(): {
  events: DeployEvent[];
  sink: (e: DeployEvent) => void;
  of<T extends DeployEvent["type"]>(t: T): Extract<DeployEvent, { type: T }>[];
} {
  const events: DeployEvent[] = [];
  return {
    events,
    sink: (e) => events.push(e),
    of: <T extends DeployEvent["type"]>(t: T) =>
      events.filter((e): e is Extract<DeployEvent, { type: T }> => e.type === t),
  };
}

/** Every file below `dir` (relative paths), for leftover checks. */
export function walk(dir: string): string[] {
  const out: string[] = [];
  const rec = (d: string, rel: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      const r = rel ? `${rel}/${e}` : e;
      if (statSync(p).isDirectory()) rec(p, r);
      else out.push(r);
    }
  };
  rec(dir, "");
  return out.sort();
}

/** The status probe's settings for a controller on loopback, as the tests render it. */
export const STATUS_SCRIPT_CONTEXT: StatusScriptContext = {
  address: "127.0.0.1",
  secretsEnv: "/etc/ha-gen/secrets.env",
  rootPasswordVar: "MARIADB_ROOT_PASS",
  clustercheckPort: 9200,
  memcachedPort: 11211,
  etcdEndpoint: "http://127.0.0.1:2379",
  statsSocket: "/var/lib/haproxy/stats",
  queues: 1,
  rabbitUser: "openstack",
  rabbitPasswordVar: "RABBIT_PASS",
  managementPort: 15672,
  chronyService: "chrony",
  controller: 1,
};
