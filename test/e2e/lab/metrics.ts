import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NODES, STATE_DIR } from "./config.js";
import { cgroupDirs, pidsIn } from "./cgroup.js";

/** Timings and memory of a lab run, printed at the end and kept in .lab/figures.json. */

export interface Timing {
  readonly name: string;
  readonly ms: number;
  readonly ok: boolean;
}

export interface MemorySample {
  readonly label: string;
  /** PSS per container, MiB (sum over the processes of its cgroup). */
  readonly pssMiB: Record<string, number>;
  readonly totalMiB: number;
}

function pssKiB(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** PSS of every node container now. */
export function memoryNow(label: string): MemorySample {
  const pssMiB: Record<string, number> = {};
  for (const n of NODES) {
    const pids = new Set(cgroupDirs(n.name).flatMap(pidsIn));
    pssMiB[n.name] = Math.round([...pids].reduce((s, p) => s + pssKiB(p), 0) / 1024);
  }
  return { label, pssMiB, totalMiB: Object.values(pssMiB).reduce((a, b) => a + b, 0) };
}

export class Figures {
  readonly timings: Timing[] = [];
  readonly memory: MemorySample[] = [];
  readonly notes: Record<string, string | number> = {};
  /** Figures of the drills under load (drills.e2e.test.ts): per drill and round, and the targets. */
  readonly drills: Record<string, unknown> = {};
  private peak: MemorySample | undefined;
  private sampler: NodeJS.Timeout | undefined;

  /** `name`: the files kept in .lab (`<name>.json`, `<name>.txt`), one pair per lab test file. */
  constructor(readonly name = "figures") {}

  /** Time `fn`, recorded also when it throws. */
  async time<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    const t0 = Date.now();
    try {
      const v = await fn();
      this.timings.push({ name, ms: Date.now() - t0, ok: true });
      return v;
    } catch (e) {
      this.timings.push({ name, ms: Date.now() - t0, ok: false });
      throw e;
    }
  }

  record(name: string, ms: number, ok = true): void {
    this.timings.push({ name, ms, ok });
  }

  sample(label: string): MemorySample {
    const s = memoryNow(label);
    this.memory.push(s);
    return s;
  }

  /** Sample PSS every `everyMs` in the background and keep the peak total. */
  startSampler(everyMs = 2000): void {
    this.stopSampler();
    this.sampler = setInterval(() => {
      const s = memoryNow("peak");
      if (!this.peak || s.totalMiB > this.peak.totalMiB) this.peak = s;
    }, everyMs);
    this.sampler.unref();
  }

  stopSampler(): void {
    if (this.sampler) clearInterval(this.sampler);
    this.sampler = undefined;
  }

  report(): string {
    const lines = ["ha-gen container lab figures", "", "timings:"];
    const w = Math.max(...this.timings.map((t) => t.name.length), 10);
    for (const t of this.timings)
      lines.push(`  ${t.name.padEnd(w)} ${(t.ms / 1000).toFixed(1).padStart(7)} s${t.ok ? "" : "  (failed)"}`);
    const mem = [...this.memory, ...(this.peak ? [{ ...this.peak, label: "peak (sampled every 2 s)" }] : [])];
    if (mem.length > 0) {
      lines.push("", "memory (PSS, MiB):");
      lines.push(`  ${"when".padEnd(26)} ${NODES.map((n) => n.name.padStart(12)).join(" ")}        total`);
      for (const m of mem) {
        const perNode = NODES.map((n) => String(m.pssMiB[n.name] ?? 0).padStart(12)).join(" ");
        lines.push(`  ${m.label.padEnd(26)} ${perNode} ${String(m.totalMiB).padStart(12)}`);
      }
    }
    const notes = Object.entries(this.notes);
    if (notes.length > 0) lines.push("", "notes:", ...notes.map(([k, v]) => `  ${k}: ${v}`));
    lines.push("", `e2e-figures ${JSON.stringify(this.figures())}`);
    return lines.join("\n");
  }

  /** Every figure of the run, one JSON object (printed as the `e2e-figures` line for CI logs). */
  figures(): Record<string, unknown> {
    const seconds = Object.fromEntries(this.timings.map((t) => [t.name, Math.round(t.ms / 100) / 10]));
    const failed = this.timings.filter((t) => !t.ok).map((t) => t.name);
    const drills = Object.keys(this.drills).length > 0 ? { drills: this.drills } : {};
    return { seconds, failed, peakPssMiB: this.peak?.totalMiB ?? null, notes: this.notes, ...drills };
  }

  save(): string {
    mkdirSync(STATE_DIR, { recursive: true });
    const f = join(STATE_DIR, `${this.name}.json`);
    const data = {
      at: new Date().toISOString(),
      timings: this.timings,
      memory: this.memory,
      peak: this.peak,
      notes: this.notes,
      drills: this.drills,
    };
    writeFileSync(f, `${JSON.stringify(data, null, 2)}\n`);
    writeFileSync(join(STATE_DIR, `${this.name}.txt`), `${this.report()}\n`);
    return f;
  }
}
