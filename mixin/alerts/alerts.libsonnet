// All alerts in one group (the PrometheusRule and the Helm chart carry it unchanged).
local api = import 'api.libsonnet';
local capture = import 'capture.libsonnet';
local clients = import 'clients.libsonnet';
local exporter = import 'exporter.libsonnet';
local stream = import 'stream.libsonnet';

{
  prometheusAlerts+:: {
    local c = $._config,
    groups+: [
      {
        name: 'mist-pcap-exporter.alerts',
        rules:
          exporter(c)[0:1]
          + api(c)[0:1]
          + stream(c)[0:1]
          + capture(c)
          + stream(c)[1:]
          + api(c)[1:]
          + exporter(c)[1:]
          + clients(c),
      },
    ],
  },
}
