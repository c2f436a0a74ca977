import { defineCluster } from "ha-gen";

/**
 * The seed guide's cluster: OpenStack Train HA base layer on 9 CentOS 8 nodes. Addresses,
 * interfaces, VIP and NTP upstream as in the guide. The management network is 10.0.0.0/12: the
 * guide's `ip a` shows 10.15.253.163/12 with broadcast 10.15.255.255 on ens192.
 */
export default defineCluster({
  name: "openstack-train-ha",
  release: "train",
  os: "centos8",
  networks: {
    management: { cidr: "10.0.0.0/12", interface: "ens192" },
    vlan: { cidr: "172.31.253.0/24", interface: "ens224" },
  },
  nodes: [
    {
      hostname: "controller01",
      roles: ["controller"],
      addresses: { management: "10.15.253.163", vlan: "172.31.253.163" },
    },
    {
      hostname: "controller02",
      roles: ["controller"],
      addresses: { management: "10.15.253.195", vlan: "172.31.253.195" },
    },
    {
      hostname: "controller03",
      roles: ["controller"],
      addresses: { management: "10.15.253.227", vlan: "172.31.253.227" },
    },
    { hostname: "compute01", roles: ["compute"], addresses: { management: "10.15.253.162", vlan: "172.31.253.162" } },
    { hostname: "compute02", roles: ["compute"], addresses: { management: "10.15.253.194", vlan: "172.31.253.194" } },
    { hostname: "compute03", roles: ["compute"], addresses: { management: "10.15.253.226", vlan: "172.31.253.226" } },
    { hostname: "cephnode01", roles: ["ceph"], addresses: { management: "10.15.253.161", vlan: "172.31.253.161" } },
    { hostname: "cephnode02", roles: ["ceph"], addresses: { management: "10.15.253.193", vlan: "172.31.253.193" } },
    { hostname: "cephnode03", roles: ["ceph"], addresses: { management: "10.15.253.225", vlan: "172.31.253.225" } },
  ],
  vip: { address: "10.15.253.88" },
  ntp: { upstream: ["ntp1.aliyun.com"] },
  pacemaker: { clusterName: "openstack-cluster-01" },
  etcd: { token: "etcd-cluster-01" },
});
