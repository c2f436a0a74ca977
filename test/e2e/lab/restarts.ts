import { NODES } from "./config.js";
import { ssh } from "./exec.js";

/**
 * Which services were down (stopping → started again) when, on every node, read after a drill
 * from each node's journal: systemd's own job messages (by MESSAGE_ID, so no log text is parsed).
 * From these: how many members of one clustered service were restarting at the same time.
 */

const STARTING = "7d4958e842da4a758f6c1cdc7b36dcc5";
const STARTED = "39f53479d3a045ac8e11786248231fbf";
const START_FAILED = "be02cf6855d2428ba40df7e9d022f03d";
const STOPPING = "de5b426a63be47a7b6ac3eaac82e2f6f";
const STOPPED = "9d1aaa27d60140bd96365438aad20286";
const RELOADING = "d34d037fff1847e6ae669a370e694725";
const IDS = [STARTING, STARTED, START_FAILED, STOPPING, STOPPED, RELOADING];

export const WATCHED_UNITS = ["mariadb", "rabbitmq-server", "etcd", "memcached", "haproxy"] as const;
export type WatchedUnit = (typeof WATCHED_UNITS)[number];

export interface Down {
  readonly node: string;
  readonly unit: WatchedUnit;
  readonly from: number;
  /** null: still not started again at the end of the window. */
  readonly to: number | null;
}

export interface Restarts {
  readonly downs: Down[];
  readonly reloads: { node: string; unit: WatchedUnit; t: number }[];
}

interface JournalEntry {
  MESSAGE_ID?: string;
  UNIT?: string;
  __REALTIME_TIMESTAMP?: string;
}

/** Down intervals and reloads of the watched units on every reachable node in [from, to] (epoch s). */
export function restartsBetween(from: number, to: number): Restarts {
  const downs: Down[] = [];
  const reloads: Restarts["reloads"] = [];
  for (const n of NODES) {
    const matches = IDS.map((id) => `MESSAGE_ID=${id}`).join(" ");
    const r = ssh(
      n.name,
      `journalctl -q -o json --output-fields=MESSAGE_ID,UNIT --since=@${Math.floor(from)} ` +
        `--until=@${Math.ceil(to)} _PID=1 ${matches} || true`,
      { allowFail: true, timeoutMs: 60_000 },
    );
    if (r.status !== 0) continue;
    const entries = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as JournalEntry);
    for (const unit of WATCHED_UNITS) {
      let downSince: number | null = null;
      for (const e of entries) {
        if (e.UNIT !== `${unit}.service`) continue;
        const t = Number(e.__REALTIME_TIMESTAMP) / 1e6;
        const id = e.MESSAGE_ID;
        if (id === RELOADING) reloads.push({ node: n.name, unit, t });
        else if ((id === STOPPING || id === STARTING || id === START_FAILED || id === STOPPED) && downSince === null)
          downSince = t;
        else if (id === STARTED && downSince !== null) {
          downs.push({ node: n.name, unit, from: downSince, to: t });
          downSince = null;
        }
      }
      if (downSince !== null) downs.push({ node: n.name, unit, from: downSince, to: null });
    }
  }
  return { downs, reloads };
}

/** The most nodes of which `unit` was down at the same moment. */
export function maxDownAtOnce(r: Restarts, unit: WatchedUnit): number {
  const edges: [number, number][] = [];
  for (const d of r.downs.filter((x) => x.unit === unit)) {
    edges.push([d.from, 1], [d.to ?? Number.POSITIVE_INFINITY, -1]);
  }
  // Ends sort before starts at the same instant: back-to-back is not "at once".
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (now += d));
  return max;
}

export function restartCount(r: Restarts, unit: WatchedUnit): number {
  return r.downs.filter((d) => d.unit === unit).length;
}
