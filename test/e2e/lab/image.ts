import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  BAKE_RECIPE_VERSION,
  ensureCacheDir,
  IMAGE_DISABLED_SERVICES,
  IMAGE_PACKAGES,
  LOG_DIR,
  SUITE,
} from "./config.js";
import { inOwnCgroup, removeCgroupTree, cgroupDirs } from "./cgroup.js";
import { log, run, runAsync } from "./proc.js";

/**
 * The node image: Debian 12 minbase from the machine's configured mirror plus every package the
 * rollout uses, nothing started, no identity (machine-id, SSH host keys, hostname) baked in.
 * Cached under ~/.cache/ha-gen-lab/images/<key>, the key a digest of the package list and recipe.
 */

export interface ImageInfo {
  readonly dir: string;
  readonly key: string;
  readonly cached: boolean;
  /** Wall time of this call (build, or lookup when cached). */
  readonly ms: number;
  readonly manifest: ImageManifest;
}

export interface ImageManifest {
  readonly key: string;
  readonly suite: string;
  readonly mirror: string;
  readonly builtAt: string;
  readonly debootstrapMs: number;
  readonly aptMs: number;
  readonly totalMs: number;
  readonly packages: readonly string[];
  readonly versions: Record<string, string>;
  readonly sizeMiB: number;
}

const MANIFEST = ".ha-gen-lab-image.json";

export function imageKey(): string {
  const h = createHash("sha256")
    .update(
      JSON.stringify({
        suite: SUITE,
        packages: [...IMAGE_PACKAGES].sort(),
        disabled: IMAGE_DISABLED_SERVICES,
        recipe: BAKE_RECIPE_VERSION,
      }),
    )
    .digest("hex");
  return h.slice(0, 16);
}

export function imagesDir(): string {
  return join(ensureCacheDir(), "images");
}

export function imageDir(key = imageKey()): string {
  return join(imagesDir(), `${SUITE}-${key}`);
}

interface AptSource {
  uris: string[];
  suites: string[];
  components: string[];
}

/** The Debian archives this machine's apt uses (one-line .list and deb822 .sources files). */
export function hostAptSources(): AptSource[] {
  const files: string[] = [];
  if (existsSync("/etc/apt/sources.list")) files.push("/etc/apt/sources.list");
  if (existsSync("/etc/apt/sources.list.d")) {
    for (const f of readdirSync("/etc/apt/sources.list.d").sort())
      if (f.endsWith(".list") || f.endsWith(".sources")) files.push(join("/etc/apt/sources.list.d", f));
  }
  const out: AptSource[] = [];
  for (const f of files) {
    const text = readFileSync(f, "utf8");
    if (f.endsWith(".sources")) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const fields: Record<string, string> = {};
        let last = "";
        for (const line of stanza.split("\n")) {
          if (line.startsWith("#")) continue;
          const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
          if (m) fields[(last = m[1]!.toLowerCase())] = m[2]!;
          else if (/^\s/.test(line) && last) fields[last] += ` ${line.trim()}`;
        }
        if (!(fields.types ?? "").split(/\s+/).includes("deb") || (fields.enabled ?? "yes") === "no") continue;
        out.push({
          uris: (fields.uris ?? "").split(/\s+/).filter(Boolean),
          suites: (fields.suites ?? "").split(/\s+/).filter(Boolean),
          components: (fields.components ?? "").split(/\s+/).filter(Boolean),
        });
      }
    } else {
      for (const raw of text.split("\n")) {
        const line = raw.replace(/#.*/, "").trim();
        const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$/.exec(line);
        if (m) out.push({ uris: [m[1]!], suites: [m[2]!], components: m[3]!.split(/\s+/) });
      }
    }
  }
  return out;
}

/** The mirror for `bookworm` and the one for `bookworm-security`, as configured on this machine. */
export function debianMirrors(): { main: string; security: string | undefined } {
  const src = hostAptSources().filter((s) => s.components.includes("main"));
  const main = src.find((s) => s.suites.includes(SUITE))?.uris[0];
  const security = src.find((s) => s.suites.includes(`${SUITE}-security`))?.uris[0];
  if (!main)
    throw new Error(
      `no apt source for Debian ${SUITE} main in /etc/apt/sources.list*: ` +
        `the image is built from the machine's configured Debian mirror`,
    );
  return { main, security };
}

function dirSizeMiB(dir: string): number {
  const r = run(["du", "-sm", "--apparent-size", dir], { allowFail: true });
  return Number(r.stdout.split(/\s/)[0] ?? 0);
}

function readManifest(dir: string): ImageManifest | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, MANIFEST), "utf8")) as ImageManifest;
  } catch {
    return undefined;
  }
}

