/**
 * The spec `ha-gen init` writes: the smallest cluster ha-gen renders (three controllers, a VIP),
 * commented so that a new user sees what to change and which settings exist. It must validate and
 * render as written (test/cli/init.test.ts renders it); addresses are from 198.51.100.0/24
 * (TEST-NET-2, RFC 5737), so nothing reaches a real network before the user edits them.
 */
export const SCAFFOLD_FILE = "cluster.ts";

export const SCAFFOLD = `// ha-gen cluster spec, written by \`ha-gen init\`. Edit it, then:
//   npx ha-gen validate cluster.ts                  every problem at once
//   npx ha-gen render cluster.ts --out rendered     every node's files, plan.json, PLAN.md
//   npx ha-gen deploy cluster.ts --ssh-config ~/.ssh/config --dry-run
// Secrets are generated into cluster.secrets.yaml (mode 0600) on first use: keep it out of git.
// Every setting, with its default: \`npx ha-gen schema\`, or hover a key in your editor.
import { defineCluster } from "ha-gen";

export default defineCluster({
  name: "openstack-ha",
  os: "debian12", // or "centos8" (the guide's OS)

  networks: {
    // Every node has an address here; Galera, RabbitMQ, etcd, corosync and HAProxy use it.
    management: { cidr: "198.51.100.0/24", interface: "eth0" },
    // Optional second network: corosync gets a second link on it (every controller needs an address there).
    // vlan: { cidr: "172.31.253.0/24", interface: "eth1" },
  },

  // Controllers run every clustered service: 3 or 5 of them (an odd number keeps a quorum).
  // Other roles: "compute" and "ceph" (they get /etc/hosts, chrony, sysctl and the OS preparation).
  nodes: [
    { hostname: "controller01", roles: ["controller"], addresses: { management: "198.51.100.11" } },
    { hostname: "controller02", roles: ["controller"], addresses: { management: "198.51.100.12" } },
    { hostname: "controller03", roles: ["controller"], addresses: { management: "198.51.100.13" } },
  ],

  // The virtual IP pacemaker moves between controllers; HAProxy serves every API on it.
  // Not a node's address; inside the management network.
  vip: { address: "198.51.100.10" },

  // Upstream time servers of the controllers; [] makes them agree on one controller's clock.
  ntp: { upstream: ["pool.ntp.org"] },

  // Everything below is optional; the values shown are the defaults.
  // galera: { maxConnections: 4096, innodbBufferPoolSize: "1024M", sstMethod: "rsync" },
  // rabbitmq: { user: "openstack", vhost: "/", partitionHandling: "pause_minority" },
  // memcached: { cacheSizeMb: 64, maxConnections: 1024 },
  // etcd: { token: "etcd-cluster-01" },
  // haproxy: { maxconn: 4000, stats: { port: 1080, user: "admin" } },
  // pacemaker: { clusterName: "openstack-cluster-01", properties: { "stonith-enabled": false } },
  //   stonith-enabled: false is warned about: production clusters need a fence device.
});
`;
