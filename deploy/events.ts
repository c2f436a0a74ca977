import type { RollPass, StepMode } from "../src/core/artifact.js";

/**
 * Everything deploy() reports, as plain data: the progress views, the run log and `--json` all
 * consume these. Every string in an event has already been redacted.
 */

export type FileAction = "create" | "update" | "attrs" | "unchanged";

export interface FileChange {
  readonly path: string;
  readonly action: Exclude<FileAction, "unchanged">;
  /** What differs, e.g. "content", "mode 0644 -> 0600", "owner root:root -> root:nogroup". */
  readonly detail: string;
  readonly secret: boolean;
  /** Unified diff (dry runs, non-secret files only). */
  readonly diff?: string;
}

/** One controller's Galera state as `galera-recover.sh report` gave it (or why it gave none). */
export interface GaleraReportLine {
  readonly node: string;
  readonly uuid?: string;
  readonly seqno?: number;
  readonly safeToBootstrap?: boolean;
  readonly running?: boolean;
  readonly state?: string;
  readonly error?: string;
}

export type DeployEvent =
  | {
      readonly type: "galera-recovery";
      readonly reports: readonly GaleraReportLine[];
      readonly action: "bootstrap" | "join" | "refuse";
      readonly bootstrap?: string;
      readonly join?: readonly string[];
      readonly reason: string;
      readonly dryRun: boolean;
    }
  | {
      readonly type: "run-start";
      readonly runId: string;
      readonly dryRun: boolean;
      readonly nodes: readonly string[];
      readonly steps: readonly string[];
      readonly push: boolean;
      readonly logDir?: string;
    }
  | { readonly type: "connect-start"; readonly node: string }
  | { readonly type: "connect-end"; readonly node: string; readonly ms: number }
  | {
      readonly type: "host-key-accepted";
      readonly name: string;
      readonly keyType: string;
      readonly fingerprint: string;
      readonly recorded: boolean;
    }
  | { readonly type: "warning"; readonly message: string }
  | { readonly type: "push-start"; readonly node: string; readonly files: number }
  | {
      readonly type: "push-end";
      readonly node: string;
      readonly changed: readonly FileChange[];
      readonly unchanged: number;
      readonly ms: number;
      readonly dryRun: boolean;
    }
  | { readonly type: "step-skip"; readonly step: string; readonly node?: string; readonly reason: string }
  | {
      readonly type: "step-start";
      readonly step: string;
      readonly title: string;
      readonly nodes: readonly string[];
      readonly mode: StepMode;
    }
  | {
      readonly type: "step-would-run";
      readonly step: string;
      readonly title: string;
      readonly nodes: readonly string[];
      readonly mode: StepMode;
    }
  | {
      readonly type: "node-step-start";
      readonly step: string;
      readonly node: string;
      readonly command: string;
      /** Of a rolling step: which pass. */
      readonly pass?: RollPass;
    }
  | {
      readonly type: "node-step-end";
      readonly step: string;
      readonly node: string;
      readonly pass?: RollPass;
      readonly code: number | null;
      readonly ms: number;
      readonly changes: readonly string[];
      readonly tail?: string;
      readonly timedOut?: boolean;
    }
  | {
      readonly type: "step-end";
      readonly step: string;
      readonly ok: boolean;
      readonly ms: number;
      readonly changed: boolean;
    }
  | { readonly type: "error"; readonly node?: string; readonly step?: string; readonly message: string }
  | {
      readonly type: "run-end";
      readonly ok: boolean;
      readonly dryRun: boolean;
      readonly ms: number;
      readonly filesChanged: number;
      readonly filesUnchanged: number;
      readonly stepsRun: number;
      readonly stepsChanged: number;
      readonly failed?: {
        readonly step: string;
        readonly node?: string;
        readonly code?: number | null;
        readonly message: string;
        readonly tail?: string;
      };
      readonly resumeFrom?: string;
    };

export type EventSink = (e: DeployEvent) => void;
