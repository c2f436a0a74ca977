import { defineCluster } from "ha-gen";

/**
 * The container lab: three Debian 12 controllers in systemd-nspawn, on 198.51.100.0/24
 * (TEST-NET-2) inside network namespaces the lab harness creates. Same services as the guide.
 */
export default defineCluster({
  name: "ha-gen-lab",
  os: "debian12",
  networks: {
    management: { cidr: "198.51.100.0/24", interface: "eth0" },
  },
  nodes: [
    { hostname: "controller01", roles: ["controller"], addresses: { management: "198.51.100.11" } },
    { hostname: "controller02", roles: ["controller"], addresses: { management: "198.51.100.12" } },
    { hostname: "controller03", roles: ["controller"], addresses: { management: "198.51.100.13" } },
  ],
  vip: { address: "198.51.100.10" },
  // The lab has no uplink: the controllers agree on one of their own clocks (orphan mode).
  ntp: { upstream: [] },
  // A container lab has no memory to spare for the guide's 1 GiB buffer pool per node.
  galera: { innodbBufferPoolSize: "128M" },
  // Containers have no fence device: the risk is known and accepted here (still listed in PLAN.md).
  safety: { acknowledge: ["stonith-disabled"] },
});
