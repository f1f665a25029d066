// mist-pcap-exporter monitoring mixin (https://monitoring.mixins.dev conventions):
//   prometheusAlerts, prometheusRules, grafanaDashboards, configured by _config.
// scripts/gen_mixin.sh renders it into deploy/prometheus/rules.yml and dashboards/*.json.
(import 'config.libsonnet')
+ (import 'alerts/alerts.libsonnet')
+ (import 'rules/rules.libsonnet')
+ (import 'dashboards/dashboards.libsonnet')