/** The cached image for the current package list, built from nothing when absent. */
export async function ensureImage(opts: { rebuild?: boolean } = {}): Promise<ImageInfo> {
  const t0 = Date.now();
  const key = imageKey();
  const dir = imageDir(key);
  const have = readManifest(dir);
  if (have && have.key === key && !opts.rebuild) {
    log(`image ${dir} cached`);
    return { dir, key, cached: true, ms: Date.now() - t0, manifest: have };
  }
  mkdirSync(imagesDir(), { recursive: true });
  const build = join(imagesDir(), `.build-${key}-${process.pid}`);
  rmSync(build, { recursive: true, force: true });
  const { main, security } = debianMirrors();
  log(`building image ${dir} from ${main}`);
  for (const f of ["image-debootstrap.log", "image-apt.log"]) rmSync(join(LOG_DIR, f), { force: true });

  const tDeb = Date.now();
  await runAsync(
    [
      "debootstrap",
      "--variant=minbase",
      "--include=systemd,systemd-sysv,dbus,openssh-server,iproute2",
      SUITE,
      build,
      main,
    ],
    { timeoutMs: 1_200_000, tee: join(LOG_DIR, "image-debootstrap.log") },
  );
  const debootstrapMs = Date.now() - tDeb;

  const aptSources = [
    `deb ${main} ${SUITE} main`,
    `deb ${main} ${SUITE}-updates main`,
    ...(security ? [`deb ${security} ${SUITE}-security main`] : []),
  ];
  writeFileSync(join(build, "etc/apt/sources.list"), `${aptSources.join("\n")}\n`);
  // Maintainer scripts must not start daemons during the bake (a started etcd/rabbit/corosync
  // would leave single-node state behind).
  writeFileSync(join(build, "usr/sbin/policy-rc.d"), "#!/bin/sh\nexit 101\n", { mode: 0o755 });

  const bake = `set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends ${IMAGE_PACKAGES.join(" ")}
# keep /var/lib/apt/lists: 'apt-get install -y <baked package>' must still work offline
apt-get clean
for u in ${IMAGE_DISABLED_SERVICES.join(" ")}; do systemctl disable "$u" 2>&1 | sed "s/^/[disable $u] /"; done
systemctl enable ssh
systemctl mask systemd-timesyncd.service >/dev/null 2>&1 || true
dpkg-query -W -f='\${Package}\\t\${Version}\\n'
`;
  const tApt = Date.now();
  try {
    await runAsync(
      inOwnCgroup("bake", [
        "systemd-nspawn",
        "-q",
        "-D",
        build,
        "--machine=ha-gen-lab-bake",
        "--register=no",
        "--keep-unit",
        "--link-journal=no",
        "--resolv-conf=copy-host",
        "--timezone=off",
        "--setenv=DEBIAN_FRONTEND=noninteractive",
        "--pipe",
        "/bin/bash",
        "-c",
        bake,
      ]),
      { timeoutMs: 1_800_000, tee: join(LOG_DIR, "image-apt.log") },
    );
  } finally {
    for (const d of cgroupDirs("bake")) removeCgroupTree(d);
    rmSync("/run/systemd/nspawn/propagate/ha-gen-lab-bake", { recursive: true, force: true });
  }
  const aptMs = Date.now() - tApt;
  const versions: Record<string, string> = {};
  for (const line of readFileSync(join(LOG_DIR, "image-apt.log"), "utf8").split("\n")) {
    const m = /^([a-z0-9][a-z0-9+.-]*(?::[a-z0-9]+)?)\t(\S+)$/.exec(line);
    if (m) versions[m[1]!] = m[2]!;
  }

  // No identity in the image: every node gets its own machine-id, host keys and hostname.
  rmSync(join(build, "usr/sbin/policy-rc.d"), { force: true });
  writeFileSync(join(build, "etc/resolv.conf"), "# ha-gen lab: no DNS; names come from /etc/hosts\n");
  // No `127.0.1.1 <hostname>` line: it makes corosync, RabbitMQ and Galera resolve the node's own
  // name to loopback.
  writeFileSync(join(build, "etc/hosts"), "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
  writeFileSync(join(build, "etc/hostname"), "localhost\n");
  writeFileSync(join(build, "etc/machine-id"), "");
  rmSync(join(build, "var/lib/dbus/machine-id"), { force: true });
  for (const f of readdirSync(join(build, "etc/ssh"))) if (f.startsWith("ssh_host_")) rmSync(join(build, "etc/ssh", f));

  const manifest: ImageManifest = {
    key,
    suite: SUITE,
    mirror: main,
    builtAt: new Date().toISOString(),
    debootstrapMs,
    aptMs,
    totalMs: Date.now() - t0,
    packages: [...IMAGE_PACKAGES],
    versions,
    sizeMiB: dirSizeMiB(build),
  };
  writeFileSync(join(build, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(build, dir);
  pruneImages(key);
  log(`image ${dir} built in ${(manifest.totalMs / 1000).toFixed(0)}s (${manifest.sizeMiB} MiB)`);
  return { dir, key, cached: false, ms: Date.now() - t0, manifest };
}

/** Remove images of other package lists and abandoned builds (1+ GiB each). */
export function pruneImages(keep: string): void {
  if (!existsSync(imagesDir())) return;
  for (const e of readdirSync(imagesDir())) {
    if (e === `${SUITE}-${keep}`) continue;
    if (e.startsWith(".build-") || e.startsWith(`${SUITE}-`)) {
      log(`pruning old image ${e}`);
      rmSync(join(imagesDir(), e), { recursive: true, force: true });
    }
  }
}
