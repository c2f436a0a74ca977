import { existsSync, readFileSync } from "node:fs";
import { tempDir, type RunResult } from "./checker.js";
import { runAsync } from "./pacemaker-offline.js";

/**
 * A throwaway copy of this machine's root to run step scripts in for real (used for the pcsd and
 * prepare steps): `unshare -n -m`, an overlayfs with `/` as its read-only lower layer and a tmpfs
 * as its upper one, chrooted into. Scripts write /etc, /var, /usr/sbin as on a node; nothing
 * reaches the real root, and the network namespace is empty but for the given loopback addresses.
 * Commands that would act on the machine (systemctl, package managers, pcs) are replaced by stubs
 * first in PATH; the real programs (chpasswd, python3, haproxy, rsyslogd...) stay.
 */
export interface SandboxOptions {
  /** Files written into the sandbox root before the first run (absolute paths). */
  readonly files: readonly { path: string; content: string; mode?: number }[];
  /** Stub programs: name → bash script body, installed in a directory first in PATH. */
  readonly stubs: Readonly<Record<string, string>>;
  /** Shell run (in the sandbox, once, before the runs) to prepare state. */
  readonly setup?: string;
  /** Absolute path of the script to run, `runs` times in a row. */
  readonly script: string;
  readonly runs: number;
  /** Shell run after the runs; its stdout is returned as `inspect`. */
  readonly inspect?: string;
  /** Addresses put on loopback in the sandbox's own network namespace. */
  readonly addresses?: readonly string[];
  /** Extra environment of the runs (and of setup and inspect). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface SandboxResult {
  readonly runs: RunResult[];
  readonly inspect: string;
  readonly driver: RunResult;
}

export const STUB_DIR = "/ha-gen-stubs";
/** Where stubs keep state and log their calls, inside the sandbox. */
export const STUB_STATE = "/ha-gen-stub-state";

export async function sandbox(o: SandboxOptions): Promise<SandboxResult> {
  const t = tempDir("ha-gen-sandbox-");
  try {
    o.files.forEach((f, i) => {
      t.write(`files/${i}`, f.content, f.mode ?? 0o644);
    });
    const manifest = o.files.map((f, i) => `${i}\t${(f.mode ?? 0o644).toString(8)}\t${f.path}`).join("\n");
    t.write("manifest", `${manifest}\n`);
    for (const [name, body] of Object.entries(o.stubs)) t.write(`stubs/${name}`, `#!/bin/bash\n${body}\n`, 0o755);
    t.write("setup.sh", o.setup ?? ":\n");
    t.write("inspect.sh", o.inspect ?? ":\n");
    t.write("out/.keep", "");
    t.write(
      "env",
      `${Object.entries(o.env ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join("\n")}\n`,
    );
    const driver =
      `set -euo pipefail
w=$1 script=$2 runs=$3
shift 3
ip link set lo up
for a in "$@"; do ip addr add "$a/32" dev lo; done
mnt=$w/mnt
mkdir -p "$mnt"
mount -t tmpfs none "$mnt"
mkdir -p "$mnt/u" "$mnt/w" "$mnt/root"
mount -t overlay overlay -o lowerdir=/,upperdir="$mnt/u",workdir="$mnt/w" "$mnt/root"
r=$mnt/root
mount --rbind /dev "$r/dev"
mount -t proc proc "$r/proc"
mount -t tmpfs none "$r/run"
mount -t tmpfs none "$r/tmp"
while IFS=$'\\t' read -r i mode path; do
  [[ -n "$path" ]] || continue
  mkdir -p "$r$(dirname "$path")"
  cp "$w/files/$i" "$r$path"
  chmod "$mode" "$r$path"
done < "$w/manifest"
mkdir -p "$r${STUB_DIR}" "$r${STUB_STATE}" "$r/ha-gen-out"
cp "$w"/stubs/* "$r${STUB_DIR}/" 2>/dev/null || true
mount --bind "$w/out" "$r/ha-gen-out"
cp "$w/setup.sh" "$w/inspect.sh" "$r/ha-gen-out/"
extra_env=()
while IFS= read -r kv; do [[ -n "$kv" ]] && extra_env+=("$kv"); done < "$w/env"
in_root() { chroot "$r" /usr/bin/env -i ` +
      `PATH=${STUB_DIR}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin ` +
      `HOME=/root LANG=C.UTF-8 "\${extra_env[@]}" "$@"; }
in_root /bin/bash /ha-gen-out/setup.sh
for n in $(seq 1 "$runs"); do
  set +e
  in_root /bin/bash "$script" >"$w/out/run$n.out" 2>"$w/out/run$n.err"
  echo $? >"$w/out/run$n.rc"
  set -e
done
in_root /bin/bash /ha-gen-out/inspect.sh >"$w/out/inspect.out" 2>&1 || true
`;
    const res = await runAsync("unshare", [
      "-n",
      "-m",
      "--propagation",
      "private",
      "bash",
      "-c",
      driver,
      "sandbox",
      t.dir,
      o.script,
      String(o.runs),
      ...(o.addresses ?? []),
    ]);
    const runs: RunResult[] = [];
    for (let n = 1; n <= o.runs; n++) {
      const rc = `${t.dir}/out/run${n}.rc`;
      if (!existsSync(rc)) break;
      runs.push({
        status: Number(readFileSync(rc, "utf8").trim()),
        stdout: readFileSync(`${t.dir}/out/run${n}.out`, "utf8"),
        stderr: readFileSync(`${t.dir}/out/run${n}.err`, "utf8"),
      });
    }
    if (runs.length !== o.runs) throw new Error(`sandbox driver failed (${String(res.status)}): ${res.stderr}`);
    const inspectPath = `${t.dir}/out/inspect.out`;
    return { runs, inspect: existsSync(inspectPath) ? readFileSync(inspectPath, "utf8") : "", driver: res };
  } finally {
    // The mounts lived in the private namespace and went with it; only the staging files remain.
    t.cleanup();
  }
}

/**
 * A systemctl stand-in backed by files under STUB_STATE/systemd: `<unit>.enabled`, `<unit>.active`,
 * `<unit>.exists`; every call is logged to STUB_STATE/calls. Hooks: an executable
 * STUB_STATE/on-start-<unit> runs when the unit starts or restarts.
 */
export const SYSTEMCTL_STUB = `s=${STUB_STATE}/systemd
mkdir -p "$s"
echo "systemctl $*" >> ${STUB_STATE}/calls
quiet=0 args=()
for a in "$@"; do
  case "$a" in --quiet|-q) quiet=1 ;; --now|--no-block) ;; *) args+=("$a") ;; esac
done
cmd=\${args[0]:-}
unit=\${args[1]:-}
unit=\${unit%.service}
hook() { if [[ -x ${STUB_STATE}/on-start-$unit ]]; then ${STUB_STATE}/on-start-$unit; fi; }
case "$cmd" in
  is-active) [[ -e "$s/$unit.active" ]] ;;
  is-enabled) [[ -e "$s/$unit.enabled" ]] ;;
  enable) touch "$s/$unit.enabled" ;;
  disable) rm -f "$s/$unit.enabled" ;;
  start|restart) touch "$s/$unit.active"; hook ;;
  stop) rm -f "$s/$unit.active" ;;
  reload) [[ -e "$s/$unit.active" ]] ;;
  cat) [[ -e "$s/$unit.exists" ]] ;;
  show) echo yes ;;
  *) echo "systemctl stub: unsupported: $*" >&2; exit 1 ;;
esac`;

/** `ha-gen:changed` lines of a run. */
export function changedLines(r: RunResult): string[] {
  return r.stdout.split("\n").filter((l) => l.startsWith("ha-gen:changed "));
}
