// grafanaDashboards: file name -> dashboard JSON (scripts/gen_mixin.sh writes them to
// dashboards/ and the Helm chart's files/dashboards/).
{
  grafanaDashboards+:: {
    local c = $._config,
    'overview.json': (import 'overview.libsonnet')(c),
    'wireless.json': (import 'wireless.libsonnet')(c),
    'wired.json': (import 'wired.libsonnet')(c),
    'clients.json': (import 'clients.libsonnet')(c),
  },
}
