import { defaultServices, defineCluster, withServices } from "ha-gen";

/**
 * Extending what ha-gen generates: the lab's three Debian 12 controllers (198.51.100.0/24), with
 * - HAProxy's services derived from the guide's 11: noVNC removed, Glance's timeouts changed, Heat added;
 * - the Galera option file merged key by key (kolla-ansible style), from an object and from INI text;
 * - a block appended to haproxy.cfg for what the spec has no setting for.
 * Every change is listed in PLAN.md and plan.json ("Overrides from the spec").
 */
export default defineCluster({
  name: "ha-gen-overrides",
  os: "debian12",
  networks: { management: { cidr: "198.51.100.0/24", interface: "eth0" } },
  nodes: [
    { hostname: "controller01", roles: ["controller"], addresses: { management: "198.51.100.11" } },
    { hostname: "controller02", roles: ["controller"], addresses: { management: "198.51.100.12" } },
    { hostname: "controller03", roles: ["controller"], addresses: { management: "198.51.100.13" } },
  ],
  vip: { address: "198.51.100.10" },
  ntp: { upstream: [] },
  galera: { innodbBufferPoolSize: "128M" },
  haproxy: {
    services: withServices(defaultServices, {
      remove: ["nova_vncproxy_cluster"],
      update: { glance_api_cluster: { timeoutClient: "6h", timeoutServer: "6h" } },
      add: [{ name: "heat_api_cluster", port: 8004, httpCheck: true }],
    }),
  },
  overrides: [
    {
      // Every controller's Galera option file: options the spec has no setting for.
      path: "/etc/mysql/mariadb.conf.d/60-galera.cnf",
      ini: {
        mysqld: {
          "skip-name-resolve": true, // a flag: the bare option
          character_set_server: "utf8mb4",
          // `#` and `;` are written inside my.cnf double quotes, as MariaDB reads them.
          init_connect: "SET NAMES utf8mb4; -- #1",
        },
        galera: { wsrep_sync_wait: null }, // removed: MariaDB's default applies
      },
    },
    {
      // One node only, as INI text (parsed with the ini package).
      path: "/etc/mysql/mariadb.conf.d/60-galera.cnf",
      nodes: ["controller01"],
      ini: "[mysqld]\nwait_timeout = 3600\nmax_allowed_packet = 64M\n",
    },
    {
      // A monitoring endpoint on the VIP: 200 while this HAProxy runs.
      path: "/etc/haproxy/haproxy.cfg",
      append: ["frontend monitor", "    bind 198.51.100.10:8405", "    mode http", "    monitor-uri /healthz"].join(
        "\n",
      ),
    },
  ],
});
